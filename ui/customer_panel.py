"""The single customer view as a panel any page can open: pick a customer, see everything.

Used by the Customer value page (from the at-risk and headroom lists) and the Segments page
(from the loss-makers). The data comes from :func:`planning.segments.customer_view.view_customer`
through a cached loader, so reopening a customer is instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import segments, value
from planning.core import columns as C
from ui import format as fmt
from ui import value_charts
from ui.tables import money_column
from ui.value_data import load_customer_view

_NO_CHOICE = "—"


def pick_customer(
    engine: Engine, candidates: Sequence[str], key: str, label: str = "Open a customer"
) -> str | None:
    """A picker over ``candidates`` plus a search box; returns the chosen id or None."""
    left, right = st.columns([1, 1])
    chosen = left.selectbox(
        label, [_NO_CHOICE, *candidates], key=f"{key}_pick", help="Customers from the lists above."
    )
    typed = right.text_input(
        "…or search by id or name",
        key=f"{key}_search",
        placeholder="e.g. C000123 or Granite",
        max_chars=128,
    )
    if typed.strip():
        found = segments.find_customers(engine, typed)
        if not found:
            right.caption(
                f"No customer id starts with, and no name contains, “{fmt.plain(typed)}”."
            )
            return None
        if len(found) > 1:
            return right.selectbox(f"{len(found)} matches", found, key=f"{key}_matches")
        return found[0]
    return None if chosen == _NO_CHOICE else chosen


def render_customer_panel(
    engine: Engine, customer_id: str, as_of: dt.date, scored: value.CustomerValue | None
) -> None:
    """Draw the single customer view of ``customer_id`` as of ``as_of``."""
    with st.spinner(f"Gathering everything about {customer_id}…"):
        try:
            view = load_customer_view(engine, customer_id, as_of, scored)
        except KeyError as exc:
            st.warning(str(exc.args[0]), icon=":material/person_off:")
            return
    attrs = view.attributes
    title = attrs.get(C.NAME) or customer_id
    st.subheader(f"{title} · {customer_id}")
    described = [str(attrs[k]) for k in (C.SIZE, C.INDUSTRY, C.REGION, C.CHANNEL) if attrs[k]]
    terms = attrs.get(C.PAYMENT_TERMS_DAYS)
    st.caption(
        " · ".join(described + ([f"{terms}-day terms"] if terms is not None else []))
        or "No attributes imported for this customer."
    )
    _value_cards(view)
    if view.monthly.empty:
        st.info("No sales or activities in the last two years.", icon=":material/info:")
    else:
        st.plotly_chart(
            value_charts.customer_months_figure(view.monthly, customer_id),
            key=f"customer_{customer_id}_months",
        )
    history = _history_table(view.segment_history)
    tabs = st.tabs(
        [
            "Segments over time",
            f"Transactions ({fmt.count(view.transaction_count)})",
            f"Activities ({fmt.count(view.activity_count)})",
        ]
    )
    with tabs[0]:
        if history.empty:
            st.caption("No segment history: the customer had not bought yet on those dates.")
        else:
            st.dataframe(history, hide_index=True)
    with tabs[1]:
        _rows(view.transactions, view.transaction_count, money=(C.AMOUNT, C.COST))
    with tabs[2]:
        _rows(view.activities, view.activity_count, money=())


def _value_cards(view: segments.CustomerView) -> None:
    if view.scores is None:
        st.caption(
            f"No value scores: the customer has no purchase on or before {fmt.day(view.as_of)}."
        )
        return
    s = view.scores
    cards = (
        (
            "P(alive)",
            f"{s[value.P_ALIVE]:.0%}",
            "Probability the customer is still buying (BG/NBD).",
        ),
        (
            "CLV",
            fmt.money_short(s[value.CLV]),
            "Discounted expected contribution over the horizon, after cost-to-serve and financing.",
        ),
        (
            "Potential",
            fmt.money_short(s[value.POTENTIAL]),
            "CLV if the customer spent their wallet: "
            "what similar customers spend at the 80th percentile.",
        ),
        ("Headroom", fmt.money_short(s[value.HEADROOM]), "Potential minus CLV."),
        ("Last 12 months' spend", fmt.money_short(s[value.YEARLY_SPEND]), None),
    )
    for column, (label, text, help_) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(label, text, help=help_, border=True)


def _history_table(history: pd.DataFrame) -> pd.DataFrame:
    if history.empty:
        return history
    table = history.pivot(index=C.DATE, columns="lens", values=C.SEGMENT).reset_index()
    table[C.DATE] = table[C.DATE].dt.strftime("%d %b %Y")
    return table.rename(
        columns={C.DATE: "As of", "value": "Value tier", "lifecycle": "Lifecycle stage"}
    )


def _rows(frame: pd.DataFrame, total: int, money: tuple[str, ...]) -> None:
    if frame.empty:
        st.caption("None on or before the as-of date.")
        return
    if total > len(frame):
        st.caption(f"The newest {len(frame):,} of {total:,}.")
    config = {m: money_column(m.title()) for m in money if m in frame}
    config[C.DATE] = st.column_config.DateColumn("Date", format="D MMM YYYY")
    st.dataframe(frame.dropna(axis=1, how="all"), hide_index=True, column_config=config, height=300)
