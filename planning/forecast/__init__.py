"""Forecasting: the series read from the store, the forecaster interface and models,
rolling-origin backtests and selection, intervals, hierarchy reconciliation, segment and
account forecasts, and forecast accountability.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.forecast.accountability import (
        ACTUAL,
        DIRECTION,
        FORECASTS,
        INSIDE_95,
        MADE_AS_OF,
        RUNNING_ACCURACY,
        STEP,
        accept_forecast,
        accepted_forecasts,
        accepted_version,
        accuracy_history,
        compare_to_actuals,
        forecast_alerts,
    )
    from planning.forecast.backtest import BIAS, MASE, WAPE, coverage, summarize_accuracy
    from planning.forecast.base import MEAN, MODEL, PERIOD, SERIES, hi, lo
    from planning.forecast.by_account import (
        CUSTOMERS,
        EXPECTED_ALIVE,
        EXPECTED_ORDERS,
        EXPECTED_REVENUE,
        GAP,
        GAP_SHARE,
        TOP_DOWN,
        AccountRollup,
        account_rollup,
    )
    from planning.forecast.by_segment import BENCHMARK_MASE, USED, ForecastResult, forecast_segments
    from planning.forecast.fitting import FitCache
    from planning.forecast.hierarchy import METHOD, METHOD_LABELS
    from planning.forecast.series import METRIC_LABELS, TOTAL, VALUE, build_series

_EXPORTS = {
    "ACTUAL": "accountability",
    "DIRECTION": "accountability",
    "FORECASTS": "accountability",
    "INSIDE_95": "accountability",
    "MADE_AS_OF": "accountability",
    "RUNNING_ACCURACY": "accountability",
    "STEP": "accountability",
    "accept_forecast": "accountability",
    "accepted_forecasts": "accountability",
    "accepted_version": "accountability",
    "accuracy_history": "accountability",
    "compare_to_actuals": "accountability",
    "forecast_alerts": "accountability",
    "BIAS": "backtest",
    "MASE": "backtest",
    "WAPE": "backtest",
    "coverage": "backtest",
    "summarize_accuracy": "backtest",
    "MEAN": "base",
    "MODEL": "base",
    "PERIOD": "base",
    "SERIES": "base",
    "hi": "base",
    "lo": "base",
    "AccountRollup": "by_account",
    "CUSTOMERS": "by_account",
    "EXPECTED_ALIVE": "by_account",
    "EXPECTED_ORDERS": "by_account",
    "EXPECTED_REVENUE": "by_account",
    "GAP": "by_account",
    "GAP_SHARE": "by_account",
    "TOP_DOWN": "by_account",
    "account_rollup": "by_account",
    "BENCHMARK_MASE": "by_segment",
    "ForecastResult": "by_segment",
    "USED": "by_segment",
    "forecast_segments": "by_segment",
    "FitCache": "fitting",
    "METHOD": "hierarchy",
    "METHOD_LABELS": "hierarchy",
    "METRIC_LABELS": "series",
    "TOTAL": "series",
    "VALUE": "series",
    "build_series": "series",
}
__all__ = [
    "ACTUAL",
    "BENCHMARK_MASE",
    "BIAS",
    "CUSTOMERS",
    "DIRECTION",
    "EXPECTED_ALIVE",
    "EXPECTED_ORDERS",
    "EXPECTED_REVENUE",
    "FORECASTS",
    "GAP",
    "GAP_SHARE",
    "INSIDE_95",
    "MADE_AS_OF",
    "MASE",
    "MEAN",
    "METHOD",
    "METHOD_LABELS",
    "METRIC_LABELS",
    "MODEL",
    "PERIOD",
    "RUNNING_ACCURACY",
    "SERIES",
    "STEP",
    "TOP_DOWN",
    "TOTAL",
    "USED",
    "VALUE",
    "WAPE",
    "AccountRollup",
    "FitCache",
    "ForecastResult",
    "accept_forecast",
    "accepted_forecasts",
    "accepted_version",
    "account_rollup",
    "accuracy_history",
    "build_series",
    "compare_to_actuals",
    "coverage",
    "forecast_alerts",
    "forecast_segments",
    "hi",
    "lo",
    "summarize_accuracy",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
