"""Team mode: accounts, passwords and sessions on top of the roles in planning.core.access.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.team.auth import (
        MAX_PASSWORD,
        LoginFailed,
        UnknownUser,
        add_user,
        auth_mode,
        authenticate,
        count_users,
        disable_user,
        enable_user,
        list_users,
        open_session,
        reset_password,
        session_actor,
        set_role,
        sign_in,
        sign_out,
        sso_actor,
    )

_EXPORTS = {
    "LoginFailed": "auth",
    "MAX_PASSWORD": "auth",
    "UnknownUser": "auth",
    "add_user": "auth",
    "auth_mode": "auth",
    "authenticate": "auth",
    "count_users": "auth",
    "disable_user": "auth",
    "enable_user": "auth",
    "list_users": "auth",
    "open_session": "auth",
    "reset_password": "auth",
    "session_actor": "auth",
    "set_role": "auth",
    "sign_in": "auth",
    "sign_out": "auth",
    "sso_actor": "auth",
}
__all__ = [
    "MAX_PASSWORD",
    "LoginFailed",
    "UnknownUser",
    "add_user",
    "auth_mode",
    "authenticate",
    "count_users",
    "disable_user",
    "enable_user",
    "list_users",
    "open_session",
    "reset_password",
    "session_actor",
    "set_role",
    "sign_in",
    "sign_out",
    "sso_actor",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
