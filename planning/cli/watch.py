"""``python -m planning watch --inbox DIR``: the continuous planner as a service.

Files dropped into the inbox are imported (all or nothing) and moved to ``processed/``, or to
``rejected/`` with their validation report; the plan is recomputed after each poll that added
data. SIGTERM or Ctrl-C finishes the file at hand and stops (see planning.plan.watch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import signal
import threading

from planning.cli.common import EXIT_OK, UsageError, acting_user
from planning.cli.paths import folder_path

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def add_parser(commands: argparse._SubParsersAction) -> None:
    watch = commands.add_parser(
        "watch", help="import files dropped into a folder, keep the plan current"
    )
    watch.add_argument("--inbox", type=folder_path, required=True, help="folder to watch")
    watch.add_argument("--interval", default="30s", help="time between polls: 30s, 2m, 500ms")
    watch.add_argument(
        "--once", action="store_true", help="process what is in the inbox now, then exit"
    )
    watch.add_argument(
        "--user",
        default=None,
        help="who the imports are by (default: $CONTINUUM_USER, else the OS user)",
    )


def parse_interval(text: str) -> float:
    """``"30s"`` -> 30.0 seconds; raises UsageError for anything else."""
    match = _INTERVAL.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--interval {text!r} is not a duration: write e.g. 30s, 2m or 500ms.")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return float(match.group(1)) * scale


def run(engine, args: argparse.Namespace) -> int:
    from planning.plan import Watcher

    interval = parse_interval(args.interval)
    try:
        watcher = Watcher(
            engine,
            args.inbox,
            actor=acting_user(engine, args.user),
            log=lambda line: print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {line}", flush=True),
        )
    except OSError as exc:
        raise UsageError(
            f"--inbox {str(args.inbox)[:80]}: cannot use it as the inbox ({exc.strerror or exc})"
        ) from None
    if args.once:
        watcher.catch_up()
        watcher.poll()
        return EXIT_OK
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    watcher.run(stop, interval)
    return EXIT_OK
