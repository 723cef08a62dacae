"""Team-mode accounts and sign-in: users, password hashes, sessions and the failed-login limit.

Embedded single-user mode (the SQLite store, bound to localhost) needs no sign-in. Team mode
(a PostgreSQL store, or ``CONTINUUM_AUTH=required``) does: local accounts whose passwords are
hashed with Argon2id (argon2-cffi's defaults, RFC 9106) and stored in the store, or single
sign-on through Streamlit's OIDC ``st.login`` for accounts added without a password.

A session is a random token (``secrets.token_urlsafe``) held only by the signed-in browser
session or command; the store keeps its SHA-256, an expiry and, after sign-out, when it ended,
so a token is worthless after logout, expiry or the account being disabled. After
``MAX_FAILURES`` failed sign-ins within ``LOCKOUT`` an account refuses further attempts until
the window passes, whatever the password.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection, Engine

from planning.core.access import ROLES, Actor, Role, check_username, require
from planning.store import audit, schema
from planning.store.writes import write

if TYPE_CHECKING:
    import pandas as pd

ENV_AUTH: Final = "CONTINUUM_AUTH"
SESSION_TTL: Final = dt.timedelta(hours=8)
MAX_FAILURES: Final = 5
LOCKOUT: Final = dt.timedelta(minutes=15)
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024
_HASHER: Final = PasswordHasher()

Mode = Literal["embedded", "team"]


class LoginFailed(PermissionError):
    """Wrong user name or password, a disabled account, or too many failures; says which
    only as far as is safe (never whether the name exists)."""


class UnknownUser(LookupError):
    """No account has that user name."""


@dataclass(frozen=True)
class Session:
    """A signed-in session: its token (secret), who and until when."""

    token: str
    actor: Actor
    expires_at: dt.datetime


def auth_mode(engine: Engine) -> Mode:
    """ "team" for a PostgreSQL store or CONTINUUM_AUTH=required, else "embedded"."""
    if os.environ.get(ENV_AUTH, "").strip().lower() == "required":
        return "team"
    return "team" if engine.dialect.name == "postgresql" else "embedded"


def check_password(password: str) -> str:
    """``password`` if it is acceptable (10 to 1,024 characters, no NUL); else ValueError."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"A password has at most {MAX_PASSWORD:,} characters.")
    if "\x00" in password:
        raise ValueError("A password cannot hold a NUL character.")
    return password


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _user_row(conn: Connection, username: str) -> sa.Row | None:
    t = schema.User.__table__
    return conn.execute(sa.select(t).where(t.c.username == username)).first()


def _public(row: sa.Row | None) -> dict | None:
    if row is None:
        return None
    return {
        "username": row.username,
        "role": row.role,
        "disabled": bool(row.disabled),
        "single_sign_on": row.password_hash is None,
        "version": int(row.version),
    }


def count_users(engine: Engine) -> int:
    """How many accounts exist (none: the first admin may be created without signing in)."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(schema.User.__table__)).scalar_one()
        )


def add_user(
    engine: Engine, actor: Actor | None, username: str, role: Role, *, password: str | None
) -> None:
    """Create an account; ``password`` None makes a single-sign-on (OIDC) account.

    ``actor`` None is allowed only for the store's first account, which must be an admin.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` is an admin (or this is the first account).
    ValueError
        For a bad name, role or password, or a name already taken.
    """
    check_username(username)
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    digest = None if password is None else _HASHER.hash(check_password(password))

    def work(conn: Connection) -> None:
        t = schema.User.__table__
        assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
        first = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 0
        acting = actor
        if acting is None:
            if not first:
                raise PermissionError(
                    "Only an admin can add users: sign in as one "
                    "(CONTINUUM_USER and CONTINUUM_PASSWORD)."
                )
            if role != "admin":
                raise ValueError("The store has no users yet: the first one must be an admin.")
            acting = Actor(username, "admin")
        else:
            require(acting, "manage_users")
        if _user_row(conn, username) is not None:
            raise ValueError(f"There is already a user named {username!r}.")
        now = _now()
        conn.execute(
            sa.insert(t).values(
                username=username,
                role=role,
                password_hash=digest,
                disabled=False,
                version=1,
                created_at=now,
                created_by=acting.name,
                updated_at=now,
                updated_by=acting.name,
            )
        )
        audit.record(conn, acting, "user add", username, after=_public(_user_row(conn, username)))

    write(engine, work)


def _change_user(
    engine: Engine, actor: Actor, username: str, action: str, **values: object
) -> None:
    require(actor, "manage_users")
    check_username(username)

    def work(conn: Connection) -> None:
        t = schema.User.__table__
        assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
        before = _user_row(conn, username)
        if before is None:
            raise UnknownUser(f"There is no user named {username!r}.")
        conn.execute(
            sa.update(t)
            .where(t.c.username == username)
            .values(version=before.version + 1, updated_at=_now(), updated_by=actor.name, **values)
        )
        if values.get("disabled") or "password_hash" in values or "role" in values:
            _end_sessions(conn, username)
        audit.record(
            conn,
            actor,
            action,
            username,
            before=_public(before),
            after=_public(_user_row(conn, username)),
        )

    write(engine, work)


def disable_user(engine: Engine, actor: Actor, username: str) -> None:
    """Disable an account and end its sessions at once."""
    if actor.name == username:
        raise ValueError("You cannot disable your own account: ask another admin.")
    _change_user(engine, actor, username, "user disable", disabled=True)


def enable_user(engine: Engine, actor: Actor, username: str) -> None:
    """Enable a disabled account again."""
    _change_user(engine, actor, username, "user enable", disabled=False)


def reset_password(engine: Engine, actor: Actor, username: str, password: str) -> None:
    """Set a new password; the account's sessions end (it signs in again)."""
    digest = _HASHER.hash(check_password(password))
    _change_user(engine, actor, username, "user reset", password_hash=digest)


def set_role(engine: Engine, actor: Actor, username: str, role: Role) -> None:
    """Give an account another role; its sessions end so the new role applies at once."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    _change_user(engine, actor, username, "user role", role=role)


def list_users(engine: Engine) -> pd.DataFrame:
    """``username, role, disabled, single_sign_on, version, created_at, updated_at,
    updated_by``, by name (no hashes)."""
    import pandas as pd

    t = schema.User.__table__
    query = sa.select(
        t.c.username,
        t.c.role,
        t.c.disabled,
        t.c.password_hash.is_(None).label("single_sign_on"),
        t.c.version,
        t.c.created_at,
        t.c.updated_at,
        t.c.updated_by,
    ).order_by(t.c.username)
    with engine.connect() as conn:
        return pd.DataFrame(
            conn.execute(query).mappings().all(),
            columns=[
                "username",
                "role",
                "disabled",
                "single_sign_on",
                "version",
                "created_at",
                "updated_at",
                "updated_by",
            ],
        )


def _failures_since(conn: Connection, username: str, since: dt.datetime) -> list[dt.datetime]:
    t = schema.LoginAttempt.__table__
    rows = conn.execute(
        sa.select(t.c.at, t.c.succeeded)
        .where(t.c.username == username[:128], t.c.at >= since)
        .order_by(t.c.at)
    ).all()
    failures: list[dt.datetime] = []
    for at, ok in rows:
        failures = [] if ok else [*failures, _aware(at)]
    return failures


def _note_attempt(engine: Engine, username: str, succeeded: bool) -> None:
    t = schema.LoginAttempt.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    write(
        engine,
        lambda conn: conn.execute(
            sa.insert(t).values(username=username[:128], at=_now(), succeeded=succeeded)
        ),
    )


def authenticate(engine: Engine, username: str, password: str) -> Actor:
    """The account's Actor if ``password`` is right and the account may sign in.

    Raises
    ------
    LoginFailed
        Wrong name or password (one message for both), a disabled account, a single-sign-on
        account, or too many recent failures (with when to try again).
    """
    if not isinstance(username, str) or not isinstance(password, str):
        raise LoginFailed("Sign-in needs a user name and a password.")
    name = username.strip()[:256]
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise LoginFailed("Wrong user name or password.")
    now = _now()
    with engine.connect() as conn:
        failures = _failures_since(conn, name, now - LOCKOUT)
        row = _user_row(conn, name[:128]) if name else None
    if len(failures) >= MAX_FAILURES:
        wait = failures[-MAX_FAILURES] + LOCKOUT - now
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        raise LoginFailed(
            f"Too many failed sign-ins for {name!r}: try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an admin to reset "
            "the password."
        )
    digest = row.password_hash if row is not None and row.password_hash else _dummy_hash()
    try:
        ok = _HASHER.verify(digest, password[:MAX_PASSWORD]) and row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.password_hash is None:
        _note_attempt(engine, name, False)
        raise LoginFailed("Wrong user name or password.")
    if row.disabled:
        _note_attempt(engine, name, False)
        raise LoginFailed(f"The account {name!r} is disabled: ask an admin.")
    _note_attempt(engine, name, True)
    return Actor(row.username, row.role)


def sign_in(
    engine: Engine, username: str, password: str, *, ttl: dt.timedelta = SESSION_TTL
) -> Session:
    """Check the password and open a session (see :func:`authenticate`)."""
    return open_session(engine, authenticate(engine, username, password), ttl=ttl)


def open_session(engine: Engine, actor: Actor, *, ttl: dt.timedelta = SESSION_TTL) -> Session:
    """A new session for an already-verified account (a password, or single sign-on)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    expires = now + ttl
    sessions = schema.UserSession.__table__
    assert isinstance(sessions, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> None:
        row = _user_row(conn, actor.name)
        if row is None or row.disabled:
            raise LoginFailed(f"The account {actor.name!r} is missing or disabled: ask an admin.")
        conn.execute(
            sa.insert(sessions).values(
                token_hash=_token_hash(token),
                username=actor.name,
                created_at=now,
                expires_at=expires,
                ended_at=None,
            )
        )
        audit.record(conn, actor, "sign in", actor.name)

    write(engine, work)
    return Session(token, actor, expires)


def session_actor(engine: Engine, token: str | None) -> Actor | None:
    """Who holds ``token``, or None if it is unknown, ended, expired or its account disabled."""
    if not token:
        return None
    s, u = schema.UserSession.__table__, schema.User.__table__
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(s.c.expires_at, s.c.ended_at, u.c.username, u.c.role, u.c.disabled)
            .join(u, u.c.username == s.c.username)
            .where(s.c.token_hash == _token_hash(token))
        ).first()
    if row is None or row.ended_at is not None or row.disabled:
        return None
    if _aware(row.expires_at) <= _now():
        return None
    return Actor(row.username, row.role)


def sign_out(engine: Engine, token: str) -> None:
    """End the session now; its token is refused from here on."""
    s = schema.UserSession.__table__
    assert isinstance(s, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> None:
        row = conn.execute(
            sa.select(s.c.username, s.c.ended_at).where(s.c.token_hash == _token_hash(token))
        ).first()
        if row is None or row.ended_at is not None:
            return
        conn.execute(
            sa.update(s).where(s.c.token_hash == _token_hash(token)).values(ended_at=_now())
        )
        user = _user_row(conn, row.username)
        if user is not None:
            audit.record(conn, Actor(user.username, user.role), "sign out", user.username)

    write(engine, work)


def _end_sessions(conn: Connection, username: str) -> None:
    s = schema.UserSession.__table__
    assert isinstance(s, sa.Table)  # declarative types __table__ as FromClause
    conn.execute(
        sa.update(s).where(s.c.username == username, s.c.ended_at.is_(None)).values(ended_at=_now())
    )


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs as long as a
    wrong password and timing does not tell which names exist (made on first use: hashing
    takes a noticeable moment that every command would otherwise pay at import)."""
    return _HASHER.hash(secrets.token_hex(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def sso_actor(engine: Engine, email: str | None) -> Actor | None:
    """The enabled account named by a single-sign-on identity's e-mail, if any."""
    if not email:
        return None
    with engine.connect() as conn:
        row = _user_row(conn, email[:128])
    if row is None or row.disabled:
        return None
    return Actor(row.username, row.role)
