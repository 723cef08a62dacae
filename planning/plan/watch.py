"""The planner as a service: files dropped into an inbox are imported and the plan recomputed.

:class:`Watcher` polls an inbox folder. A file's kind comes from its name (``transactions*``,
``customers*``, ``activities*``, ``rates*``, ``spend*``); it is imported all-or-nothing
(planning.ingest.importing), then moved to ``processed/`` — or, if rejected, to ``rejected/`` with
the
validation report beside it (``<name>.report.txt``). After the files of a poll, the plan is
recomputed (trigger "import") and a version is written if it changed.

Crash safety comes from the import being one transaction and the checksum of every batch: a
service killed mid-import leaves the store as it was and the file in the inbox, so the next
start imports it; killed after the commit but before the move, the next start finds the
checksum, adds nothing and moves the file. At start the service also recomputes if an import
is newer than the latest plan version. SIGTERM finishes the file at hand and stops cleanly.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.access import Actor
from planning.ingest.importing import ImportReport, import_file
from planning.plan import versions as plan_store
from planning.plan.planner import Planner
from planning.store import schema

PROCESSED: Final = "processed"
REJECTED: Final = "rejected"
SETTLE_SECONDS: Final = 1.0  # a file modified more recently may still be being written
IGNORED_SUFFIXES: Final = (".tmp", ".part", ".partial", ".crdownload", ".swp")


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one inbox file."""

    name: str
    kind: str | None
    status: str  # "imported", "already imported", "rejected"
    moved_to: Path
    report: ImportReport | None
    message: str


def kind_of(name: str) -> str | None:
    """The kind of file its name announces (``transactions_2026-11.csv`` -> transactions)."""
    lowered = name.lower()
    for kind in C.KINDS:
        if lowered.startswith(kind):
            return kind
    return None


class Watcher:
    """Imports inbox files and recomputes the plan; one per inbox."""

    def __init__(
        self,
        engine: Engine,
        inbox: Path,
        *,
        actor: Actor,
        planner: Planner | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.engine = engine
        self.inbox = Path(inbox)
        self.actor = actor
        self.planner = planner or Planner(engine)
        self.log = log
        for folder in (self.inbox, self.inbox / PROCESSED, self.inbox / REJECTED):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Inbox files ready to import, oldest first (then by name)."""
        now = time.time()
        files = [
            p
            for p in self.inbox.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and not p.name.endswith(IGNORED_SUFFIXES)
            and now - p.stat().st_mtime >= SETTLE_SECONDS
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def catch_up(self) -> None:
        """Recompute at start if an import landed after the latest plan version."""
        latest = plan_store.latest_version(self.engine)
        last_import = _last_import_time(self.engine)
        if last_import is None:
            return
        if latest is None or _aware(last_import) > _aware(latest.created_at):
            self._recompute("import", "imports since the last plan version (catch-up at start)")

    def poll(self, stop: threading.Event | None = None) -> list[FileOutcome]:
        """Import every pending file, then recompute once if anything was added."""
        outcomes = []
        earliest: dt.date | None = None
        for path in self.pending():
            if stop is not None and stop.is_set():
                break
            outcome = self.process(path)
            outcomes.append(outcome)
            if outcome.status == "imported" and outcome.report is not None:
                first = _batch_first_day(self.engine, outcome.report)
                if first is not None:
                    earliest = first if earliest is None else min(earliest, first)
        added = [o for o in outcomes if o.status == "imported"]
        if added:
            names = ", ".join(o.name for o in added)
            self._recompute("import", f"imported {names}", changed_from=earliest)
        return outcomes

    def process(self, path: Path) -> FileOutcome:
        """Import one file and move it where it belongs."""
        kind = kind_of(path.name)
        if kind is None:
            message = (
                f"cannot tell what {path.name} holds: start its name with one of "
                f"{', '.join(C.KINDS)} (e.g. transactions_2026-11.csv)"
            )
            moved = self._move(path, REJECTED)
            _write_report(moved, message, None)
            self.log(f"rejected {path.name}: {message}")
            return FileOutcome(path.name, None, "rejected", moved, None, message)
        self.log(f"importing {path.name} ({kind})")
        report = import_file(
            self.engine, kind, path.read_bytes(), file_name=path.name, actor=self.actor
        )
        if not report.ok:
            moved = self._move(path, REJECTED)
            _write_report(moved, report.summary(), report)
            self.log(f"rejected {path.name}: {report.summary()}")
            return FileOutcome(path.name, kind, "rejected", moved, report, report.summary())
        status = "already imported" if report.already_imported_as is not None else "imported"
        moved = self._move(path, PROCESSED)
        self.log(report.summary())
        return FileOutcome(path.name, kind, status, moved, report, report.summary())

    def run(self, stop: threading.Event, interval: float = 30.0) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        self.log(f"watching {self.inbox} every {interval:g} s")
        self.catch_up()
        while not stop.is_set():
            try:
                self.poll(stop)
            except Exception as exc:  # a service keeps serving; the next poll tries again
                self.log(f"error: {type(exc).__name__}: {exc}")
            stop.wait(interval)
        self.log("stopped")

    def _recompute(
        self, trigger: plan_store.Trigger, reason: str, changed_from: dt.date | None = None
    ) -> None:
        try:
            result = self.planner.recompute(
                trigger, actor=self.actor, reason=reason, changed_from=changed_from
            )
        except ValueError as exc:
            self.log(f"plan not recomputed: {exc}")
            return
        if result.version_id is None:
            self.log(f"plan unchanged ({result.seconds:.1f} s)")
        else:
            self.log(
                f"plan version {result.version_id} ({result.trigger}) in "
                f"{result.seconds:.1f} s: recomputed {', '.join(result.recomputed)}"
            )

    def _move(self, path: Path, folder: str) -> Path:
        target = self.inbox / folder / path.name
        n = 1
        while target.exists():
            target = self.inbox / folder / f"{path.stem}.{n}{path.suffix}"
            n += 1
        shutil.move(str(path), target)
        return target


def _write_report(moved: Path, summary: str, report: ImportReport | None) -> None:
    lines = [summary, ""]
    if report is not None:
        for p in report.problems:
            where = ", ".join(
                part
                for part in (
                    f"row {p.row}" if p.row is not None else "",
                    f"column {p.column}" if p.column else "",
                    f"value {p.value!r}" if p.value is not None else "",
                )
                if part
            )
            lines.append(f"{where + ': ' if where else ''}{p.reason}")
    moved.with_name(moved.name + ".report.txt").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )


def _batch_first_day(engine: Engine, report: ImportReport) -> dt.date | None:
    """The earliest date of the rows a batch wrote (transactions or activities)."""
    if report.batch_id is None or report.kind not in ("transactions", "activities"):
        return None
    table = (schema.Transaction if report.kind == "transactions" else schema.Activity).__table__
    with engine.connect() as conn:
        first = conn.execute(
            sa.select(sa.func.min(table.c.date)).where(table.c.batch_id == report.batch_id)
        ).scalar()
    if first is None:
        return None
    return first if isinstance(first, dt.date) else dt.date.fromisoformat(str(first)[:10])


def _last_import_time(engine: Engine) -> dt.datetime | None:
    b = schema.ImportBatch.__table__
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(b.c.created_at))).scalar()


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
