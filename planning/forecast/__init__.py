"""Forecasting: the series read from the store, the forecaster interface and models,
rolling-origin backtests and selection, intervals, hierarchy reconciliation, segment and
account forecasts, and forecast accountability.
"""
