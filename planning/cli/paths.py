"""File paths given on the command line, checked before any work starts.

A path typed by a person or a script can be anything: empty, a folder, a name with a NUL byte,
bytes that are not UTF-8, longer than the file system allows. ``open`` turns each of those
into a different exception deep inside an export; :func:`output_path` (an argparse ``type``)
turns them into one usage error (exit 2) naming the option and what is wrong, before the
store is read. Messages show at most 80 characters of a value, however long it is.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

_NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems
_PATH_MAX = 4096  # bytes in a whole path on Linux (PATH_MAX), more than macOS or Windows allow


def output_path(text: str) -> Path:
    """The file an export writes to; ArgumentTypeError for a path no file can have.

    The path must not be a folder; that its folder exists is checked by the command
    (:func:`planning.cli.common.check_writable`), which says so as a usage error.
    """
    path = Path(_checked(text))  # from here on the text is short, encodable UTF-8
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    return path


def folder_path(text: str) -> Path:
    """A folder to work in (created if missing); ArgumentTypeError for a path no folder can
    have, or one that is a file."""
    path = Path(_checked(text))
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{_shown(text)} is a file, not a folder")
    return path


def _checked(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{_shown(text)} holds a NUL byte, which no file name can")
    try:
        encoded = os.fsencode(text)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not valid UTF-8: name the file in UTF-8"
        ) from None
    if any(len(part) > _NAME_MAX for part in encoded.split(b"/")):
        raise argparse.ArgumentTypeError(f"{_shown(text)} has a name longer than {_NAME_MAX} bytes")
    if len(encoded) >= _PATH_MAX:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is longer than a path can be")
    return text


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters so a huge value stays short."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut.encode("utf-8", "backslashreplace").decode("utf-8"))
