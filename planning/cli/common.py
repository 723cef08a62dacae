"""What every command of ``python -m planning`` shares: exit codes and the usage error.

Feature commands live in their own modules (``planning/cli/<feature>.py``) with
``add_parser(commands)`` and ``run(engine, args) -> int``; planning.cli.main registers them. They
raise :class:`UsageError` for an argument that cannot be used (exit 2) and return
``EXIT_REJECTED`` after printing why, when the store's data cannot answer (exit 1).

Who acts: on an embedded store the person at the keyboard is its admin. In team mode (a
PostgreSQL store, or CONTINUUM_AUTH=required) a command that writes signs in first as
``--user`` (default CONTINUUM_USER, else the OS user) with the password in CONTINUUM_PASSWORD
(or typed at a prompt), and acts with that account's role.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from planning.core import Actor, check_username, local_actor, whoami

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EXIT_OK: Final = 0
EXIT_REJECTED: Final = 1
EXIT_USAGE: Final = 2
EXIT_STORE: Final = 3
EXIT_DENIED: Final = 4
ENV_USER: Final = "CONTINUUM_USER"
ENV_PASSWORD: Final = "CONTINUUM_PASSWORD"


class UsageError(ValueError):
    """A command-line argument that cannot be used; the message says which and why."""


def check_writable(*paths: Path | None) -> None:
    """Raise UsageError for an output path whose folder does not exist (None is skipped)."""
    for path in paths:
        if path is not None and not path.parent.exists():
            raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")


def resolve_as_of(engine: Engine, as_of: dt.date | None) -> dt.date | None:
    """``as_of``, or the last transaction's day; None (after saying why) for an empty store."""
    from planning.store import data_status

    if as_of is not None:
        return as_of
    last = data_status(engine).last_date
    if last is None:
        print("error: the store holds no transactions yet: import some first.", file=sys.stderr)
    return last


def parse_date(text: str) -> dt.date:
    """An argparse ``type`` for YYYY-MM-DD dates with a message that shows the form."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-10-31"
        ) from exc


def plain_text(text: str) -> str:
    """An argparse ``type`` for free text sent to the store: valid UTF-8 (planning.cli.main has
    already refused a NUL in any argument)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("is not valid UTF-8 text") from None
    return text


def positive_id(text: str) -> int:
    """An argparse ``type`` for version and batch numbers: 1 to 2,147,483,647."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"{text[:40]} is out of range: use 1 to 2,147,483,647")
    return value


def acting_user(engine: Engine, name: str | None = None) -> Actor:
    """Who a command acts as (see the module docstring).

    Raises
    ------
    UsageError
        In team mode with no password to sign in with.
    planning.team.auth.LoginFailed
        If the sign-in is refused.
    """
    from planning import team

    if name is not None:
        try:
            check_username(name)
        except ValueError as exc:
            raise UsageError(f"--user: {exc}") from None
    if team.auth_mode(engine) == "embedded":
        return local_actor(name or whoami())
    user = name or os.environ.get(ENV_USER) or whoami()
    password = os.environ.get(ENV_PASSWORD)
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError(
                f"this store is in team mode: sign in by setting {ENV_USER} and "
                f"{ENV_PASSWORD} (or run the command at a terminal to be asked)."
            )
        password = getpass.getpass(f"Password for {user}: ")
    return team.authenticate(engine, user, password)
