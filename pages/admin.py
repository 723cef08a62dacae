"""Users & audit (admins): accounts and roles, and the append-only log of every write."""

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from planning import core, ingest, store, team
from planning.core import ROLES
from ui import admin_data
from ui import format as fmt
from ui.page import open_page

page = open_page("Users & audit")
engine = page.engine
actor = page.actor
if not actor.may("manage_users"):
    st.error("Only admins manage users and read the audit log.", icon=":material/lock:")
    st.stop()

if team.auth_mode(engine) != "team":
    st.info(
        "This store is in single-user mode: nobody signs in, and you act as its admin. "
        "Accounts take effect in team mode (a PostgreSQL store, or "
        "CONTINUUM_AUTH=required).",
        icon=":material/info:",
    )

st.subheader("Users")
users = team.list_users(engine)
if users.empty:
    st.caption("No accounts yet. Add the first admin below.")
else:
    st.dataframe(admin_data.users_table(users), hide_index=True, width="stretch")

add, change = st.columns(2)
with add, st.form("admin_add_user", clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input(
        "User name (or e-mail for single sign-on)", max_chars=128, key="admin_new_name"
    )
    role = st.selectbox("Role", ROLES, key="admin_new_role")
    sso = st.checkbox("Signs in with single sign-on (no password)", key="admin_new_sso")
    password = st.text_input(
        "Password (10 characters or more)",
        type="password",
        key="admin_new_password",
        max_chars=team.MAX_PASSWORD,
    )
    if st.form_submit_button("Add user", type="primary"):
        admin_data.run(
            lambda: team.add_user(
                engine, actor, name.strip(), role, password=None if sso else password
            ),
            f"Added {name.strip()} as a {role}.",
        )

with change:
    names = users["username"].tolist() if not users.empty else []
    if names:
        with st.form("admin_change_user"):
            st.markdown("**Change a user**")
            who = st.selectbox("User", names, key="admin_who")
            new_role = st.selectbox("New role", ROLES, key="admin_role")
            new_password = st.text_input(
                "New password", type="password", key="admin_password", max_chars=team.MAX_PASSWORD
            )
            role_col, reset_col = st.columns(2)
            disable_col, enable_col = st.columns(2)
            if role_col.form_submit_button("Set role"):
                admin_data.run(
                    lambda: team.set_role(engine, actor, who, new_role),
                    f"{who} is now a {new_role}; their sessions ended.",
                )
            if reset_col.form_submit_button("Reset password"):
                admin_data.run(
                    lambda: team.reset_password(engine, actor, who, new_password),
                    f"New password set for {who}; their sessions ended.",
                )
            if disable_col.form_submit_button("Disable"):
                admin_data.run(
                    lambda: team.disable_user(engine, actor, who),
                    f"Disabled {who}; their sessions ended.",
                )
            if enable_col.form_submit_button("Enable"):
                admin_data.run(lambda: team.enable_user(engine, actor, who), f"Enabled {who}.")
admin_data.show_result("users")

st.subheader("Import batches")
st.caption(
    "Undoing a batch removes its rows, keeps customers that later batches use, brings "
    "the monthly totals back to what they were, and recomputes the plan."
)
batches = ingest.list_batches(engine)
if batches.empty:
    st.caption("Nothing imported yet.")
else:
    st.dataframe(
        admin_data.batches_table(batches),
        hide_index=True,
        width="stretch",
        height=min(36 * (len(batches) + 1) + 3, 320),
    )
    live = batches[batches["undone_at"].isna()]
    if not live.empty:
        with st.form("admin_undo"):
            chosen = st.selectbox(
                "Batch to undo",
                live["id"].tolist(),
                key="admin_undo_batch",
                format_func=admin_data.batch_label(live),
            )
            confirm = st.checkbox(
                "I understand this removes the batch's rows for everyone", key="admin_undo_confirm"
            )
            if st.form_submit_button("Undo batch", type="primary", icon=":material/undo:"):
                if not confirm:
                    st.warning("Tick the box to confirm the undo.", icon=":material/warning:")
                else:
                    with st.spinner(f"Undoing batch {chosen} and recomputing the plan…"):
                        admin_data.undo_and_replan(engine, actor, int(chosen))
admin_data.show_result("batches")

st.subheader("Audit log")
st.caption(
    "Every write: imports, edits, recomputes, sign-ins and user changes, with the "
    "thing before and after. The store refuses to change or delete an entry."
)
left, middle, right = st.columns(3)
action = left.selectbox("Action", ["(all)", *admin_data.ACTIONS], key="admin_audit_action")
who = middle.text_input("User", key="admin_audit_who", max_chars=128)
limit = right.select_slider("Newest", [50, 200, 1000, 5000], value=200, key="admin_audit_limit")
log = store.read_audit(
    engine,
    actor,
    limit=limit,
    action=None if action == "(all)" else action,
    who=who.strip() or None,
)
if log.empty:
    st.caption("No entries match.")
else:
    st.dataframe(admin_data.audit_table(log), hide_index=True, width="stretch", height=420)


@st.cache_data(max_entries=4, show_spinner=False, ttl="1m")
def _audit_workbook(_log, key: tuple) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.xlsx"
        core.write_workbook({"Audit log": _log.assign(at=_log["at"].dt.tz_localize(None))}, path)
        return path.read_bytes()


if not log.empty:
    stamp = f"{dt.date.today():%Y%m%d}"
    key = (int(log["id"].max()), len(log), action, who, limit)
    csv_col, xlsx_col = st.columns(2)
    csv_col.download_button(
        "Download the audit log (CSV)",
        core.neutralise_frame(log).to_csv(index=False).encode("utf-8"),
        file_name=f"continuum-audit-{stamp}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    xlsx_col.download_button(
        "Download the audit log (Excel)",
        _audit_workbook(log, key),
        file_name=f"continuum-audit-{stamp}.xlsx",
        icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
st.caption(f"Times are UTC. {fmt.count(store.audit_count(engine))} entries in all.")
