"""Tables and numbers of the Forecast page: pure functions from planning's frames to what is shown.

Each builder returns a small frame with readable column names and the ``st.column_config``
that formats it, so the page only places them. Money reads ``$1,234,567``, counts ``1,234``,
shares ``97%``.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import streamlit as st

from planning import forecast
from planning.forecast import (
    BENCHMARK_MASE,
    BIAS,
    CUSTOMERS,
    EXPECTED_ALIVE,
    EXPECTED_ORDERS,
    EXPECTED_REVENUE,
    GAP,
    GAP_SHARE,
    MASE,
    MEAN,
    METHOD,
    METHOD_LABELS,
    MODEL,
    PERIOD,
    SERIES,
    TOP_DOWN,
    TOTAL,
    USED,
    WAPE,
    ForecastResult,
    coverage,
    hi,
    lo,
    summarize_accuracy,
)
from ui import format as fmt
from ui.tables import count_column, money_column, share_column

MODEL_LABELS: Final = {
    "seasonal_naive": "Seasonal naive",
    "naive": "Naive",
    "ets": "ETS",
    "arima": "ARIMA",
    "theta": "Theta",
    "pooled_seasonal": "Company seasonality, SES",
    "pooled_theta": "Company seasonality, Theta",
    "pooled_damped": "Company seasonality, damped trend",
}


def model_label(model: str) -> str:
    """``combo:ets+theta`` -> ``ETS + Theta``; ``ets`` -> ``ETS``."""
    names = model.removeprefix("combo:").split("+")
    return " + ".join(MODEL_LABELS.get(n, n) for n in names)


def value_text(metric: str, value: float | None) -> str:
    """A forecast number as it reads on a card: money for revenue, a count otherwise."""
    return fmt.money_short(value) if metric == "revenue" else fmt.count(value)


SHORT_LABELS: Final = {
    "seasonal_naive": "Last year",
    "naive": "Last value",
    "ets": "ETS",
    "arima": "ARIMA",
    "theta": "Theta",
    "pooled_seasonal": "Company seasonality, SES",
    "pooled_theta": "Company seasonality, Theta",
    "pooled_damped": "Company seasonality, damped trend",
}


def short_model_label(model: str) -> str:
    """What fits a card: ``ETS``, ``Last year`` (seasonal naive), ``Mix`` for a combination."""
    return "Mix" if model.startswith("combo:") else SHORT_LABELS.get(model, model)


def forecast_cards(result: ForecastResult, series: str) -> list[tuple[str, str, str, str | None]]:
    """(label, value, help, note under the value) of the headline cards for one series."""
    unit = "months" if result.freq == "M" else "weeks"
    label = result.metric if result.metric != "customers" else "active customers"
    row = result.models.set_index(SERIES).loc[series]
    assert isinstance(row, pd.Series)  # one row per series
    own = result.forecast[result.forecast[SERIES] == series]
    first = own.iloc[0]
    when = (
        fmt.month_name(first[PERIOD])
        if result.freq == "M"
        else f"the week of {fmt.day(first[PERIOD])}"
    )
    names = 1 + len(result.segments)
    return [
        (
            f"Next {unit[:-1]}",
            value_text(result.metric, first[MEAN]),
            f"Forecast {label} for {when}.",
            f"80%: {value_text(result.metric, first[lo(80)])} – "
            f"{value_text(result.metric, first[hi(80)])}",
        ),
        (
            f"Next {result.horizon} {unit}",
            value_text(result.metric, own[MEAN].sum()),
            f"The forecast summed over the {result.horizon} {unit} after the last whole one.",
            None,
        ),
        (
            "Model",
            short_model_label(str(row[MODEL])),
            str(row["reason"]),
            " + ".join(SHORT_LABELS.get(m, m) for m in row[MODEL].removeprefix("combo:").split("+"))
            if row[MODEL].startswith("combo:")
            else str(row[USED]),
        ),
        (
            "Backtest accuracy",
            fmt.percent((1 - float(row[WAPE])) * 100, 0) if pd.notna(row[WAPE]) else fmt.MISSING,
            "1 − WAPE of the chosen model on the backtest origins: forecasts of data no fit had "
            "seen.",
            None,
        ),
        (
            "Model fits",
            fmt.count(result.model_fits),
            f"{len(result.refitted)} of {names} series refitted in {result.seconds:.1f} s; the "
            "others came from the cache because their numbers had not changed."
            + (
                f" Besides, {fmt.count(result.pooled_fits)} quick fits of the company-seasonality "
                f"candidates ({result.pooled_seconds:.1f} s), re-estimated on every run because "
                "they follow the company total."
                if result.pooled_fits
                else ""
            ),
            f"{len(result.refitted)} of {names} series refitted",
        ),
    ]


def calibration_note(result: ForecastResult) -> str:
    """One sentence on how the intervals were calibrated on the backtest."""
    factors = {lv: f for lv, f in result.interval_factors.items() if f != 1.0}
    if not factors:
        return (
            "The intervals are the models' own: the backtest was too short to calibrate "
            "them (calibration needs 20 backtest forecasts from dates with two full "
            "seasons of history before them)."
        )
    widths = " and ".join(f"{lv}% ×{f:.2f}" for lv, f in sorted(factors.items()))
    return (
        f"The intervals are calibrated on the same backtest (half-widths {widths}) so "
        "that each held its nominal share of the actuals there."
    )


def _number_column(metric: str, label: str, help: str | None = None):
    return money_column(label, help) if metric == "revenue" else count_column(label, help)


def forecast_table(result: ForecastResult, series: str) -> tuple[pd.DataFrame, dict]:
    """One series' forecast: period, forecast, and the 80% and 95% bounds."""
    rows = result.forecast[result.forecast[SERIES] == series]
    table = pd.DataFrame(
        {
            "Period": [
                fmt.month_name(p) if result.freq == "M" else f"Week of {fmt.day(p)}"
                for p in rows[PERIOD]
            ],
            "Forecast": rows[MEAN].to_numpy(),
            "80% low": rows[lo(80)].to_numpy(),
            "80% high": rows[hi(80)].to_numpy(),
            "95% low": rows[lo(95)].to_numpy(),
            "95% high": rows[hi(95)].to_numpy(),
        }
    )
    config = {c: _number_column(result.metric, c) for c in table.columns if c != "Period"}
    return table, config


def backtest_table(result: ForecastResult, series: str) -> tuple[pd.DataFrame, dict]:
    """Every candidate's backtest accuracy for one series, best first; the chosen one marked."""
    acc_rows = result.accuracy[result.accuracy[SERIES] == series]
    summary = summarize_accuracy(acc_rows).sort_values(MASE, na_position="last")
    chosen = result.models.set_index(SERIES).loc[series, MODEL]
    table = pd.DataFrame(
        {
            "Model": [
                model_label(m) + ("  ✓ chosen" if m == chosen else "") for m in summary[MODEL]
            ],
            "MASE": summary[MASE].to_numpy(),
            "Accuracy (1 − WAPE)": (1 - summary[WAPE]).to_numpy(),
            "Bias": summary[BIAS].to_numpy(),
            "80% interval held": summary[coverage(80)].to_numpy(),
            "95% interval held": summary[coverage(95)].to_numpy(),
        }
    )
    config = {
        "MASE": st.column_config.NumberColumn(
            "MASE",
            format="%.2f",
            help="Mean absolute error over the backtest, scaled by the "
            "in-sample error of repeating last year (below 1 beats seasonal naive).",
        ),
        "Accuracy (1 − WAPE)": share_column("Accuracy (1 − WAPE)"),
        "Bias": share_column("Bias", "Forecast minus actual, as a share of actual."),
        "80% interval held": share_column(
            "80% interval held",
            "Share of backtest actuals inside the 80% interval (should be near 80%).",
        ),
        "95% interval held": share_column("95% interval held"),
    }
    return table, config


def models_table(result: ForecastResult) -> tuple[pd.DataFrame, dict]:
    """The model chosen for every series and its backtest MASE beside seasonal naive's."""
    models = result.models
    table = pd.DataFrame(
        {
            "Series": models[SERIES].replace({TOTAL: "Company"}),
            "Model": models[MODEL].map(model_label),
            "Fitted form": models[USED],
            "Backtest MASE": models[MASE],
            "Seasonal naive MASE": models[BENCHMARK_MASE],
            "Accuracy (1 − WAPE)": 1 - models[WAPE],
        }
    )
    config = {
        "Backtest MASE": st.column_config.NumberColumn(format="%.2f"),
        "Seasonal naive MASE": st.column_config.NumberColumn(format="%.2f"),
        "Accuracy (1 − WAPE)": share_column("Accuracy (1 − WAPE)"),
    }
    return table, config


def reconciliation_table(result: ForecastResult) -> tuple[pd.DataFrame, dict]:
    """Backtest accuracy of the unreconciled, bottom-up and MinT forecasts, over all series."""
    rec = result.reconciliation_accuracy
    if rec.empty:
        return pd.DataFrame(), {}
    by = (
        rec.groupby(METHOD, sort=False)
        .agg(mase=(MASE, "mean"), wape=(WAPE, "mean"), cov95=(coverage(95), "mean"))
        .reset_index()
    )
    table = pd.DataFrame(
        {
            "Method": [
                METHOD_LABELS.get(m, m) + ("  ✓ used" if m == result.reconciliation else "")
                for m in by[METHOD]
            ],
            "Mean MASE": by["mase"],
            "Mean accuracy (1 − WAPE)": 1 - by["wape"],
            "95% interval held": by["cov95"],
        }
    )
    config = {
        "Mean MASE": st.column_config.NumberColumn(format="%.3f"),
        "Mean accuracy (1 − WAPE)": share_column("Mean accuracy (1 − WAPE)"),
        "95% interval held": share_column("95% interval held"),
    }
    return table, config


def adding_up_table(result: ForecastResult) -> tuple[pd.DataFrame, dict]:
    """Per series, the horizon's total before and after reconciliation."""
    base = result.base_forecast.groupby(SERIES, sort=False)[MEAN].sum()
    rec = result.forecast.groupby(SERIES, sort=False)[MEAN].sum()
    table = pd.DataFrame(
        {
            "Series": rec.index.map(lambda s: "Company" if s == TOTAL else s),
            "Own model": base.reindex(rec.index).to_numpy(),
            "Reconciled": rec.to_numpy(),
        }
    )
    config = {c: _number_column(result.metric, c) for c in ("Own model", "Reconciled")}
    return table, config


def account_table(table: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, dict]:
    """The account-level roll-up beside the top-down forecast."""
    money = metric != "orders"
    out = pd.DataFrame(
        {
            "Series": table[SERIES].replace({TOTAL: "Company"}),
            "Customers": table[CUSTOMERS],
            "Expected still active": table[EXPECTED_ALIVE].round(),
            "Expected purchases": table[EXPECTED_ORDERS].round(),
            "Expected revenue": table[EXPECTED_REVENUE],
            "Top-down forecast": table[TOP_DOWN],
            "Gap": [fmt.money(v) if money else fmt.count(v) for v in table[GAP]],
            "Gap vs account level": [
                fmt.signed_percent(v * 100, 0) or fmt.MISSING for v in table[GAP_SHARE]
            ],
        }
    )
    config = {
        "Customers": count_column("Customers"),
        "Expected still active": count_column("Expected still active", "Sum of P(alive)."),
        "Expected purchases": count_column("Expected purchases", "Purchase days (BG/NBD)."),
        "Expected revenue": money_column("Expected revenue"),
        "Top-down forecast": money_column("Top-down forecast")
        if money
        else count_column("Top-down forecast"),
        "Gap": st.column_config.TextColumn("Gap", help="Top-down minus account level."),
        "Gap vs account level": st.column_config.TextColumn(
            "Gap vs account level",
            help="How far the top-down forecast is above (+) or below "
            "(−) what the existing customers are expected to buy.",
        ),
    }
    return out, config


def alerts_table(alerts: pd.DataFrame, metric_of: dict) -> tuple[pd.DataFrame, dict]:
    """Actuals outside the 95% interval of an accepted forecast, in words and numbers."""
    table = pd.DataFrame(
        {
            "Forecast made": [fmt.day(d) for d in alerts[forecast.MADE_AS_OF]],
            "Series": alerts[SERIES],
            "Period": [
                fmt.month_name(p) if f == "M" else f"Week of {fmt.day(p)}"
                for p, f in zip(alerts[PERIOD], alerts["freq"], strict=True)
            ],
            "Metric": alerts["metric"].map(metric_of),
            "Months/weeks ahead": alerts[forecast.STEP].astype(int),
            "Actual": [
                value_text(m, v)
                for m, v in zip(alerts["metric"], alerts[forecast.ACTUAL], strict=True)
            ],
            "95% interval": [
                f"{value_text(m, a)} – {value_text(m, b)}"
                for m, a, b in zip(alerts["metric"], alerts[lo(95)], alerts[hi(95)], strict=True)
            ],
            "Missed": alerts[forecast.DIRECTION].map({"above": "above ▲", "below": "below ▼"}),
        }
    )
    return table, {}
