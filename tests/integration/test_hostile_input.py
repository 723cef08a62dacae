"""Hostile text through every text input of the command line and the import path.

SQL fragments, ``<script>``, spreadsheet formulas, NUL bytes, invalid UTF-8, right-to-left and
control characters, and a 10 MB string go into every option and name of ``python -m planning``
(the table :data:`CASES`, one line per input) and into every cell, header and mapping of an
import, on SQLite and PostgreSQL. Each gets a clear error (a non-zero exit and a message
saying ``error``, never a traceback) or is stored as the text it was; after a rejected input
the store's row counts and a checksum of every row are what they were before.

The CLI runs in-process through :func:`planning.cli.main.main` (its store opened once per backend:
opening it costs 60-120 ms and is not what is tested), with stdout as strict as a real
terminal's, so text that cannot be printed is a failure; a few cases run as subprocesses to
prove the exit codes and argv bytes that are not UTF-8. To add a command, add a line to CASES.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning.cli import main as cli
from planning.ingest.importing import import_file
from planning.store import schema
from planning.store.engine import open_store, table_counts
from planning.team import auth
from tests.actors import ADMIN

REPO_ROOT = Path(__file__).resolve().parents[2]
TEN_MB = "A" * (10 * 1024 * 1024)
HOSTILE = (
    "'; DROP TABLE customers; --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(1)",
    "-2+3",
    "+1",
    "\x00",
    "nul\x00inside",
    "\u202eevil\u202c",
    "\x1b[31mred\x1b[0m",
    "\r\n\t",
    "\udcff\udcfe",  # bytes that are not UTF-8, as Python hands them over in argv
    "../../../../etc/passwd",
    "%s%n{0}",
    "",
    "1e309",
    "9" * 400,
    "ℌ𝔢𝔩𝔩𝔬 😀",
    TEN_MB,
)
_EXIT_CODES = {0, 1, 2, 3, 4}
_ERROR_WORDS = ("error", "rejected")  # "error: ..." or an import report "X was rejected ..."
_PASSWORD = "correct horse battery staple"
_CUSTOMERS = b"customer_id,size,region\nA,Large,North\nB,Small,South\nC,Small,\n"
_TRANSACTIONS = b"customer_id,date,amount,cost\n" + b"".join(
    f"{c},2024-{m:02d}-{d:02d},{100 + m},{60 + m}\n".encode()
    for m in range(1, 13)
    for c, d in (("A", 5), ("B", 9), ("C", 20))
    if (m + ord(c)) % 2 == 0 or c == "A"
)
_RULES = b'[{"name": "Big", "conditions": [{"field": "size", "op": "in", "value": ["Large"]}]}]'


@dataclass(frozen=True)
class Case:
    """One text input of the CLI: argv with ``{text}`` where the hostile text goes.

    ``{tx}``, ``{cust}``, ``{rules}`` are good files, ``{text_file}`` a file holding the text,
    ``{out}`` a scratch folder. ``writes``: the command may change the store when it
    succeeds. ``known_issue`` names a bug this test found in code outside the surface work;
    such a case is reported but does not fail the test until the bug is fixed, and then it
    fails until the note is removed (like a strict xfail).
    """

    name: str
    argv: tuple[str, ...]
    writes: bool = False
    stdin: str = ""
    known_issue: str = ""  # a crash found here and not fixed yet: reported, must stay failing
    known_on: tuple[str, ...] = ("sqlite", "postgresql")


_PG = ("postgresql",)
# Real argv cannot hold NUL, but the same functions serve the pages, where a browser can send it.
_PG_NUL = (
    "a NUL byte in a name reaches PostgreSQL, which refuses it in text (psycopg "
    "DataError): the scenario, rule-set and user functions should refuse it in words"
)

CASES: tuple[Case, ...] = (
    Case("--db", ("--db={text}", "status")),
    Case("import kind", ("import", "{text}", "{tx}")),
    Case("import file path", ("import", "transactions", "{text}")),
    Case("import file content", ("import", "transactions", "{text_file}"), writes=True),
    Case("import --map", ("import", "transactions", "{tx}", "--map={text}")),
    Case("import --map column", ("import", "transactions", "{tx}", "--map=customer_id={text}")),
    Case("import --date-format", ("import", "transactions", "{tx}", "--date-format={text}")),
    Case(
        "import --customers-map",
        ("import", "customers", "{cust}", "--customers={cust}", "--customers-map={text}"),
    ),
    Case("import --user", ("import", "transactions", "{tx}", "--user={text}")),
    Case("clv --as-of", ("clv", "--as-of={text}", "--out={out}/clv.csv")),
    Case("clv --horizon", ("clv", "--horizon={text}", "--out={out}/clv.csv")),
    Case("clv --discount-rate", ("clv", "--discount-rate={text}", "--out={out}/clv.csv")),
    Case("clv --out", ("clv", "--out={text}")),
    Case("forecast --horizon", ("forecast", "--horizon={text}", "--out={out}/fc.csv")),
    Case("forecast --level", ("forecast", "--level={text}", "--horizon=2", "--out={out}/f.csv")),
    Case(
        "forecast --lens",
        ("forecast", "--level=segment", "--lens={text}", "--horizon=2", "--out={out}/fc.csv"),
    ),
    Case("forecast --metric", ("forecast", "--metric={text}", "--horizon=2", "--out={out}/f.csv")),
    Case("forecast --freq", ("forecast", "--freq={text}", "--horizon=2", "--out={out}/fc.csv")),
    Case("forecast --as-of", ("forecast", "--as-of={text}", "--horizon=2", "--out={out}/f.csv")),
    Case("segments --lens", ("segments", "--lens={text}", "--out={out}/seg.csv")),
    Case(
        "segments --attribute",
        ("segments", "--lens=attribute", "--attribute={text}", "--out={out}/seg.csv"),
    ),
    Case(
        "segments --rule-set",
        ("segments", "--lens=rules", "--rule-set={text}", "--out={out}/seg.csv"),
    ),
    Case(
        "segments --window-months",
        ("segments", "--lens=value", "--window-months={text}", "--out={out}/seg.csv"),
    ),
    Case(
        "optimize --scenario", ("optimize", "--scenario={text}", "--draws=20", "--out={out}/a.json")
    ),
    Case("optimize --budget", ("optimize", "--budget={text}", "--draws=20", "--out={out}/a.json")),
    Case("optimize --draws", ("optimize", "--draws={text}", "--out={out}/a.json")),
    Case("plan export --format", ("plan", "export", "--format={text}", "--out={out}/p.csv")),
    Case("plan show --version", ("plan", "show", "--version={text}")),
    Case("plan show --as-of", ("plan", "show", "--as-of={text}")),
    Case("rules save content", ("rules", "save", "{text_file}")),
    Case("rules save --set", ("rules", "save", "{rules}", "--set={text}"), writes=True),
    Case("rules show --set", ("rules", "show", "--set={text}")),
    Case("rules delete --set", ("rules", "delete", "--set={text}"), writes=True),
    Case("watch --inbox", ("watch", "--inbox={text}", "--once"), writes=True),
    Case(
        "watch --interval", ("watch", "--inbox={out}", "--interval={text}", "--once"), writes=True
    ),  # a valid interval runs the catch-up recompute: a new plan version
    Case("users add", ("users", "add", "{text}", "--role=viewer", "--sso"), writes=True),
    Case("users add --role", ("users", "add", "fuzzed", "--role={text}", "--sso")),
    Case(
        "users add password",
        ("users", "add", "fuzz_pw", "--role=viewer", "--password-stdin"),
        writes=True,
        stdin="{text}\n",
    ),
    Case("users disable", ("users", "disable", "{text}"), writes=True),
    Case(
        "users reset",
        ("users", "reset", "{text}", "--password-stdin"),
        writes=True,
        stdin=_PASSWORD + "\n",
    ),
    Case("audit --who", ("audit", "--who={text}")),
    Case("audit --action", ("audit", "--action={text}")),
    Case("audit --limit", ("audit", "--limit={text}")),
    Case("imports undo", ("imports", "undo", "{text}"), writes=True),
)


@dataclass(frozen=True)
class Outcome:
    code: int | None
    out: str
    err: str
    crash: str = ""


def _snapshot(engine) -> tuple[dict[str, int], str]:
    """planning.store.engine.table_counts and a SHA-256 over every row of every data table, in key
    order (the sign-in bookkeeping, login attempts and sessions, is not a data table)."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for name, table in sorted(schema.TABLES.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(sa.select(table).order_by(*order)):
                digest.update(repr((name, tuple(row))).encode("utf-8", "backslashreplace"))
    return table_counts(engine), digest.hexdigest()


@pytest.fixture
def seeded(store_url, tmp_path, monkeypatch):
    """A small company in the store, good input files, and the admin the CLI signs in as."""
    # Argon2 at its production cost is ~0.3 s a sign-in, and most write commands sign in on
    # PostgreSQL: cheap parameters (read from each hash, so verification is cheap too) keep
    # the run short; hashing is not what this test is about.
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_HASHER", cheap)
    dummy = cheap.hash("not anyone's password")
    monkeypatch.setattr(auth, "_dummy_hash", lambda: dummy)
    engine = open_store(store_url)
    try:
        _seed(engine)
    except BaseException:
        engine.dispose()
        raise
    monkeypatch.setenv("CONTINUUM_USER", "fuzzadmin")
    monkeypatch.setenv("CONTINUUM_PASSWORD", _PASSWORD)
    files = {
        "tx": tmp_path / "tx.csv",
        "cust": tmp_path / "cust.csv",
        "rules": tmp_path / "rules.json",
        "out": tmp_path / "out",
    }
    files["tx"].write_bytes(_TRANSACTIONS)
    files["cust"].write_bytes(_CUSTOMERS)
    files["rules"].write_bytes(_RULES)
    files["out"].mkdir()
    # Relative paths in the fuzz ("../../../../etc/passwd") land under tmp_path, never in the
    # checkout or the system: the working folder is deeper than any ../ run in HOSTILE.
    work = tmp_path / "a" / "b" / "c" / "d" / "e" / "cwd"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(
        "planning.store.engine.open_store",
        lambda url: engine if url == store_url else open_store(url),
    )
    yield store_url, engine, files
    engine.dispose()


def _seed(engine) -> None:
    for kind, content in (("customers", _CUSTOMERS), ("transactions", _TRANSACTIONS)):
        report = import_file(engine, kind, content, file_name=f"{kind}.csv", actor=ADMIN)
        assert report.ok, report.summary()
    auth.add_user(engine, ADMIN, "fuzzadmin", "admin", password=_PASSWORD)


def _text_file(folder: Path, case: Case, text: str) -> Path:
    """The text as a file for ``case``: a CSV whose customer id it is, or a rules file."""
    path = folder / ("text.json" if case.name.startswith("rules") else "text.csv")
    if case.name.startswith("rules"):
        content = text.encode("utf-8", "surrogateescape")
    else:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            [["customer_id", "date", "amount"], [text, "2024-06-01", "10"]]
        )
        content = buffer.getvalue().encode("utf-8", "surrogateescape")
    path.write_bytes(content)
    return path


def _argv(case: Case, text: str, url: str, files: dict[str, Path]) -> list[str]:
    values = {
        "tx": str(files["tx"]),
        "cust": str(files["cust"]),
        "rules": str(files["rules"]),
        "out": str(files["out"]),
    }
    argv = []
    for part in case.argv:
        for key, value in values.items():
            part = part.replace("{" + key + "}", value)
        if "{text_file}" in part:
            part = part.replace("{text_file}", str(_text_file(files["out"], case, text)))
        argv.append(part.replace("{text}", text))
    return argv if case.name == "--db" else ["--db", url, *argv]


def _run(argv: list[str], stdin: str) -> Outcome:
    """main(argv) with a terminal's streams: strict UTF-8 stdout, backslashreplace stderr."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True
    )
    code, crash = None, ""
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    except BaseException:
        crash = traceback.format_exc()
    finally:
        sys.stdin = saved_stdin
    return Outcome(
        code,
        out_bytes.getvalue().decode("utf-8", "replace"),
        err_bytes.getvalue().decode("utf-8", "replace"),
        crash,
    )


def _check(case: Case, text: str, seeded, before: list | None) -> str | None:
    """What is wrong with how ``case`` handled ``text`` (None: all is well). With ``before``
    (a one-item list holding a snapshot) the store is compared, and the item replaced."""
    url, engine, files = seeded
    stdin = case.stdin.replace("{text}", text)
    outcome = _run(_argv(case, text, url, files), stdin)
    label = f"{case.name} <- {text[:40]!r}{'...' if len(text) > 40 else ''}"
    if outcome.crash:
        return f"{label}: crashed\n{outcome.crash[-1500:]}"
    if outcome.code not in _EXIT_CODES:
        return f"{label}: exit code {outcome.code!r}"
    if "Traceback (most recent call last)" in outcome.err + outcome.out:
        return f"{label}: printed a traceback\n{outcome.err[-1500:]}"
    if outcome.code != 0 and not any(w in outcome.err.lower() for w in _ERROR_WORDS):
        return f"{label}: exit {outcome.code} without an error message: {outcome.err[:300]!r}"
    if before is None:
        return None
    after = _snapshot(engine)
    changed, before[0] = after != before[0], after
    if changed and not (case.writes and outcome.code == 0):
        return f"{label}: exit {outcome.code} but the store changed"
    return None


def _run_case(case: Case, texts: tuple[str, ...], seeded) -> list[str]:
    """Problems of ``case`` over ``texts``; a read-only case is compared once, after all."""
    before = [_snapshot(seeded[1])]
    problems = [
        p for text in texts if (p := _check(case, text, seeded, before if case.writes else None))
    ]
    if not case.writes and _snapshot(seeded[1]) != before[0]:
        problems.append(f"{case.name}: a read-only command changed the store")
    return problems


def test_every_cli_input_refuses_hostile_text_clearly_and_leaves_the_store_as_it_was(seeded):
    backend = sa.make_url(seeded[0]).get_backend_name()
    # The 10 MB string costs ~9 s over every option on PostgreSQL and tests parsing, not the
    # database: there it goes through the import path (cells, headers) only.
    texts = HOSTILE if backend == "sqlite" else tuple(t for t in HOSTILE if t is not TEN_MB)
    problems, still_known, fixed = [], [], []
    for case in CASES:
        found = _run_case(case, texts, seeded)
        if case.known_issue and backend in case.known_on:
            (still_known if found else fixed).append(
                f"{case.name}: {case.known_issue} ({len(found)} input(s))"
            )
        else:
            problems += found
    if still_known:
        print("Known issues, still there:\n  " + "\n  ".join(still_known))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n\n".join(problems)
    assert not fixed, "fixed now: remove the known_issue note of\n  " + "\n  ".join(fixed)


_ALPHABET = st.characters(codec=None, exclude_categories=())
_PREFIXED = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'; ", "<", "\x00", "../"]),
    st.text(_ALPHABET, max_size=20),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.sampled_from([c for c in CASES if not c.known_issue]),
    text=st.one_of(st.sampled_from(HOSTILE[:-1]), st.text(_ALPHABET, max_size=40), _PREFIXED),
)
def test_random_text_in_any_cli_input_gets_an_error_or_is_used_as_text(seeded, case, text):
    before = [_snapshot(seeded[1])]
    problem = _check(case, text, seeded, before)
    assert problem is None, problem


# --- the import path: cells, headers and mappings -------------------------------------------


@dataclass(frozen=True)
class ImportCase:
    """Where hostile text goes in an import: ``build(text)`` -> (kind, file bytes, mapping),
    and the stored column it must come back as when the import is accepted."""

    name: str
    kind: str
    rows: tuple[tuple[str, ...], ...]
    mapping: tuple[tuple[str, str], ...] = ()
    stored: tuple[str, str] | None = None  # (table, column) that holds the text when accepted


IMPORT_CASES: tuple[ImportCase, ...] = (
    ImportCase(
        "customer id",
        "transactions",
        (("customer_id", "date", "amount"), ("{text}", "2024-06-01", "10")),
        stored=("transactions", "customer_id"),
    ),
    ImportCase(
        "amount", "transactions", (("customer_id", "date", "amount"), ("Z", "2024-06-01", "{text}"))
    ),
    ImportCase("date", "transactions", (("customer_id", "date", "amount"), ("Z", "{text}", "10"))),
    ImportCase(
        "header",
        "transactions",
        (("customer_id", "{text}", "amount"), ("Z", "2024-06-01", "10")),
        mapping=(("date", "{text}"),),
    ),
    ImportCase(
        "mapping target",
        "transactions",
        (("customer_id", "date", "amount"), ("Z", "2024-06-01", "10")),
        mapping=(("{text}", "date"),),
    ),
    ImportCase(
        "customer attribute",
        "customers",
        (("customer_id", "size"), ("Z", "{text}")),
        stored=("customers", "size"),
    ),
    ImportCase(
        "customer name",
        "customers",
        (("customer_id", "name"), ("Z", "{text}")),
        stored=("customers", "name"),
    ),
)


def _import_bytes(case: ImportCase, text: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [[cell.replace("{text}", text) for cell in row] for row in case.rows]
    )
    return buffer.getvalue().encode("utf-8", "surrogateescape")


def _check_import(engine, case: ImportCase, text: str, before: list) -> str | None:
    """What is wrong with how the import handled ``text``; ``before`` holds the snapshot the
    store must still match after a rejection (replaced by the new one after an acceptance)."""
    mapping = {k.replace("{text}", text): v.replace("{text}", text) for k, v in case.mapping}
    label = f"import {case.name} <- {text[:40]!r}"
    try:
        report = import_file(
            engine,
            case.kind,
            _import_bytes(case, text),
            file_name=f"{case.name}.csv",
            mapping=mapping or None,
            actor=ADMIN,
        )
    except Exception:
        return f"{label}: crashed\n{traceback.format_exc()[-1500:]}"
    after = _snapshot(engine)
    changed, before[0] = after != before[0], after
    if not report.ok:
        if not report.problems or not report.problems[0].reason:
            return f"{label}: rejected without a reason"
        return f"{label}: rejected but the store changed" if changed else None
    if report.already_imported_as is not None or case.stored is None:
        return None
    table, column = case.stored
    # Bytes that are not UTF-8 make the importer read the file as Latin-1: text all the same.
    expected = (
        text.encode("utf-8", "surrogateescape").decode("latin-1") if "\udcff" in text else text
    ).strip()
    with engine.connect() as conn:
        values = set(conn.execute(sa.select(schema.TABLES[table].c[column])).scalars())
    if expected and expected not in values:
        return f"{label}: accepted, but {table}.{column} does not hold the text as given"
    return None


def test_hostile_cells_headers_and_mappings_are_refused_or_stored_as_text(seeded):
    engine = seeded[1]
    before = [_snapshot(engine)]
    problems = [
        p
        for case in IMPORT_CASES
        for text in HOSTILE
        if (p := _check_import(engine, case, text, before)) is not None
    ]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n\n".join(problems)


def test_a_sql_fragment_as_a_customer_id_is_stored_verbatim_and_the_table_survives(seeded):
    engine = seeded[1]
    text = "'; DROP TABLE customers; --"
    assert _check_import(engine, IMPORT_CASES[0], text, [_snapshot(engine)]) is None
    with engine.connect() as conn:
        ids = set(conn.execute(sa.select(schema.TABLES["customers"].c.customer_id)).scalars())
    assert text in ids and {"A", "B", "C"} <= ids


# --- a few as real processes: exit codes and argv bytes that are not UTF-8 -------------------


def _process(args: list[bytes], url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CONTINUUM_USER": "fuzzadmin",
        "CONTINUUM_PASSWORD": _PASSWORD,
    }
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"planning", b"--db", url.encode(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "store_url, args, code, words",
    [
        ("sqlite", [b"clv", b"--as-of=\xff\xfe2024", b"--out=o.csv"], 2, b"is not a date"),
        ("sqlite", [b"rules", b"show", b"--set=\xff<script>alert(1)</script>"], 1, b"no rule set"),
        ("sqlite", [b"import", b"transactions", b"missing-\xff.csv"], 2, b"file not found"),
        (
            "postgresql",
            [
                b"segments",
                b"--lens=rules",
                b"--rule-set='; DROP TABLE customers; --",
                b"--out=s.csv",
            ],
            1,
            b"rule set",
        ),
    ],
    ids=["date-bytes", "rule-set-bytes", "missing-file", "sql-rule-set-postgresql"],
    indirect=["store_url"],
)
def test_as_a_process_hostile_argv_exits_non_zero_with_words_not_a_traceback(
    seeded, tmp_path, args, code, words
):
    url, engine, _files = seeded
    before = _snapshot(engine)
    done = _process(args, url, tmp_path)
    assert done.returncode == code, done.stderr.decode("utf-8", "replace")
    assert words in done.stderr and b"Traceback" not in done.stderr
    assert _snapshot(engine) == before
