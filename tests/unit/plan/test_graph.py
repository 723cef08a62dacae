"""The planner's dependency graph: exactly-downstream recomputes, memoisation, fingerprints."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.plan.graph import Graph, Memo, Node, fingerprint


def _chain(calls: Counter) -> Graph:
    """facts -> segments -> value -> plan <- budget; calendar feeds plan too."""

    def step(name, fn):
        def run(**kw):
            calls[name] += 1
            return fn(**kw)

        return run

    return Graph(
        [
            Node("segments", ("facts",), step("segments", lambda facts: facts * 2)),
            Node("value", ("segments",), step("value", lambda segments: segments + 1)),
            Node(
                "allocation",
                ("value", "budget"),
                step("allocation", lambda value, budget: value.sum() + budget),
            ),
            Node(
                "plan",
                ("allocation", "calendar"),
                step("plan", lambda allocation, calendar: (allocation, calendar)),
            ),
        ]
    )


SOURCES = {"facts": np.arange(5.0), "budget": 100.0, "calendar": dt.date(2026, 10, 31)}


def test_a_first_run_computes_every_node_once():
    calls: Counter = Counter()
    result = _chain(calls).evaluate(SOURCES, Memo())
    assert result.recomputed == ("segments", "value", "allocation", "plan")
    assert result.values["plan"] == (125.0, dt.date(2026, 10, 31))  # sum(2x+1) + 100
    assert all(r.reason == "first run" for r in result.runs)


def test_the_same_inputs_recompute_nothing():
    calls: Counter = Counter()
    graph, memo = _chain(calls), Memo()
    first = graph.evaluate(SOURCES, memo)
    again = graph.evaluate(dict(SOURCES), memo)
    assert again.recomputed == ()
    assert again.fingerprints["plan"] == first.fingerprints["plan"]
    assert calls == Counter({"segments": 1, "value": 1, "allocation": 1, "plan": 1})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budget": 250.0}, ("allocation", "plan")),
        ({"calendar": dt.date(2026, 11, 30)}, ("plan",)),
        ({"facts": np.arange(5.0) + 1}, ("segments", "value", "allocation", "plan")),
    ],
)
def test_a_change_recomputes_exactly_the_nodes_downstream_of_it(change, expected):
    calls: Counter = Counter()
    graph, memo = _chain(calls), Memo()
    graph.evaluate(SOURCES, memo)
    calls.clear()
    result = graph.evaluate({**SOURCES, **change}, memo)
    assert result.recomputed == expected
    assert set(calls) == set(expected) and all(n == 1 for n in calls.values())
    assert set(expected) == graph.downstream(change)
    changed = next(iter(change))
    assert all(changed in r.reason or "changed:" in r.reason for r in result.runs if r.recomputed)


def test_only_the_ancestors_of_a_target_run():
    calls: Counter = Counter()
    result = _chain(calls).evaluate({"facts": np.arange(3.0)}, Memo(), targets=["value"])
    assert result.recomputed == ("segments", "value")


def test_a_missing_source_and_a_cycle_are_named():
    with pytest.raises(KeyError, match="source 'budget'"):
        _chain(Counter()).evaluate({"facts": np.arange(2.0), "calendar": 1})
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        Graph([Node("a", ("b",), lambda b: b), Node("b", ("a",), lambda a: a)])


@dataclass(frozen=True)
class _Settings:
    horizon: int
    rate: float


def test_fingerprints_are_equal_for_equal_content_and_differ_otherwise():
    frame = pd.DataFrame({"segment": ["A", "B"], "revenue": [1.0, 2.5]})
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) != fingerprint(frame.assign(revenue=[1.0, 2.6]))
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint(_Settings(12, 0.1)) != fingerprint(_Settings(12, 0.2))
    with pytest.raises(TypeError, match="Cannot fingerprint a object"):
        fingerprint(object())


def test_a_fingerprint_is_the_same_in_another_process():
    code = (
        "import pandas as pd; from planning.plan.graph import fingerprint; "
        "print(fingerprint(pd.DataFrame({'x': [1.5, 2.0], 'y': ['a', 'b']})))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == fingerprint(pd.DataFrame({"x": [1.5, 2.0], "y": ["a", "b"]}))


@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), max_size=20),
    st.floats(min_value=0, max_value=1e9),
)
def test_evaluating_twice_gives_the_same_values_and_fingerprints(facts, budget):
    sources = {"facts": np.array(facts), "budget": budget, "calendar": dt.date(2026, 1, 31)}
    one = _chain(Counter()).evaluate(sources)
    two = _chain(Counter()).evaluate(sources)
    assert one.fingerprints == two.fingerprints
    assert one.values["plan"] == two.values["plan"]
