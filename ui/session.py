"""Who is at the screen: sign-in, the acting user of every write, and sign-out.

Embedded single-user mode (the SQLite store on localhost) needs no sign-in: the person at the
machine is its admin. In team mode (planning.team.auth.auth_mode) every rerun checks the session
token kept in this browser session's state against the store, so an expired session, a
sign-out elsewhere, a disabled account or a changed role takes effect on the next click. With
an ``[auth]`` section in .streamlit/secrets.toml, "Sign in with single sign-on" uses
Streamlit's OIDC ``st.login``; the identity's e-mail must be an account added with ``--sso``.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from planning import team
from planning.core import Actor, Permission, local_actor, whoami

ACTOR_KEY = "session_actor"
TOKEN_KEY = "session_token"
_NOTICE_KEY = "session_notice"


def resolve_actor(engine: Engine) -> Actor | None:
    """The signed-in actor for this rerun (None: show the sign-in page); kept in state."""
    actor: Actor | None
    if team.auth_mode(engine) == "embedded":
        actor = local_actor(whoami())
    else:
        actor = team.session_actor(engine, st.session_state.get(TOKEN_KEY))
        if actor is None and st.session_state.get(TOKEN_KEY):
            st.session_state.pop(TOKEN_KEY, None)
            st.session_state[_NOTICE_KEY] = (
                "Your session ended (signed out, expired, or your account changed): sign in again."
            )
        if actor is None and sso_configured() and _sso_logged_in():
            actor = _sso_session(engine)
    if actor is None:
        st.session_state.pop(ACTOR_KEY, None)
    else:
        st.session_state[ACTOR_KEY] = actor
    return actor


def current_actor() -> Actor:
    """Who acts on this page (resolved by app.py before the page runs)."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        st.error("You are not signed in.", icon=":material/lock:")
        st.stop()
    return actor


def may(permission: Permission) -> bool:
    """Whether the signed-in user's role allows ``permission``."""
    actor = st.session_state.get(ACTOR_KEY)
    return actor is not None and actor.may(permission)


def team_mode(engine: Engine) -> bool:
    return team.auth_mode(engine) == "team"


def sso_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section for OIDC."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


def _sso_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def _sso_session(engine: Engine) -> Actor | None:
    email = st.user.get("email")
    actor = team.sso_actor(engine, email if isinstance(email, str) else None)
    if actor is None:
        st.session_state[_NOTICE_KEY] = (
            f"{st.user.get('email')} has no Continuum account: "
            "ask an admin to add it with `users add EMAIL --role "
            "viewer --sso`."
        )
        return None
    session = team.open_session(engine, actor)
    st.session_state[TOKEN_KEY] = session.token
    return actor


def render_sign_in(engine: Engine) -> None:
    """The sign-in page of team mode."""
    st.title("Sign in to Continuum")
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")
    with st.form("sign_in", enter_to_submit=True):
        username = st.text_input("User name", key="sign_in_user", max_chars=128)
        password = st.text_input(
            "Password", type="password", key="sign_in_password", max_chars=team.MAX_PASSWORD
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            session = team.sign_in(engine, username, password)
        except team.LoginFailed as exc:
            st.error(str(exc), icon=":material/lock:")
        else:
            st.session_state[TOKEN_KEY] = session.token
            st.session_state[ACTOR_KEY] = session.actor
            st.rerun()
    if sso_configured():
        st.divider()
        if st.button("Sign in with single sign-on", key="sign_in_sso"):
            st.login()
    st.caption(
        "Team mode: this store is shared. Accounts are managed by an admin "
        "(`python -m planning users`)."
    )


def sign_out(engine: Engine) -> None:
    """End this session in the store (its token is refused from now on) and forget it."""
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        team.sign_out(engine, token)
    st.session_state.pop(ACTOR_KEY, None)
    if sso_configured() and _sso_logged_in():
        st.logout()
    st.rerun()
