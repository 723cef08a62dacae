"""The promise that a clone of the repository tests itself: no test reads beside the checkout.

Reference data lives in ``data/reference/``. A test that opens a file in a folder next to the
checkout (a sibling folder that CI happens to have and a clone does not)
would pass in CI and fail for everyone else. ``install`` adds an audit hook (PEP 578) to the
test process that refuses such an ``open`` with :class:`OutsideRepositoryRead` and records
it, so the run fails even if a library swallowed the exception. Tool state in hidden folders
beside the checkout (``~/.cache``, ``~/.pyenv`` when the checkout sits in a home folder), the
interpreter's own prefix and the temporary folder are not data and stay readable.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DATA = REPO_ROOT / "data" / "reference"

_ROOT = str(REPO_ROOT)
_PARENT = str(REPO_ROOT.parent)
# Prefixes that are never data: the interpreter and the temporary folder, unless one of them
# holds the checkout's own parent (a clone made in a temporary folder is still checked).
_ALLOWED = tuple(
    prefix
    for prefix in {
        os.path.realpath(p) + os.sep
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir())
    }
    if not (_PARENT + os.sep).startswith(prefix)
)

violations: list[str] = []


class OutsideRepositoryRead(PermissionError):
    """A test opened a file in a folder beside the checkout."""


def is_outside_repository(path: str | bytes | os.PathLike[str] | int) -> bool:
    """True for a path in a folder beside the checkout (not inside it, not tool state)."""
    if isinstance(path, int) or os.sep == _PARENT:  # a descriptor; a checkout at / has no side
        return False
    text = os.path.abspath(os.fsdecode(path))
    if not text.startswith(_PARENT + os.sep) or text == _ROOT or text.startswith(_ROOT + os.sep):
        return False
    if text.startswith(_ALLOWED):
        return False
    sibling = text[len(_PARENT) + 1 :].split(os.sep, 1)[0]
    return not sibling.startswith(".")


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not args or args[0] is None:
        return
    path = args[0]
    if isinstance(path, (str, bytes, os.PathLike)) and is_outside_repository(path):
        text = os.path.abspath(os.fsdecode(path))
        violations.append(text)
        raise OutsideRepositoryRead(
            f"a test read {text}, outside the repository {_ROOT}: copy what tests need into "
            f"{REFERENCE_DATA.relative_to(REPO_ROOT)}/ and read it from there"
        )


_installed = False


def install() -> None:
    """Add the audit hook once per process (audit hooks cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
