"""Segments & profitability as the page sees it: customer P&L, segments and migrations, cached.

Loaders are ``st.cache_data`` keyed on the store URL and fingerprint (see ui.data), so a widget
click reruns the page without going back to the store, and a new import is picked up at once.
Profit assumptions travel as their plain values so the cache key is stable. The lifecycle lens
takes P(alive) from the customer-value scoring (ui.value_data), so this page and the Customer
value page agree on who is at risk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Final

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import profit, segments, value
from planning.core import AttributeLens, Lens
from planning.core import columns as C
from ui import value_data
from ui.data import CACHE_ENTRIES, CACHE_TTL, Fingerprint, _key

ASSUMPTIONS_KEY: Final = "segments_assumptions"
PERIODS: Final[dict[str, int | None]] = {
    "Last 12 months": 12,
    "Last 6 months": 6,
    "Last 3 months": 3,
    "Last 24 months": 24,
    "All history": None,
}

Assumed = tuple[float, float, float, int]


def current_assumptions() -> profit.ProfitAssumptions:
    """The profit assumptions chosen on the page (the documented defaults until changed)."""
    return st.session_state.get(ASSUMPTIONS_KEY) or profit.ProfitAssumptions()


def period_start(period: str, as_of: dt.date) -> dt.date | None:
    """First day of the named period ending on ``as_of`` (None: all history)."""
    months = PERIODS[period]
    return None if months is None else segments.window_start(as_of, months)


def _plain(assumptions: profit.ProfitAssumptions) -> Assumed:
    return dataclasses.astuple(assumptions)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner="Adding up customer P&L…")
def _pnl(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    start: dt.date | None,
    end: dt.date,
    assumed: Assumed,
) -> pd.DataFrame:
    return profit.customer_pnl(
        _engine, start=start, end=end, assumptions=profit.ProfitAssumptions(*assumed)
    )


def load_pnl(
    engine: Engine, start: dt.date | None, end: dt.date, assumptions: profit.ProfitAssumptions
) -> pd.DataFrame:
    """:func:`planning.profit.profitability.customer_pnl`, cached until the next import."""
    return _pnl(engine, *_key(engine), start, end, _plain(assumptions))


def load_p_alive(engine: Engine, as_of: dt.date) -> pd.Series:
    """P(alive) per customer from the customer-value scoring (cached there).

    Raises ValueError when the store holds too little history for the value models.
    """
    scored = value_data.load_scores(engine, as_of, value_data.current_settings())
    return scored.scores.set_index(C.CUSTOMER_ID)[value.P_ALIVE]


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner="Assigning segments…")
def _assignment(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: Lens,
    as_of: dt.date,
    start: dt.date | None,
    attribute: AttributeLens,
    rule_set: str,
    rules: tuple,
    assumed: Assumed,
    _p_alive: pd.Series | None,
) -> pd.DataFrame:
    pnl = None
    if lens != "lifecycle":  # the period's P&L also lists the known customers
        pnl = _pnl(_engine, url, print_, start, as_of, assumed)
    return segments.assign_segments(
        _engine,
        lens,
        as_of,
        attribute=attribute,
        rule_set=rule_set,
        p_alive=_p_alive,
        assumptions=profit.ProfitAssumptions(*assumed),
        pnl=pnl,
    )


def load_assignment(
    engine: Engine,
    lens: Lens,
    as_of: dt.date,
    start: dt.date | None,
    *,
    attribute: AttributeLens = "size",
    rule_set: str = segments.DEFAULT_RULE_SET,
    assumptions: profit.ProfitAssumptions,
) -> pd.DataFrame:
    """:func:`planning.segments.lenses.assign_segments` on ``as_of``; value, RFM and rule lenses use
    the P&L of ``start..as_of``. Raises ValueError as the engine does."""
    p_alive = load_p_alive(engine, as_of) if lens == "lifecycle" else None
    return _assignment(
        engine,
        *_key(engine),
        lens,
        as_of,
        start,
        attribute,
        rule_set,
        _rules_key(engine, lens),
        _plain(assumptions),
        p_alive,
    )


@st.cache_data(
    ttl=CACHE_TTL,
    max_entries=CACHE_ENTRIES,
    show_spinner="Comparing the segments on the two dates…",
)
def _migration(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: Lens,
    from_date: dt.date,
    to_date: dt.date,
    attribute: AttributeLens,
    rule_set: str,
    rules: tuple,
    assumed: Assumed,
    _p_alive_from: pd.Series | None,
    _p_alive_to: pd.Series | None,
) -> pd.DataFrame:
    return segments.migration_matrix(
        _engine,
        lens,
        from_date,
        to_date,
        p_alive_from=_p_alive_from,
        p_alive_to=_p_alive_to,
        assumptions=profit.ProfitAssumptions(*assumed),
        attribute=attribute,
        rule_set=rule_set,
    )


def load_migration(
    engine: Engine,
    lens: Lens,
    from_date: dt.date,
    to_date: dt.date,
    *,
    attribute: AttributeLens = "size",
    rule_set: str = segments.DEFAULT_RULE_SET,
    assumptions: profit.ProfitAssumptions,
) -> pd.DataFrame:
    """:func:`planning.segments.lenses.migration_matrix`, cached. Raises ValueError as it does."""
    alive: tuple[pd.Series | None, pd.Series | None] = (None, None)
    if lens == "lifecycle":
        alive = (load_p_alive(engine, from_date), load_p_alive(engine, to_date))
    return _migration(
        engine,
        *_key(engine),
        lens,
        from_date,
        to_date,
        attribute,
        rule_set,
        _rules_key(engine, lens),
        _plain(assumptions),
        *alive,
    )


def _rules_key(engine: Engine, lens: Lens) -> tuple:
    """Saving rules is not an import, so the rules lens is also keyed on the rules' version."""
    return segments.rules_version(engine) if lens == "rules" else ()


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _rule_sets(_engine: Engine, url: str, print_: Fingerprint, rules: tuple) -> list[str]:
    return segments.rule_sets(_engine)


def load_rule_sets(engine: Engine) -> list[str]:
    """Names of the rule sets saved in the store."""
    return _rule_sets(engine, *_key(engine), segments.rules_version(engine))


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _unrated(
    _engine: Engine, url: str, print_: Fingerprint, start: dt.date | None, end: dt.date
) -> pd.DataFrame:
    return profit.unrated_activities(_engine, start, end)


def load_unrated_activities(engine: Engine, start: dt.date | None, end: dt.date) -> pd.DataFrame:
    """:func:`planning.profit.costing.unrated_activities` of the period, cached."""
    return _unrated(engine, *_key(engine), start, end)
