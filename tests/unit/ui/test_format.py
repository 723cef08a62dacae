"""How numbers are spelled on screen."""

from __future__ import annotations

import pytest

from ui import format as fmt


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "$0"),
        (712_345.4, "$712,345"),
        (-1_200, "-$1,200"),
        (999_499, "$999,499"),
        (999_600, "$1.00M"),
        (7_156_213, "$7.16M"),
        (-2_500_000, "-$2.50M"),
        (1_250_000_000, "$1.25B"),
        (None, fmt.MISSING),
    ],
    ids=[
        "zero",
        "thousands",
        "negative",
        "just-below-a-million",
        "rounds-up-to-a-million",
        "millions",
        "negative-millions",
        "billions",
        "missing",
    ],
)
def test_money_fits_a_metric_card(value, text):
    assert fmt.money_short(value) == text
