"""Customer strategy: treatments' costs and tiers, initiative ranking."""

from __future__ import annotations

import dataclasses

import pytest

from planning.allocation.strategy import (
    CONTACT_COST,
    DEFAULT_INITIATIVES,
    Initiative,
    Treatment,
    default_treatment,
    quadrant,
    rank_initiatives,
    treatments_frame,
)


def test_key_accounts_are_seeded_with_tailored_terms():
    key, small = default_treatment("Key account"), default_treatment("Small")
    assert key.payment_terms_days > small.payment_terms_days
    assert key.credit_limit > small.credit_limit
    assert "service_tier" not in small.eligible_programs
    assert default_treatment("Some new segment") == Treatment("Some new segment")


def test_a_policy_costs_its_tier_plus_its_contacts_per_account_month():
    priority = Treatment("Large", service_tier="priority", contact_cadence_days=15)
    assert priority.cost_per_account_month() == pytest.approx(45.0 + CONTACT_COST * 2)
    assert priority.next_tier.name == "premium"
    assert dataclasses.replace(priority, service_tier="premium").next_tier is None


def test_a_bad_policy_says_every_problem():
    bad = Treatment(
        "Large",
        service_tier="gold",
        payment_terms_days=-1,
        credit_limit=-5,
        contact_cadence_days=0,
        eligible_programs=("acquisition", "referral"),
    )
    problems = bad.problems()
    assert len(problems) == 5
    assert problems[-1] == (
        "Treatment of Large: unknown program(s) referral (use acquisition, "
        "retention, cross_sell, win_back, service_tier)."
    )


@pytest.mark.parametrize(
    ("impact", "complexity", "expected"),
    [
        (5, 1, "Quick win"),
        (3, 2, "Quick win"),
        (4, 4, "Major project"),
        (2, 1, "Fill-in"),
        (1, 5, "Reconsider"),
    ],
)
def test_quadrants_of_the_impact_complexity_matrix(impact, complexity, expected):
    assert quadrant(impact, complexity) == expected


def test_high_impact_low_complexity_work_is_ranked_first():
    ranked = rank_initiatives(
        [
            Initiative("Big rebuild", "", 5, 5, 500_000.0),
            Initiative("Cheap fix", "", 4, 1, 5_000.0),
            Initiative("Nice to have", "", 2, 1, 1_000.0),
            Initiative("Same as cheap fix but dearer", "", 4, 1, 50_000.0),
        ]
    )
    assert ranked["name"].tolist() == [
        "Cheap fix",
        "Same as cheap fix but dearer",
        "Big rebuild",
        "Nice to have",
    ]
    assert ranked["rank"].tolist() == [1, 2, 3, 4]


def test_the_default_portfolio_is_valid_and_has_quick_wins():
    assert all(not i.problems() for i in DEFAULT_INITIATIVES)
    ranked = rank_initiatives(DEFAULT_INITIATIVES)
    assert ranked["quadrant"].iloc[0] == "Quick win"


def test_the_treatment_table_says_what_is_a_default():
    frame = treatments_frame({"Small": default_treatment("Small")})
    assert frame.loc[0, "saved"] == "default (not saved yet)"
    assert frame.loc[0, "eligible_programs"] == "acquisition, retention, cross_sell, win_back"
