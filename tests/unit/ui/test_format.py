"""How numbers are spelled on screen."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


MISSING_VALUES = [None, float("nan"), np.nan, np.float64("nan")]
MISSING_IDS = ["none", "nan", "numpy-nan", "float64-nan"]


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "$0"),
        (1_234_567, "$1,234,567"),
        (1_234.56, "$1,235"),
        (-1_200, "-$1,200"),
        (-1_234_567.2, "-$1,234,567"),
        (-0.4, "$0"),
        (-0.6, "-$1"),
        (np.float64(-42.0), "-$42"),
    ],
    ids=[
        "zero",
        "millions-in-full",
        "rounded-to-whole-units",
        "minus-sign-first",
        "negative-millions-in-full",
        "rounds-to-zero-without-a-sign",
        "rounds-to-minus-one",
        "numpy-float",
    ],
)
def test_money_is_whole_units_with_the_minus_sign_before_the_currency(value, text):
    assert fmt.money(value) == text


@pytest.mark.parametrize(
    "value, text",
    [
        (999_500, "$1.00M"),
        (-999_600, "-$1.00M"),
        (-999_499, "-$999,499"),
        (999_499_999, "$999.50M"),
        (999_500_000, "$1.00B"),
        (-1_250_000_000, "-$1.25B"),
        (1e12, "$1,000.00B"),
        (12_345_678, "$12.35M"),
    ],
    ids=[
        "a-million-from-999500",
        "negative-just-below-a-million",
        "negative-in-full",
        "just-below-a-billion",
        "rounds-up-to-a-billion",
        "negative-billions",
        "no-scale-beyond-billions",
        "two-decimals",
    ],
)
def test_money_short_switches_scale_where_the_rounded_figure_would_reach_it(value, text):
    assert fmt.money_short(value) == text


@pytest.mark.parametrize("value", MISSING_VALUES, ids=MISSING_IDS)
@pytest.mark.parametrize(
    "spell", [fmt.money, fmt.money_short, fmt.count, fmt.percent], ids=lambda f: f.__name__
)
def test_a_missing_value_reads_as_the_missing_mark(spell, value):
    assert spell(value) == fmt.MISSING == "—"


@pytest.mark.parametrize("value", MISSING_VALUES, ids=MISSING_IDS)
@pytest.mark.parametrize(
    "spell",
    [fmt.signed_percent, fmt.signed_points, fmt.signed_count],
    ids=lambda f: f.__name__,
)
def test_an_unknown_change_has_no_delta(spell, value):
    assert spell(value) is None
    assert not fmt.is_flat(spell(value))


_MONEY = re.compile(r"^(-?)\$(\d{1,3}(?:,\d{3})*)$")


@given(st.floats(-1e14, 1e14, allow_nan=False))
def test_money_reads_back_as_the_rounded_value_with_the_sign_first(value):
    text = fmt.money(value)
    match = _MONEY.match(text)
    assert match, text
    sign, digits = match.groups()
    amount = int(digits.replace(",", ""))
    assert abs((-amount if sign else amount) - value) <= 0.5 + 1e-9 * abs(value)
    assert sign == "" or amount > 0  # never "-$0"


@given(st.floats(-1e13, 1e13, allow_nan=False))
def test_money_short_keeps_the_sign_and_size_of_the_value(value):
    text = fmt.money_short(value)
    assert text.startswith("-$") == (text != fmt.money_short(abs(value)))
    match = re.match(r"^-?\$([\d,]+(?:\.\d\d)?)([MB]?)$", text)
    assert match, text
    number, suffix = match.groups()
    scale = {"": 1.0, "M": 1e6, "B": 1e9}[suffix]
    shown = float(number.replace(",", "")) * scale
    assert shown == pytest.approx(abs(value), rel=0.005 / 0.9995, abs=0.5)
    if abs(value) < 999_500:
        assert suffix == ""


@pytest.mark.parametrize(
    "value, text", [(0, "0"), (12_345, "12,345"), (-4, "-4"), (1_234.6, "1,235")]
)
def test_count_has_thousands_separators(value, text):
    assert fmt.count(value) == text


@pytest.mark.parametrize(
    "value, digits, text",
    [(31.24, 1, "31.2%"), (0, 1, "0.0%"), (1_234.5, 0, "1,234%"), (7, 2, "7.00%")],
)
def test_percent_shows_a_value_already_in_percent(value, digits, text):
    assert fmt.percent(value, digits) == text


@pytest.mark.parametrize(
    "spell, value, text",
    [
        (fmt.count, -0.4, "0"),
        (fmt.count, -0.0, "0"),
        (fmt.percent, -0.04, "0.0%"),
    ],
    ids=["count", "count-of-negative-zero", "percent"],
)
def test_a_negative_value_that_rounds_to_zero_reads_without_a_sign(spell, value, text):
    assert spell(value) == text


@pytest.mark.parametrize(
    "spell, value, text",
    [
        (fmt.signed_percent, 12.34, "+12.3%"),
        (fmt.signed_percent, -12.34, "-12.3%"),
        (fmt.signed_percent, 0.04, "0.0%"),
        (fmt.signed_percent, -0.04, "0.0%"),
        (fmt.signed_percent, -0.0, "0.0%"),
        (fmt.signed_points, 1.2, "+1.2 pts"),
        (fmt.signed_points, -0.049, "0.0 pts"),
        (fmt.signed_count, 35, "+35"),
        (fmt.signed_count, -4, "-4"),
        (fmt.signed_count, 0, "0"),
        (fmt.signed_count, 0.4, "0"),
        (fmt.signed_count, -0.4, "0"),
        (fmt.signed_count, 12_345, "+12,345"),
    ],
)
def test_signed_changes_have_a_direction_unless_they_round_to_nothing(spell, value, text):
    assert spell(value) == text
    assert fmt.is_flat(spell(value)) == (text[0] not in "+-")


@given(st.floats(-1e9, 1e9, allow_nan=False), st.integers(0, 3))
def test_no_signed_change_reads_plus_or_minus_zero(value, digits):
    for text, suffix in (
        (fmt.signed_percent(value, digits), "%"),
        (fmt.signed_points(value, digits), " pts"),
    ):
        number = float(text.removesuffix(suffix).replace(",", ""))
        if text[0] in "+-":
            assert number != 0 and (number > 0) == (value > 0)
        else:
            assert number == 0 and round(value, digits) == 0
            assert fmt.is_flat(text)
    count = fmt.signed_count(value)
    assert count == "0" or (count[0] in "+-" and count.lstrip("+-").replace(",", "") != "0")


def test_dates_read_as_month_and_day_names():
    assert fmt.month_name(dt.date(2024, 11, 5)) == "Nov 2024"
    assert fmt.month_name(pd.Timestamp("2025-01-31")) == "Jan 2025"
    assert fmt.day(dt.date(2024, 11, 2)) == "2 Nov 2024"  # no leading zero
    assert fmt.day(dt.datetime(2024, 11, 12, 23, 59)) == "12 Nov 2024"
    assert fmt.month_name(None) == fmt.day(None) == fmt.moment(None) == fmt.MISSING


def test_a_moment_names_utc_only_when_it_is_utc():
    utc = dt.datetime(2024, 11, 12, 14, 5, tzinfo=dt.UTC)
    assert fmt.moment(utc) == "12 Nov 2024 14:05 UTC"
    assert fmt.moment(utc.replace(tzinfo=None)) == "12 Nov 2024 14:05"
    paris = dt.datetime(2024, 11, 12, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert fmt.moment(paris) == "12 Nov 2024 15:05"  # shown as stored


@pytest.mark.parametrize(
    "activity, text",
    [
        ("sales_visit", "Sales visit"),
        ("order", "Order"),
        (" support_ticket ", "Support ticket"),
        ("", ""),
    ],
)
def test_activity_names_read_as_words(activity, text):
    assert fmt.activity_name(activity) == text


def test_plain_text_escapes_markdown_and_flattens_lines():
    assert fmt.plain("![x](https://tracker/)") == r"\!\[x\]\(https\:\/\/tracker\/\)"
    assert fmt.plain("a\nb\r\nc") == "a b c"
    assert fmt.plain("Café Müller") == "Café Müller"
    assert fmt.plain(42) == "42"


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


@given(st.text())
def test_plain_text_shows_every_character_literally(text):
    shown = fmt.plain(text)
    assert "\n" not in shown and "\r" not in shown
    assert _ESCAPED.sub(r"\1", shown) == " ".join(text.splitlines())
    assert not re.search(r"[!-/:-@\[-`{-~]", _ESCAPED.sub("", shown))  # nothing unescaped
