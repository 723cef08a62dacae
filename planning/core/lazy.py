"""Lazy package exports (PEP 562): a package names its public API without importing it.

Each package's ``__init__`` maps its public names to the module that defines them and hands
the map to :func:`lazy_exports`; the first ``from planning.forecast import forecast_segments``
imports ``planning.forecast.by_segment`` and nothing else. The same names are imported under
``TYPE_CHECKING`` in the ``__init__``, so type checkers see the real objects. This keeps the
command line's ``--help`` free of the models, and import order free of package cycles.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public ``name`` lives in
    ``package.<exports[name]>``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
