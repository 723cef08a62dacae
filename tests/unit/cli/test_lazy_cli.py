"""The command line is lazy: its parser loads no engine, so --help and usage errors are quick."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.repo_boundary import REPO_ROOT

HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "sqlalchemy",
    "alembic",
    "plotly",
    "streamlit",
    "argon2",
)

_PROBE = """
import sys
from planning.cli.main import _parser
parser = _parser()
heavy = {heavy!r}
print(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy}}))
print(sorted(m for m in sys.modules if m.startswith("planning.")
             and not m.startswith(("planning.cli", "planning.core"))))
"""


def test_building_every_commands_parser_imports_no_engine_module_and_no_heavy_library():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["[]", "[]"]


@pytest.mark.parametrize(
    "argv, code, shown",
    [
        (["--help"], 0, "Continuum: customer-driven planning"),
        (["forecast", "--help"], 0, "--horizon"),
        (["forecast", "--horizon", "0", "--out", "x.csv"], 2, "is not a horizon"),
        (["segments", "--lens", "nope", "--out", "x.csv"], 2, "invalid choice"),
    ],
    ids=["help", "command-help", "bad-horizon", "bad-lens"],
)
def test_help_and_usage_errors_answer_without_opening_a_store(argv, code, shown, tmp_path):
    missing = tmp_path / "no-folder" / "store.db"
    done = subprocess.run(
        [sys.executable, "-m", "planning", "--db", f"sqlite:///{missing}", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == code
    assert shown in done.stdout + done.stderr
    assert not missing.parent.exists()  # nothing was opened or created
