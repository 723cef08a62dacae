"""Who may do what: the three roles, the permission every write needs, and the acting user.

Roles are ordered: a viewer (an executive) reads every page and explores private what-if
sandboxes; a planner also edits scenarios, budgets, treatments and assumptions, accepts
forecasts and recomputes or restores the plan; an admin also imports data, undoes an import
batch, manages users and reads the audit log. Every write function in planning/ takes the
acting :class:`Actor` and calls :func:`require` before it touches the store, so a role is
enforced however the function is reached (page, command line, script), not only by what the
dashboard chooses to show.

The shell decides who the actor is: in embedded single-user mode the local user is an admin;
in team mode the signed-in account's role applies (planning.team.auth).
"""

from __future__ import annotations

import getpass
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal, get_args

Role = Literal["viewer", "planner", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
Permission = Literal[
    "edit_scenarios",
    "edit_budget",
    "edit_treatments",
    "edit_assumptions",
    "accept_forecast",
    "recompute_plan",
    "restore_plan",
    "import_data",
    "undo_import",
    "manage_users",
    "read_audit",
]

_NEEDS: Final[dict[Permission, Role]] = {
    "edit_scenarios": "planner",
    "edit_budget": "planner",
    "edit_treatments": "planner",
    "edit_assumptions": "planner",
    "accept_forecast": "planner",
    "recompute_plan": "planner",
    "restore_plan": "planner",
    "import_data": "admin",
    "undo_import": "admin",
    "manage_users": "admin",
    "read_audit": "admin",
}
_WORDS: Final[dict[Permission, str]] = {
    "edit_scenarios": "saving or deleting a shared scenario",
    "edit_budget": "changing the plan's budget",
    "edit_treatments": "changing treatments or initiatives",
    "edit_assumptions": "changing a planning assumption",
    "accept_forecast": "accepting a forecast",
    "recompute_plan": "recomputing the operating plan",
    "restore_plan": "restoring a plan version",
    "import_data": "importing data",
    "undo_import": "undoing an import batch",
    "manage_users": "managing users",
    "read_audit": "reading the audit log",
}
MAX_NAME: Final = 128


class PermissionDenied(PermissionError):
    """The acting user's role does not allow the write; nothing was written."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which role."""

    name: str
    role: Role

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Unknown role {self.role!r}: use one of {', '.join(ROLES)}.")
        check_username(self.name)

    def may(self, permission: Permission) -> bool:
        """Whether this actor's role allows ``permission``."""
        return ROLES.index(self.role) >= ROLES.index(_NEEDS[permission])

    def __str__(self) -> str:
        return self.name


def require(actor: Actor, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may ``permission``.

    Raises
    ------
    TypeError
        If ``actor`` is not an Actor (a bare name carries no role to check).
    PermissionDenied
        With a message naming the user, their role and the role the action needs.
    """
    if not isinstance(actor, Actor):
        raise TypeError(
            f"Writes need the acting user as a planning.core.access.Actor, got "
            f"{type(actor).__name__} {actor!r}."
        )
    if not actor.may(permission):
        needed = _NEEDS[permission]
        raise PermissionDenied(
            f"{actor.name} is signed in as a {actor.role}: {_WORDS[permission]} needs the "
            f"{needed} role{' or admin' if needed == 'planner' else ''}. Nothing was changed; "
            "ask an admin if you need it."
        )


def role_needed(permission: Permission) -> Role:
    """The least role that may ``permission``."""
    return _NEEDS[permission]


def check_username(name: str) -> str:
    """``name`` if it can name a user: 1 to 128 printable characters, no surrounding spaces.

    Raises ValueError saying what is wrong.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("A user name cannot be empty.")
    check_name("user name", name)
    if name != name.strip():
        raise ValueError(f"The user name {_shown(name)} starts or ends with a space.")
    return name


def check_name(what: str, name: str, max_len: int = MAX_NAME) -> str:
    """``name`` if it can name a stored thing (a user, scenario, rule set): at most
    ``max_len`` characters, UTF-8, no control or separator characters but the space.

    Raises ValueError saying what is wrong (showing at most 40 characters of the name).
    """
    if len(name) > max_len:
        raise ValueError(
            f"A {what} has at most {max_len} characters; {_shown(name)} has {len(name):,}."
        )
    bad = next((ch for ch in name if unicodedata.category(ch)[0] in "CZ" and ch != " "), None)
    if bad is not None:
        raise ValueError(
            f"The {what} {_shown(name)} holds the control or separator character U+{ord(bad):04X}."
        )
    return name


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def local_actor(name: str) -> Actor:
    """The single user of an embedded store: an admin of their own machine."""
    return Actor(name[:MAX_NAME] or "local", "admin")


def whoami(default: str = "local") -> str:
    """The operating-system user running the process (``default`` when it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return default
