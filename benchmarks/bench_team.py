"""Team load test: 20 planners editing budget cells and recomputing against one PostgreSQL store.

Each simulated planner is its own process (as each dashboard server process would be), signs
in with its own account and holds its own :class:`planning.plan.planner.Planner`, warmed with one
recompute before the clock starts. Then, for ``--seconds`` (default 300), each one loops like a
person at the operating-plan page:

1. pick one of a small shared set of budget cells (the segment x program cells the plan
   optimises, so planners really collide), read it (spend, version);
2. think for 0-200 ms, then save spend + delta from the version read;
3. on a conflict (StaleWrite, what the user is shown) re-read and apply the same change again;
4. on success record the acknowledged delta, recompute the plan ("budget" trigger) and read the
   latest plan version's lines: the redraw. Save-to-redraw latency runs from the start of the
   successful save to the redraw's lines being read.

Anything else raised is an error (target: zero). At the end the store must equal the sum of
acknowledged edits: each cell's spend is its starting spend plus the acknowledged deltas, its
version 1 + the acknowledged saves, every acknowledged version appears once, and the audit log
holds one "budget cell" entry per acknowledged save with that planner, version and spend.
It also reports whether each redraw showed the planner's own edit (or a later one), whether
the plan left at the end shows every stored cell, and the database errors handled below the
surface, by SQLSTATE and statement: serialization failures (40001) that planning.store.writes.write
retried, and others the stack caught itself (pandas' read_sql probing has_table with a Select).

Needs PostgreSQL (``make bench`` starts it); creates a throwaway database and drops it.
Prints a table, writes benchmarks/results/team.json, exits 1 if the check fails or errors > 0.

    .venv/bin/python benchmarks/bench_team.py [--seconds 300] [--planners 20]
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import multiprocessing as mp
import os
import platform
import queue
import random
import secrets
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.core.access import Actor
from planning.ingest import demo
from planning.plan import budget_cells
from planning.plan import versions as plan_store
from planning.plan.planner import Planner
from planning.store.audit import read_audit
from planning.store.engine import normalize_url, open_store
from planning.store.writes import StaleWrite
from planning.team import auth

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "load-test password 7"
ADMIN = "load-admin"
MAX_DELTA = 25  # whole dollars, so sums are exact in the store's float column
THINK_S = 0.2
TOLERANCE = 0.005


# ---------------------------------------------------------------------- setup


def _create_database(admin_url: str) -> tuple[str, str]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"continuum_team_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str, customers: int, planners: int) -> dict[str, Any]:
    """Demo company, accounts, a first plan and the shared cells at their starting spend.

    Each cell's spend moves in a band [1, hi] inside the optimiser's bounds, with the bands
    together under the smallest monthly budget, so no edit makes the plan infeasible: any
    error the planners meet is the system's, not the test's.
    """
    engine = open_store(url)
    auth.add_user(engine, None, ADMIN, "admin", password=PASSWORD)
    admin = Actor(ADMIN, "admin")
    for i in range(planners):
        auth.add_user(engine, admin, _planner_name(i), "planner", password=PASSWORD)
    demo.load_company(engine, demo.generate_company(customers, seed=7), actor=admin)
    first = Planner(engine).recompute("manual", actor=admin, reason="load test: first plan")
    allocation = first.evaluation.values["allocation"]
    frame = allocation["first"].cells
    budget = float(allocation["budgets"].min())
    share = budget * 0.9 / len(frame)
    cells = []
    for row in frame.itertuples(index=False):
        hi = math.floor(min(0.9 * float(row.max_spend), share))
        if hi < 10:
            continue
        start = (
            int(min(max(round(float(row.spend)), 1 + MAX_DELTA), hi - MAX_DELTA))
            if hi > 2 * MAX_DELTA + 1
            else (1 + hi) // 2
        )
        budget_cells.save_cell(
            engine, admin, str(row.segment), str(row.program), float(start), expected_version=0
        )
        cells.append(
            {
                "segment": str(row.segment),
                "program": str(row.program),
                "start": start,
                "lo": 1,
                "hi": hi,
            }
        )
    Planner(engine).recompute("budget", actor=admin, reason="load test: starting cells")
    engine.dispose()
    return {"cells": cells, "monthly_budget_min": budget}


def _planner_name(i: int) -> str:
    return f"planner-{i + 1:02d}"


# ---------------------------------------------------------------------- one planner


def _delta(rng: random.Random) -> int:
    return rng.choice([d for d in range(-MAX_DELTA, MAX_DELTA + 1) if d])


def _applied(value: float, delta: int, cell: dict[str, Any]) -> int:
    """``delta``, reversed (or pointed at the band's middle) if it would leave the band."""
    for step in (delta, -delta):
        if cell["lo"] <= value + step <= cell["hi"]:
            return step
    return round((cell["lo"] + cell["hi"]) / 2 - value) or 1


def _count_db_errors(
    engine: sa.Engine, counter: collections.Counter, samples: dict[str, str]
) -> None:
    """Count the database errors writes.write retries (serialization failure 40001...)."""

    def on_error(context: Any) -> None:
        exc = context.original_exception
        statement = " ".join(str(context.statement or "").split()[:3])
        code = f"{getattr(exc, 'sqlstate', None) or type(exc).__name__} at {statement}"
        counter[code] += 1
        samples.setdefault(code, f"{type(exc).__name__}: {exc}"[:300])

    sa.event.listen(engine, "handle_error", on_error)


class _Tally(logging.Handler):
    """Counts the driver's warnings (psycopg logs one when a serialization failure aborts a
    pipelined executemany) instead of letting them scroll past on stderr."""

    def __init__(self, counter: collections.Counter, samples: dict[str, str]) -> None:
        super().__init__(logging.WARNING)
        self.counter, self.samples = counter, samples

    def emit(self, record: logging.LogRecord) -> None:
        self.counter["psycopg warning"] += 1
        self.samples.setdefault("psycopg warning", record.getMessage()[:300])


def _redraw_spend(lines: Any, month: Any, cell: dict[str, Any]) -> float | None:
    hit = lines[
        (lines["month"] == pd.Timestamp(month))
        & (lines["segment"] == cell["segment"])
        & (lines["metric"] == f"spend_{cell['program']}")
    ]
    return float(hit["value"].iloc[0]) if len(hit) else None


def _edit(
    engine: sa.Engine,
    actor: Actor,
    cell: dict[str, Any],
    delta: int,
    rng: random.Random,
    counts: collections.Counter,
    deadline: Any,
) -> tuple[budget_cells.BudgetCell, int, int, float, float] | None:
    """Read the cell, think, save it moved by ``delta``; after a conflict reload and apply the
    change again. The saved cell, the delta applied, the version it was read at and the save's
    start and end, or None when the run ended on a conflict."""
    while True:
        current = budget_cells.read_cell(engine, cell["segment"], cell["program"])
        counts["reads"] += 1
        time.sleep(rng.uniform(0, THINK_S))
        step = _applied(current.monthly_spend, delta, cell)
        t_save = time.perf_counter()
        try:
            saved = budget_cells.save_cell(
                engine,
                actor,
                cell["segment"],
                cell["program"],
                current.monthly_spend + step,
                expected_version=current.version,
            )
        except StaleWrite:
            counts["conflicts"] += 1
            if time.time() >= deadline.value:
                return None
            counts["retries"] += 1
            continue
        counts["saves"] += 1
        return saved, step, current.version, t_save, time.perf_counter()


def _worker(
    index: int,
    url: str,
    cells: list[dict[str, Any]],
    ready: Any,
    go: Any,
    deadline: Any,
    results: Any,
) -> None:
    """One planner: sign in, warm up, then edit-save-recompute-redraw until the deadline."""
    out: dict[str, Any] = {
        "planner": _planner_name(index),
        "acks": [],
        "redraws": [],
        "counts": collections.Counter(),
        "errors": collections.Counter(),
        "db_errors": collections.Counter(),
        "db_error_samples": {},
    }
    try:
        engine = open_store(url)
        _count_db_errors(engine, out["db_errors"], out["db_error_samples"])
        driver_log = logging.getLogger("psycopg")
        driver_log.addHandler(_Tally(out["db_errors"], out["db_error_samples"]))
        driver_log.propagate = False
        session = auth.sign_in(engine, _planner_name(index), PASSWORD)
        actor = session.actor
        planner = Planner(engine)
        started = time.perf_counter()
        planner.recompute("budget", actor=actor, reason="warm-up")
        out["warmup_s"] = time.perf_counter() - started
        out["db_errors"].clear()
        out["db_error_samples"].clear()
    except Exception as exc:
        ready.put((index, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    ready.put((index, None))
    go.wait()
    rng = random.Random(1000 + index)
    counts = out["counts"]

    def error(stage: str, exc: Exception) -> None:
        counts["errors"] += 1
        out["errors"][f"{stage}: {type(exc).__name__}: {exc}"[:500]] += 1

    while time.time() < deadline.value:
        which = rng.randrange(len(cells))
        cell = cells[which]
        try:
            edit = _edit(engine, actor, cell, _delta(rng), rng, counts, deadline)
        except Exception as exc:
            error("save", exc)
            time.sleep(0.1)
            continue
        if edit is None:
            continue  # the run ended on a conflict: nothing acknowledged, nothing to redraw
        saved, step, from_version, t_save, t_saved = edit
        out["acks"].append(
            {
                "cell": which,
                "version": saved.version,
                "spend": saved.monthly_spend,
                "delta": step,
                "from_version": from_version,
            }
        )
        try:
            result = planner.recompute(
                "budget", actor=actor, reason=f"{cell['segment']} x {cell['program']}"
            )
            t_recomputed = time.perf_counter()
            counts["recomputes"] += 1
            counts["versions_written"] += result.version_id is not None
            latest = plan_store.latest_version(engine)
            lines = plan_store.load_lines(engine, latest.id)
            t_redrawn = time.perf_counter()
            counts["redraw_reads"] += 1
        except Exception as exc:
            error("recompute/redraw", exc)
            continue
        out["redraws"].append(
            {
                "cell": which,
                "version": saved.version,
                "shown": _redraw_spend(lines, latest.horizon_start, cell),
                "plan_version": latest.id,
                "own_plan_version": result.version_id,
                "save_s": t_saved - t_save,
                "recompute_s": t_recomputed - t_saved,
                "read_s": t_redrawn - t_recomputed,
                "total_s": t_redrawn - t_save,
            }
        )
    engine.dispose()
    results.put(out)


# ---------------------------------------------------------------------- coordinator


def _cpu_busy() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _run(url: str, cells: list[dict[str, Any]], planners: int, seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    deadline = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(target=_worker, args=(i, url, cells, ready, go, deadline, results))
        for i in range(planners)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for _ in procs:
        index, problem = ready.get(timeout=900)
        if problem:
            for p in procs:
                p.kill()
            raise RuntimeError(f"{_planner_name(index)} could not start: {problem}")
    warmup = time.perf_counter() - started
    load_before = os.getloadavg()
    busy0, total0 = _cpu_busy()
    deadline.value = time.time() + seconds
    t0 = time.perf_counter()
    go.set()
    samples = []
    while time.time() < deadline.value:
        time.sleep(min(5.0, max(0.0, deadline.value - time.time())))
        samples.append(round(os.getloadavg()[0], 2))
    outs = []
    while len(outs) < planners:
        try:
            outs.append(results.get(timeout=120))
        except queue.Empty:
            raise RuntimeError(f"only {len(outs)} of {planners} planners reported back") from None
    elapsed = time.perf_counter() - t0
    busy1, total1 = _cpu_busy()
    for p in procs:
        p.join(timeout=30)
    return {
        "outs": outs,
        "elapsed_s": elapsed,
        "warmup_wall_s": warmup,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "load_samples": samples,
        "cpu_busy_share": (busy1 - busy0) / max(total1 - total0, 1),
    }


def _check(url: str, cells: list[dict[str, Any]], outs: list[dict[str, Any]]) -> dict[str, Any]:
    """The store equals the starting cells plus the acknowledged edits: nothing lost or doubled."""
    engine = open_store(url)
    admin = Actor(ADMIN, "admin")
    stored = budget_cells.read_cells(engine)
    audit = read_audit(engine, admin, limit=None, action="budget cell")
    by_target: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in audit.itertuples(index=False):
        after = json.loads(row.after)
        by_target[row.target].append({"actor": row.actor, **after})
    problems: list[str] = []
    per_cell = []
    for i, cell in enumerate(cells):
        acks = sorted(
            ((a, o["planner"]) for o in outs for a in o["acks"] if a["cell"] == i),
            key=lambda pair: pair[0]["version"],
        )
        name = f"{cell['segment']} x {cell['program']}"
        now = stored[(cell["segment"], cell["program"])]
        expected = cell["start"] + sum(a["delta"] for a, _ in acks)
        versions = [a["version"] for a, _ in acks]
        if abs(now.monthly_spend - expected) > TOLERANCE:
            problems.append(
                f"{name}: stored ${now.monthly_spend:,.2f}, start + acknowledged "
                f"deltas ${expected:,.2f}"
            )
        if now.version != 1 + len(acks):
            problems.append(f"{name}: version {now.version}, 1 + {len(acks)} acknowledged saves")
        if versions != list(range(2, 2 + len(acks))):
            dup = [v for v, n in collections.Counter(versions).items() if n > 1]
            problems.append(
                f"{name}: acknowledged versions are not 2..{1 + len(acks)} "
                f"once each (repeated: {dup[:5]})"
            )
        entries = sorted(by_target.get(name, []), key=lambda e: e["version"])
        if len(entries) != 1 + len(acks):
            problems.append(f"{name}: {len(entries)} audit entries for 1 + {len(acks)} saves")
        audited = {e["version"]: e for e in entries}
        value = cell["start"]
        for ack, who in acks:
            value += ack["delta"]
            entry = audited.get(ack["version"])
            if (
                entry is None
                or entry["actor"] != who
                or abs(entry["monthly_spend"] - ack["spend"]) > TOLERANCE
                or abs(ack["spend"] - value) > TOLERANCE
            ):
                problems.append(
                    f"{name} version {ack['version']} by {who}: audit {entry}, "
                    f"acknowledged ${ack['spend']:,.2f}, running sum ${value:,.2f}"
                )
                break
        per_cell.append(
            {
                "cell": name,
                "start": cell["start"],
                "band": [cell["lo"], cell["hi"]],
                "acknowledged_saves": len(acks),
                "sum_of_deltas": expected - cell["start"],
                "stored_spend": now.monthly_spend,
                "stored_version": now.version,
                "audit_entries": len(entries),
            }
        )
    # The plan as left by the planners, then after one more recompute.
    history = {
        i: {
            e["version"]: e["monthly_spend"]
            for e in by_target.get(f"{c['segment']} x {c['program']}", [])
        }
        for i, c in enumerate(cells)
    }
    final = {}
    for label in ("as_left", "after_one_more_recompute"):
        if label != "as_left":
            Planner(engine).recompute("budget", actor=admin, reason="load test: final check")
        latest = plan_store.latest_version(engine)
        lines = plan_store.load_lines(engine, latest.id)
        shows = [_redraw_spend(lines, latest.horizon_start, c) for c in cells]
        behind = [
            {
                "cell": f"{c['segment']} x {c['program']}",
                "plan_shows": s,
                "stored": stored[(c["segment"], c["program"])].monthly_spend,
                "plan_version": latest.id,
                "plan_by": latest.actor,
            }
            for s, c in zip(shows, cells, strict=True)
            if s is None or abs(s - stored[(c["segment"], c["program"])].monthly_spend) > TOLERANCE
        ]
        final[label] = {"cells_current": len(cells) - len(behind), "behind": behind}
    engine.dispose()
    return {
        "ok": not problems,
        "problems": problems[:50],
        "per_cell": per_cell,
        "history": history,
        "plan_cells_current": final,
    }


def _freshness(
    outs: list[dict[str, Any]], history: dict[int, dict[int, float]]
) -> collections.Counter:
    """Whether each redraw showed the planner's own edit, a later one, or an older state."""
    verdicts: collections.Counter = collections.Counter()
    for out in outs:
        for r in out["redraws"]:
            values = history[r["cell"]]
            mine = values.get(r["version"])
            if r["shown"] is not None and mine is not None and abs(r["shown"] - mine) <= TOLERANCE:
                verdicts["own edit"] += 1
            elif r["shown"] is not None and any(
                abs(r["shown"] - v) <= TOLERANCE for k, v in values.items() if k > r["version"]
            ):
                verdicts["a later edit"] += 1
            else:
                verdicts["an older state"] += 1
    return verdicts


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


def _summary(
    run: dict[str, Any], check: dict[str, Any], args: argparse.Namespace, seed: dict[str, Any]
) -> dict[str, Any]:
    outs = run["outs"]
    counts: collections.Counter = collections.Counter()
    db_errors: collections.Counter = collections.Counter()
    db_samples: dict[str, str] = {}
    for out in outs:
        counts.update(out["counts"])
        db_errors.update(out["db_errors"])
        db_samples = {**out["db_error_samples"], **db_samples}
    redraws = [r for out in outs for r in out["redraws"]]
    elapsed = run["elapsed_s"]
    requests = (
        counts["reads"]
        + counts["saves"]
        + counts["conflicts"]
        + counts["recomputes"]
        + counts["redraw_reads"]
    )
    return {
        "benchmark": "team",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before_setup": [round(x, 2) for x in run["load_before_setup"]],
            "load_after_warmup": [round(x, 2) for x in run["load_before"]],
            "load_after": [round(x, 2) for x in run["load_after"]],
            "load_1min_samples": run["load_samples"],
            "cpu_busy_share_during_run": round(run["cpu_busy_share"], 3),
        },
        "setup": {
            "customers": args.customers,
            "planners": args.planners,
            "seconds": args.seconds,
            "cells": len(seed["cells"]),
            "think_s": [0, THINK_S],
            "max_delta": MAX_DELTA,
            "warmup_wall_s": run["warmup_wall_s"],
            "warmup_recompute_s": _percentiles([o["warmup_s"] for o in outs]),
        },
        "duration_s": elapsed,
        "requests": {
            "total": requests,
            "per_s": requests / elapsed,
            "reads": counts["reads"],
            "save_attempts": counts["saves"] + counts["conflicts"],
            "saves_acknowledged": counts["saves"],
            "saves_per_s": counts["saves"] / elapsed,
            "recomputes": counts["recomputes"],
            "plan_versions_written": counts["versions_written"],
            "redraw_reads": counts["redraw_reads"],
        },
        "save_to_redraw_s": _percentiles([r["total_s"] for r in redraws]),
        "save_s": _percentiles([r["save_s"] for r in redraws]),
        "recompute_s": _percentiles([r["recompute_s"] for r in redraws]),
        "redraw_read_s": _percentiles([r["read_s"] for r in redraws]),
        "conflicts_shown": counts["conflicts"],
        "conflict_retries": counts["retries"],
        "conflict_share_of_save_attempts": counts["conflicts"]
        / max(1, counts["saves"] + counts["conflicts"]),
        "serialization_failures_retried_inside_writes": sum(
            n for code, n in db_errors.items() if code.split()[0] in ("40001", "40P01")
        ),
        "database_errors_caught_below_the_surface": dict(db_errors),
        "database_error_samples": db_samples,
        "errors": counts["errors"],
        "error_messages": dict(
            sum((out["errors"] for out in outs), collections.Counter()).most_common(20)
        ),
        "redraw_showed": dict(_freshness(outs, check["history"])),
        "final_plan_shows_stored_cells": check["plan_cells_current"],
        "check": {"ok": check["ok"], "problems": check["problems"], "cells": check["per_cell"]},
        "per_planner_saves": {
            o["planner"]: o["counts"]["saves"] for o in sorted(outs, key=lambda o: o["planner"])
        },
    }


def _print(s: dict[str, Any]) -> None:
    r, m = s["requests"], s["machine"]

    def ms(d: dict[str, float | None]) -> str:
        return " / ".join(
            "-" if d[k] is None else f"{d[k] * 1000:.0f}" for k in ("p50", "p95", "p99")
        )

    rows = [
        (
            "planners x seconds",
            f"{s['setup']['planners']} x {s['duration_s']:.0f} s "
            f"on {s['setup']['cells']} shared cells",
        ),
        (
            "machine",
            f"{m['cpus']} CPUs, load {m['load_before_setup'][0]} before setup, "
            f"{m['load_after_warmup'][0]} after warm-up, "
            f"{m['load_after'][0]} after, CPU busy {m['cpu_busy_share_during_run']:.0%}",
        ),
        ("requests served", f"{r['total']:,} ({r['per_s']:.1f}/s)"),
        (
            "saves acknowledged",
            f"{r['saves_acknowledged']:,} ({r['saves_per_s']:.2f}/s) of "
            f"{r['save_attempts']:,} attempts",
        ),
        ("recomputes / versions", f"{r['recomputes']:,} / {r['plan_versions_written']:,}"),
        ("save-to-redraw p50/p95/p99 ms", ms(s["save_to_redraw_s"])),
        ("  save ms", ms(s["save_s"])),
        ("  recompute ms", ms(s["recompute_s"])),
        ("  redraw read ms", ms(s["redraw_read_s"])),
        (
            "conflicts shown",
            f"{s['conflicts_shown']:,} "
            f"({s['conflict_share_of_save_attempts']:.0%} of save attempts)",
        ),
        (
            "serialization retries",
            f"{s['serialization_failures_retried_inside_writes']:,} "
            "(inside planning.store.writes.write, unseen by planners)",
        ),
        ("errors", str(s["errors"])),
        ("redraw showed", json.dumps(s["redraw_showed"])),
        (
            "final plan shows cells",
            ", ".join(
                f"{k.replace('_', ' ')} {v['cells_current']} of {s['setup']['cells']}"
                for k, v in s["final_plan_shows_stored_cells"].items()
            ),
        ),
        ("check: store = sum of acks", "OK" if s["check"]["ok"] else "FAILED"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for problem in s["check"]["problems"]:
        print("  check:", problem)
    for message, n in s["error_messages"].items():
        print(f"  error x {n}: {message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--planners", type=int, default=20)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("CONTINUUM_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "team.json")
    args = parser.parse_args()
    admin_url = normalize_url(args.pg_url)
    load_before_setup = os.getloadavg()
    name, url = _create_database(admin_url)
    try:
        print(
            f"seeding {args.customers:,} customers, {args.planners} planners into {name} …",
            flush=True,
        )
        seed = _seed(url, args.customers, args.planners)
        print(f"{len(seed['cells'])} shared cells; starting {args.planners} planners …", flush=True)
        run = _run(url, seed["cells"], args.planners, args.seconds)
        run["load_before_setup"] = load_before_setup
        check = _check(url, seed["cells"], run["outs"])
    finally:
        _drop_database(admin_url, name)
    summary = _summary(run, check, args, seed)
    _print(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0 if summary["check"]["ok"] and summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
