"""One column vocabulary: a name that several modules use is written once, in core.columns."""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.repo_boundary import REPO_ROOT

# Option words that happen to equal a column name, and are not used as one.
NOT_COLUMNS = {"size"}  # planning.plan.planner.DEFAULT_LENS, the lens, not the column


def _literal_constants(path):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            )
        )
        value = getattr(node, "value", None)
        if (
            isinstance(target, ast.Name)
            and target.id.isupper()
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            yield target.id, value.value


def test_no_column_name_is_spelled_out_in_two_modules():
    where = defaultdict(set)
    for path in (REPO_ROOT / "planning").rglob("*.py"):
        if path.name == "columns.py":
            continue
        for _name, literal in _literal_constants(path):
            if literal.replace("_", "").isalnum() and literal.islower():
                where[literal].add(str(path.relative_to(REPO_ROOT)))
    repeated = {k: sorted(v) for k, v in where.items() if len(v) > 1 and k not in NOT_COLUMNS}
    assert repeated == {}
