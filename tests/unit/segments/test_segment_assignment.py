"""The pure parts of the segment lenses: each one partitions the customers it is given."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.core import columns as C
from planning.segments.lenses import (
    RFM_GROUPS,
    ValueTiers,
    attribute_segments,
    rfm_scores,
    value_tiers,
    window_start,
)
from planning.segments.lifecycle import (
    FIRST_PURCHASE,
    FIRST_SEEN,
    LAST_PURCHASE,
    LAST_RETURN,
    STAGES,
    LifecycleRules,
    lifecycle_stages,
)
from planning.segments.rules import OTHER, Condition, SegmentRule, rule_segments

AS_OF = dt.date(2024, 12, 31)


def _contribution(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {C.CUSTOMER_ID: [f"C{k:03d}" for k in range(len(values))], "contribution": values}
    )


def test_value_tiers_cut_the_profitable_customers_by_share_and_set_losers_apart():
    pnl = _contribution([float(v) for v in range(100, 0, -1)] + [0.0, -5.0])
    tiers = value_tiers(pnl)
    counts = tiers["segment"].value_counts(sort=False).to_dict()
    assert counts == {"Platinum": 5, "Gold": 15, "Silver": 30, "Bronze": 51, "Loss-making": 1}
    assert tiers.set_index(C.CUSTOMER_ID)["segment"][["C000", "C004", "C005", "C100"]].tolist() == [
        "Platinum",
        "Platinum",
        "Gold",
        "Bronze",
    ]
    assert list(tiers["segment"].cat.categories) == [
        "Platinum",
        "Gold",
        "Silver",
        "Bronze",
        "Loss-making",
    ]


def test_custom_value_tiers_and_their_validation():
    tiers = ValueTiers(cuts=(("Top", 0.5),), rest="Others", loss_making="Losers")
    out = value_tiers(_contribution([3.0, 2.0, 1.0, 0.5, -1.0]), tiers)
    assert out["segment"].tolist() == ["Top", "Top", "Others", "Others", "Losers"]
    with pytest.raises(ValueError, match="add up to 1 or less"):
        ValueTiers(cuts=(("A", 0.6), ("B", 0.6)))
    with pytest.raises(ValueError, match="names must differ"):
        ValueTiers(cuts=(("Gold", 0.1),), rest="Gold")


def test_rfm_scores_quintiles_and_groups():
    n = 10
    features = pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"C{k}" for k in range(n + 1)],
            "recency_days": [*range(1, n + 1), np.nan],  # C0 bought most recently
            "frequency": [*range(n, 0, -1), 0],  # C0 buys most often
            "revenue": [*(100.0 * k for k in range(n, 0, -1)), 0.0],
        }
    )
    out = rfm_scores(features).set_index(C.CUSTOMER_ID)
    assert out.loc["C0", "score"] == "R5F5M5" and out.loc["C0", "segment"] == "Champions"
    assert out.loc["C9", "score"] == "R1F1M1" and out.loc["C9", "segment"] == "Lost"
    assert out.loc["C10", "score"] == "" and out.loc["C10", "segment"] == "No purchases"
    assert list(out["segment"].cat.categories) == list(RFM_GROUPS)


def test_equal_values_share_an_rfm_score():
    features = pd.DataFrame(
        {
            C.CUSTOMER_ID: list("abcd"),
            "recency_days": [5.0] * 4,
            "frequency": [1, 1, 1, 9],
            "revenue": [1.0, 2.0, 3.0, 4.0],
        }
    )
    scores = rfm_scores(features)["score"].str[:4].tolist()
    assert scores[:3] == ["R3F2"] * 3 and scores[3] == "R3F5"


def test_attribute_segments_order_sizes_naturally_and_name_the_missing():
    customers = pd.DataFrame(
        {C.CUSTOMER_ID: list("abcde"), "size": ["Large", None, "Small", " ", "Enterprise"]}
    )
    out = attribute_segments(customers, "size")
    assert out["segment"].tolist() == ["Large", "Unassigned", "Small", "Unassigned", "Enterprise"]
    assert list(out["segment"].cat.categories) == ["Small", "Large", "Enterprise", "Unassigned"]


def _history(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=[C.CUSTOMER_ID, FIRST_SEEN, FIRST_PURCHASE, LAST_PURCHASE, LAST_RETURN]
    )
    for col in frame.columns[1:]:
        frame[col] = pd.to_datetime(frame[col])
    return frame


def test_lifecycle_stages_by_their_documented_rules():
    history = _history(
        [
            ("new", "2024-11-15", "2024-11-15", "2024-12-01", None),
            # Six empty months (Jul-Dec) have ended on 31 Dec; Aug-Dec are only five.
            ("lapsed", "2022-01-01", "2022-01-01", "2024-06-30", None),
            ("not-lapsed", "2022-01-01", "2022-01-01", "2024-07-01", None),
            ("risky", "2022-01-01", "2022-01-01", "2024-10-01", None),
            ("won-back", "2022-01-01", "2022-01-01", "2024-12-20", "2024-07-01"),
            ("old-return", "2022-01-01", "2022-01-01", "2024-12-20", "2024-06-01"),
            ("never", None, None, None, None),
        ]
    )
    p_alive = pd.Series({"risky": 0.2, "not-lapsed": 0.9, "won-back": 0.8, "nobody": 0.1})

    out = lifecycle_stages(history, AS_OF, p_alive).set_index(C.CUSTOMER_ID)["segment"]

    assert out.to_dict() == {
        "new": "New",
        "lapsed": "Lapsed",
        "not-lapsed": "Active",
        "risky": "At risk",
        "won-back": "Won back",
        "old-return": "Active",
        "never": "Lapsed",
    }


def test_at_risk_follows_the_probability_not_the_days_since_the_last_purchase():
    history = _history(
        [
            ("weekly", "2022-01-01", "2022-01-01", "2024-11-01", None),
            ("yearly", "2022-01-01", "2022-01-01", "2024-08-01", None),
        ]
    )
    p_alive = pd.Series({"weekly": 0.1, "yearly": 0.95})
    out = lifecycle_stages(history, AS_OF, p_alive)["segment"].tolist()
    assert out == ["At risk", "Active"]  # the more recent buyer is the one at risk
    assert lifecycle_stages(history, AS_OF, None)["segment"].tolist() == ["Active", "Active"]
    relaxed = LifecycleRules(at_risk_below=0.05)
    assert lifecycle_stages(history, AS_OF, p_alive, relaxed)["segment"].tolist() == [
        "Active",
        "Active",
    ]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"new_days": 0}, "new_days"),
        ({"at_risk_below": 1.0}, "at_risk_below"),
        ({"won_back_months": 0}, "won_back_months"),
    ],
    ids=["new-days", "at-risk", "won-back"],
)
def test_bad_lifecycle_rules_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        LifecycleRules(**kwargs)


FEATURES = pd.DataFrame(
    {
        C.CUSTOMER_ID: list("abcde"),
        "size": ["Large", "Small", None, "Small", "Key account"],
        "region": ["North", "South", "North", None, "East"],
        "industry": [None] * 5,
        "channel": [None] * 5,
        "contribution": [500.0, -20.0, 0.0, 80.0, 9000.0],
        "revenue": [5000.0, 100.0, 0.0, 400.0, 90000.0],
        "frequency": [12, 3, 0, 2, 40],
        "recency_days": [10.0, 200.0, np.nan, 45.0, 3.0],
    }
)


def test_rules_assign_the_first_match_and_others_to_other():
    rules = [
        SegmentRule(
            "Strategic",
            (
                Condition("size", "in", ("Large", "Key account")),
                Condition("contribution", ">=", 1000),
            ),
        ),
        SegmentRule("Losing", (Condition("contribution", "<", 0),)),
        SegmentRule("Big", (Condition("size", "in", ["Large", "Key account"]),)),
        SegmentRule(
            "Recent North",
            (Condition("region", "==", "North"), Condition("recency_days", "<=", 30)),
        ),
    ]
    out = rule_segments(FEATURES, rules)
    assert out["segment"].tolist() == ["Big", "Losing", OTHER, OTHER, "Strategic"]
    assert list(out["segment"].cat.categories) == [
        "Strategic",
        "Losing",
        "Big",
        "Recent North",
        OTHER,
    ]


def test_missing_values_never_satisfy_a_condition_except_not_in():
    out = rule_segments(
        FEATURES,
        [
            SegmentRule("Never", (Condition("recency_days", ">", -1),)),
            SegmentRule("Not South", (Condition("region", "not in", ("South",)),)),
        ],
    )
    assert out["segment"].tolist() == ["Never", "Never", "Not South", "Never", "Never"]


def test_rules_round_trip_through_json():
    rule = SegmentRule(
        "Big", (Condition("size", "in", ("Large",)), Condition("recency_days", "<", 90))
    )
    assert SegmentRule.from_json("Big", rule.to_json()) == rule
    assert rule.to_json() == (
        '[{"field": "size", "op": "in", "value": ["Large"]}, '
        '{"field": "recency_days", "op": "<", "value": 90}]'
    )


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Condition("colour", "==", "red"), "Unknown rule field 'colour'"),
        (lambda: Condition("size", ">", "Large"), "Operator '>' does not apply to size"),
        (lambda: Condition("contribution", "in", ("1",)), "does not apply to contribution"),
        (lambda: Condition("size", "in", ()), "needs a list of text values"),
        (lambda: Condition("frequency", ">", "lots"), "needs a number"),
        (lambda: SegmentRule(" "), "needs a name"),
        (lambda: SegmentRule("Other"), "kept for the customers no rule matches"),
        (lambda: SegmentRule.from_json("Bad", "{}"), "Segment rule 'Bad' is invalid"),
        (lambda: SegmentRule.from_json("Bad", '[{"field": "size"}]'), "Segment rule 'Bad'"),
    ],
    ids=[
        "unknown-field",
        "text-compared",
        "number-in-list",
        "empty-list",
        "text-number",
        "blank-name",
        "other-name",
        "json-not-list",
        "json-no-op",
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_window_start_is_the_day_after_the_same_day_months_earlier():
    assert window_start(dt.date(2024, 12, 31), 12) == dt.date(2024, 1, 1)
    assert window_start(dt.date(2024, 3, 15), 1) == dt.date(2024, 2, 16)
    with pytest.raises(ValueError, match="at least 1 month"):
        window_start(AS_OF, 0)


# --------------------------------------------------------------------------- properties

ids = st.lists(st.text("abcdefgh", min_size=1, max_size=6), min_size=1, max_size=40, unique=True)
money = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
maybe_day = st.one_of(st.none(), st.dates(dt.date(2019, 1, 1), AS_OF))


def _is_partition(customers: list[str], out: pd.DataFrame, categories: tuple | list) -> None:
    assert out[C.CUSTOMER_ID].tolist() == customers  # everyone, once, in order
    assert out["segment"].notna().all()
    assert set(out["segment"]) <= set(categories)


@settings(max_examples=150, deadline=None)
@given(
    ids.flatmap(lambda c: st.tuples(st.just(c), st.lists(money, min_size=len(c), max_size=len(c))))
)
def test_value_tiers_partition_the_customers(data):
    customers, values = data
    out = value_tiers(pd.DataFrame({C.CUSTOMER_ID: customers, "contribution": values}))
    _is_partition(customers, out, ValueTiers().names)
    assert (out["segment"] == "Loss-making").sum() == sum(v < 0 for v in values)


@settings(max_examples=150, deadline=None)
@given(
    ids.flatmap(
        lambda c: st.lists(
            st.tuples(st.one_of(st.none(), st.integers(0, 2000)), st.integers(0, 99), money),
            min_size=len(c),
            max_size=len(c),
        ).map(lambda rows: (c, rows))
    )
)
def test_rfm_partitions_the_customers(data):
    customers, rows = data
    features = pd.DataFrame(
        {
            C.CUSTOMER_ID: customers,
            "recency_days": [np.nan if r is None else float(r) for r, _, _ in rows],
            "frequency": [f for _, f, _ in rows],
            "revenue": [m for _, _, m in rows],
        }
    )
    out = rfm_scores(features)
    _is_partition(customers, out, RFM_GROUPS)
    assert ((out["score"] == "") == features["recency_days"].isna()).all()


@settings(max_examples=150, deadline=None)
@given(
    ids.flatmap(
        lambda c: st.lists(
            st.one_of(st.none(), st.sampled_from(["Small", "Large", "", "Zeta"])),
            min_size=len(c),
            max_size=len(c),
        ).map(lambda v: (c, v))
    )
)
def test_attributes_partition_the_customers(data):
    customers, values = data
    out = attribute_segments(pd.DataFrame({C.CUSTOMER_ID: customers, "size": values}), "size")
    _is_partition(customers, out, out["segment"].cat.categories)
    assert (out["segment"] == "Unassigned").sum() == sum(not v for v in values)


@settings(max_examples=150, deadline=None)
@given(
    ids.flatmap(
        lambda c: st.lists(
            st.tuples(maybe_day, maybe_day, maybe_day, st.one_of(st.none(), st.floats(0, 1))),
            min_size=len(c),
            max_size=len(c),
        ).map(lambda r: (c, r))
    )
)
def test_lifecycle_partitions_the_customers(data):
    customers, rows = data
    history = _history(
        [
            (cid, first, first, last, ret)
            for cid, (first, last, ret, _) in zip(customers, rows, strict=True)
        ]
    )
    p_alive = pd.Series(
        {cid: p for cid, (*_, p) in zip(customers, rows, strict=True) if p is not None},
        dtype="float64",
    )
    _is_partition(customers, lifecycle_stages(history, AS_OF, p_alive), STAGES)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["contribution", "frequency", "recency_days"]),
            st.sampled_from(["<", ">=", "!="]),
            st.integers(-100, 100),
        ),
        max_size=5,
    )
)
def test_rules_partition_the_customers(conditions):
    rules = [
        SegmentRule(f"R{k}", (Condition(field, op, value),))
        for k, (field, op, value) in enumerate(conditions)
    ]
    out = rule_segments(FEATURES, rules)
    _is_partition(FEATURES[C.CUSTOMER_ID].tolist(), out, [r.name for r in rules] + [OTHER])
