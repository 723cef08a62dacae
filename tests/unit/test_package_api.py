"""Each planning package has a small public API, and the screens import only that."""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.repo_boundary import REPO_ROOT

PACKAGES = (
    "core",
    "store",
    "team",
    "ingest",
    "profit",
    "value",
    "segments",
    "forecast",
    "allocation",
    "plan",
)
SCREENS = sorted(
    [REPO_ROOT / "app.py", *(REPO_ROOT / "pages").glob("*.py"), *(REPO_ROOT / "ui").glob("*.py")]
)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves_to_the_object_its_module_defines(name):
    package = importlib.import_module(f"planning.{name}")
    assert sorted(package.__all__) == sorted(package._EXPORTS)
    for public, module in package._EXPORTS.items():
        defined = getattr(importlib.import_module(f"planning.{name}.{module}"), public)
        assert getattr(package, public) is defined, public


def test_an_unknown_name_is_an_attribute_error_that_names_the_package():
    import planning.forecast

    with pytest.raises(AttributeError, match=r"'planning\.forecast' has no attribute 'nope'"):
        planning.forecast.nope  # noqa: B018 - the look-up is the test


def _planning_imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planning"):
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("planning"):
                    yield node.lineno, alias.name, []


def test_pages_ui_and_app_import_planning_packages_never_their_modules():
    found = []
    for path in SCREENS:
        for line, module, names in _planning_imports(path):
            parts = module.split(".")
            ok = (module == "planning" and all(n in PACKAGES for n in names)) or (
                len(parts) == 2
                and parts[1] in PACKAGES
                and all(
                    n in importlib.import_module(module).__all__ or n == "columns" for n in names
                )
            )
            if not ok:
                found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {module} {names}")
    assert found == []
