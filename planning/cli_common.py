"""What every command of ``python -m planning`` shares: exit codes and the usage error.

Feature commands live in their own modules (``planning/cli_<feature>.py``) with
``add_parser(commands)`` and ``run(engine, args) -> int``; planning.cli registers them. They
raise :class:`UsageError` for an argument that cannot be used (exit 2) and return
``EXIT_REJECTED`` after printing why, when the store's data cannot answer (exit 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import Final

from sqlalchemy.engine import Engine

from planning.store import data_status

EXIT_OK: Final = 0
EXIT_REJECTED: Final = 1
EXIT_USAGE: Final = 2
EXIT_STORE: Final = 3


class UsageError(ValueError):
    """A command-line argument that cannot be used; the message says which and why."""


def check_writable(*paths: Path | None) -> None:
    """Raise UsageError for an output path whose folder does not exist (None is skipped)."""
    for path in paths:
        if path is not None and not path.parent.exists():
            raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")


def resolve_as_of(engine: Engine, as_of: dt.date | None) -> dt.date | None:
    """``as_of``, or the last transaction's day; None (after saying why) for an empty store."""
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
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-10-31") from exc


def whoami(default: str = "local") -> str:
    """The operating-system user running the command (``default`` when it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return default
