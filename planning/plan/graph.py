"""A dependency graph of pure steps, memoised by the fingerprints of their inputs.

The continuous planner is a chain of pure functions (store facts -> segments -> customer value
-> forecasts -> response curves -> allocation -> operating plan -> variance). Each
:class:`Node` names its inputs: other nodes, or *sources* the shell supplies (frames read from
the store, the budget, the assumptions, the calendar). :meth:`Graph.evaluate` runs the nodes in
dependency order; a node whose inputs have the same fingerprints as in the previous run (kept
in a :class:`Memo` the shell owns) is not run again, so a change recomputes exactly the nodes
downstream of it. A node's fingerprint is a hash of its name, its version and its inputs'
fingerprints (a Merkle chain), so equal inputs give equal fingerprints, run after run and
process after process; a source's fingerprint is a hash of its content.

Every evaluation reports, per node, whether it ran, how long it took and why (which input
changed), which is what a plan version records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Node:
    """One pure step: ``fn(**{input: value})`` -> value.

    ``version`` is part of the fingerprint: change it when the step's meaning changes, so old
    memoised results are not reused.
    """

    name: str
    inputs: tuple[str, ...]
    fn: Callable[..., Any]
    version: str = "1"


@dataclass(frozen=True)
class NodeRun:
    """What happened to one node in an evaluation."""

    name: str
    recomputed: bool
    seconds: float
    reason: str
    fingerprint: str


@dataclass(frozen=True)
class Evaluation:
    """The values and fingerprints of every node and source, and what ran."""

    values: Mapping[str, Any]
    fingerprints: Mapping[str, str]
    runs: tuple[NodeRun, ...]

    @property
    def recomputed(self) -> tuple[str, ...]:
        """Names of the nodes that ran, in the order they ran."""
        return tuple(r.name for r in self.runs if r.recomputed)

    def timings(self) -> dict[str, float]:
        """Seconds per node that ran."""
        return {r.name: r.seconds for r in self.runs if r.recomputed}


@dataclass
class Memo:
    """Results of earlier evaluations, owned by the shell (one per planner process)."""

    entries: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (fp, value)
    source_prints: dict[str, str] = field(default_factory=dict)
    # The very object each source's fingerprint was computed from: sources are never mutated,
    # so the same object again (a budget move keeps the data sources) needs no rehashing.
    source_objects: dict[str, Any] = field(default_factory=dict)

    def clear(self) -> None:
        self.entries.clear()
        self.source_prints.clear()
        self.source_objects.clear()


class Graph:
    """A set of nodes; inputs that are not nodes are the graph's sources.

    Raises
    ------
    ValueError
        For a duplicate node name or a cycle.
    """

    def __init__(self, nodes: Sequence[Node]) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Duplicate node name(s): {', '.join(dupes)}.")
        self.nodes: dict[str, Node] = {n.name: n for n in nodes}
        self.sources: frozenset[str] = frozenset(
            i for n in nodes for i in n.inputs if i not in self.nodes
        )
        self.order: tuple[str, ...] = self._topological()

    def _topological(self) -> tuple[str, ...]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2 or name in self.sources:
                return
            if state.get(name) == 1:
                raise ValueError(f"The graph has a cycle: {' -> '.join((*path, name))}.")
            state[name] = 1
            for dep in self.nodes[name].inputs:
                visit(dep, (*path, name))
            state[name] = 2
            order.append(name)

        for name in self.nodes:
            visit(name, ())
        return tuple(order)

    def downstream(self, changed: Iterable[str]) -> frozenset[str]:
        """The nodes that depend, directly or not, on any of ``changed``."""
        hit = set(changed)
        out: set[str] = set()
        for name in self.order:
            if any(i in hit for i in self.nodes[name].inputs):
                hit.add(name)
                out.add(name)
        return frozenset(out)

    def evaluate(
        self,
        sources: Mapping[str, Any],
        memo: Memo | None = None,
        targets: Iterable[str] | None = None,
    ) -> Evaluation:
        """Run the nodes needed for ``targets`` (default: all), reusing ``memo``.

        Parameters
        ----------
        sources
            A value for every source the needed nodes read.
        memo
            Results of earlier evaluations; updated in place. None runs everything.
        targets
            Nodes whose values are wanted; only they and their ancestors run.

        Raises
        ------
        KeyError
            If a needed source is missing.
        """
        memo = memo if memo is not None else Memo()
        needed = self._ancestors(targets) if targets is not None else set(self.order)
        prints: dict[str, str] = {}
        changed_sources: set[str] = set()
        for name in sorted(self.sources):
            if not any(name in self.nodes[n].inputs for n in needed):
                continue
            if name not in sources:
                raise KeyError(f"The planner needs the source {name!r}, which was not given.")
            if memo.source_objects.get(name) is sources[name] and name in memo.source_prints:
                prints[name] = memo.source_prints[name]
                continue
            prints[name] = fingerprint(sources[name])
            if memo.source_prints.get(name) != prints[name]:
                changed_sources.add(name)
            memo.source_prints[name] = prints[name]
            memo.source_objects[name] = sources[name]
        values: dict[str, Any] = {k: sources[k] for k in prints}
        runs: list[NodeRun] = []
        for name in self.order:
            if name not in needed:
                continue
            node = self.nodes[name]
            key = _digest(
                ["node", node.name, node.version, *(f"{i}={prints[i]}" for i in node.inputs)]
            )
            prints[name] = key
            cached = memo.entries.get(name)
            if cached is not None and cached[0] == key:
                values[name] = cached[1]
                runs.append(NodeRun(name, False, 0.0, "inputs unchanged", key))
                continue
            reason = _reason(node, cached is None, changed_sources, runs)
            started = time.perf_counter()
            values[name] = node.fn(**{i: values[i] for i in node.inputs})
            runs.append(NodeRun(name, True, time.perf_counter() - started, reason, key))
            memo.entries[name] = (key, values[name])
        return Evaluation(values, prints, tuple(runs))

    def _ancestors(self, targets: Iterable[str]) -> set[str]:
        out: set[str] = set()
        stack = list(targets)
        while stack:
            name = stack.pop()
            if name not in self.nodes:
                raise KeyError(f"There is no node {name!r} in the graph.")
            if name in out:
                continue
            out.add(name)
            stack.extend(i for i in self.nodes[name].inputs if i in self.nodes)
        return out


def _reason(node: Node, first: bool, changed_sources: set[str], runs: Sequence[NodeRun]) -> str:
    if first:
        return "first run"
    ran = {r.name for r in runs if r.recomputed}
    causes = [i for i in node.inputs if i in changed_sources or i in ran]
    return "changed: " + ", ".join(causes) if causes else "code version changed"


# --------------------------------------------------------------------------- fingerprints


def fingerprint(value: Any) -> str:
    """A stable content hash of ``value`` (frames, arrays, dataclasses, mappings, scalars).

    Equal content gives equal fingerprints in any process; the order of a mapping's keys does
    not matter, the order of rows and columns of a frame does.
    """
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()[:32]


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _feed(h: Any, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, float):
        h.update(f"float:{value!r};".encode())
    elif isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        h.update(f"date:{value.isoformat()};".encode())
    elif isinstance(value, enum.Enum):
        h.update(f"enum:{value.value!r};".encode())
    elif isinstance(value, pd.DataFrame):
        h.update(f"frame:{list(map(str, value.columns))}:{list(map(str, value.dtypes))};".encode())
        if len(value):
            h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, pd.Series):
        h.update(f"series:{value.name}:{value.dtype};".encode())
        if len(value):
            h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(f"array:{value.dtype}:{value.shape};".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dc:{type(value).__name__};".encode())
        for f in dataclasses.fields(value):
            h.update(f.name.encode())
            _feed(h, getattr(value, f.name))
    elif isinstance(value, Mapping):
        h.update(b"map{")
        for k in sorted(value, key=repr):
            _feed(h, k)
            _feed(h, value[k])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(f"seq{len(value)}[".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(value, (frozenset, set)):
        h.update(b"set{")
        for item in sorted(value, key=repr):
            _feed(h, item)
        h.update(b"}")
    else:
        raise TypeError(
            f"Cannot fingerprint a {type(value).__name__}: give the planner "
            "frames, arrays, dataclasses, mappings or plain values."
        )
