"""Forecast: what the company and each segment will buy, how sure that is, and how often the
forecasts have been right."""

import streamlit as st

from planning import forecast
from planning.forecast import METRIC_LABELS, TOTAL
from ui import forecast_charts, forecast_data
from ui import forecast_tables as tables
from ui import format as fmt
from ui.lenses import lens_picker
from ui.page import open_page
from ui.sidebar import current_as_of

FREQS = {"Monthly": "M", "Weekly": "W"}
HORIZONS = {"M": (1, 24, 12), "W": (1, 52, 13)}  # min, max, default

engine, actor, status = open_page(
    "Forecast",
    when_empty="There is nothing to forecast yet: the store holds no transactions. Import a "
    "transactions file on the Data page, or run `make run` to load the demo company.",
)

latest = current_as_of()
left, mid, right, far = st.columns([1.3, 1.4, 1.1, 1.6])
scope = (
    left.segmented_control(
        "Forecast for", ["Company", "Segments"], default="Segments", key="forecast_scope"
    )
    or "Segments"
)
metric = mid.selectbox(
    "Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get, key="forecast_metric"
)
freq = FREQS[
    right.segmented_control("Frequency", list(FREQS), default="Monthly", key="forecast_freq")
    or "Monthly"
]
low, high, default = HORIZONS[freq]
unit = "months" if freq == "M" else "weeks"
horizon = far.slider(f"Horizon ({unit})", low, high, default, key=f"forecast_horizon_{freq}")
lens_label, lens, attribute = lens_picker() if scope == "Segments" else ("Company", None, None)

as_of_options = forecast_data.as_of_choices(status.first_date, latest)
as_of = latest
if len(as_of_options) > 1:
    if st.session_state.get("forecast_as_of") not in as_of_options:
        st.session_state["forecast_as_of"] = as_of_options[-1]
    as_of = st.select_slider(
        "Forecast as of — what did we forecast then?",
        options=as_of_options,
        format_func=fmt.day,
        key="forecast_as_of",
        help="The forecast uses only data dated on or before this day. Later actuals (up to "
        "the sidebar's As of) are drawn beside it.",
    )

label = METRIC_LABELS[metric]
try:
    with st.spinner(
        f"Backtesting ETS, ARIMA, Theta, seasonal naive"
        f"{' and the company seasonality' if lens else ''} on every series as of "
        f"{fmt.day(as_of)}, then reconciling…"
    ):
        assignment = forecast_data.load_assignment(engine, lens, attribute, as_of) if lens else None
        result = forecast_data.load_forecast(
            engine,
            lens=forecast_data.segment_lens(lens, attribute) if lens else None,
            metric=metric,
            freq=freq,
            horizon=horizon,
            as_of=as_of,
            assignment=assignment,
        )
except ValueError as exc:
    st.warning(f"No forecast as of {fmt.day(as_of)}: {exc}", icon=":material/warning:")
    st.stop()
actuals = forecast_data.load_actuals(engine, result, latest) if as_of < latest else None

names = [TOTAL, *result.segments]
series = (
    st.selectbox(
        "Series", names, key="forecast_series", format_func=lambda s: "Company" if s == TOTAL else s
    )
    or TOTAL
)
if series not in names:
    series = TOTAL
model_row = result.models.set_index("series").loc[series]
cards = tables.forecast_cards(result, series)
for column, (name, text, help_, note) in zip(st.columns(len(cards)), cards, strict=True):
    column.metric(
        name, text, delta=note, delta_color="off", delta_arrow="off", help=help_, border=True
    )
st.caption(
    f"Data up to {fmt.day(result.as_of)}; whole {unit} only (a {unit[:-1]} still under "
    f"way would look like a drop). Series: {lens_label.lower()}."
)

tab_fc, tab_why, tab_sum, tab_acct, tab_track = st.tabs(
    ["Forecast", "Why this model", "Segments add up", "Account level", "Track record"]
)

with tab_fc:
    st.plotly_chart(
        forecast_charts.forecast_figure(
            result.history, result.forecast, series, metric, label, actuals
        ),
        key="forecast_chart",
    )
    table, config = tables.forecast_table(result, series)
    st.dataframe(table, column_config=config, hide_index=True)

with tab_why:
    st.markdown(
        f"**{tables.model_label(model_row['model'])}** was chosen for "
        f"{'the company' if series == TOTAL else series}: {model_row['reason']}."
    )
    table, config = tables.backtest_table(result, series)
    st.dataframe(table, column_config=config, hide_index=True)
    st.caption(f"Fitted on the whole history: {model_row['used']}.")
    if model_row["notes"]:
        st.caption(f"Notes from the fit: {model_row['notes']}")
    st.caption(
        "Each candidate forecast the horizon from several earlier dates (rolling "
        "origins) using only the data before each. The forecast is the mean of every "
        "candidate but the clear outliers (a backtest MASE above Q3 + 1.5 × IQR of the "
        "candidates'): a backtest this short ranks similar models mostly by chance, and "
        "over 480 segment forecasts of 12 simulated companies the pool was more accurate "
        "than the best one, two or three. MASE below 1 beats repeating last year. "
        + tables.calibration_note(result)
    )
    with st.expander("Every series"):
        table, config = tables.models_table(result)
        st.dataframe(table, column_config=config, hide_index=True)

with tab_sum:
    if not result.segments:
        st.info(
            "Pick Segments above to see the segment forecasts add up to the company.",
            icon=":material/info:",
        )
    else:
        st.plotly_chart(
            forecast_charts.stacked_figure(result.forecast, result.segments, metric, label),
            key="forecast_stacked",
        )
        st.markdown(f"**Reconciliation:** {result.reconciliation_reason}")
        left, right = st.columns([3, 2])
        table, config = tables.reconciliation_table(result)
        left.dataframe(table, column_config=config, hide_index=True)
        table, config = tables.adding_up_table(result)
        right.dataframe(table, column_config=config, hide_index=True)

with tab_acct:
    try:
        with st.spinner("Fitting the customer-value model on every customer…"):
            rollup = forecast_data.load_account_rollup(engine, result)
    except ValueError as exc:
        st.info(
            f"No account-level view as of {fmt.day(result.as_of)}: {exc}", icon=":material/info:"
        )
    else:
        left, right = st.columns([3, 2])
        left.plotly_chart(
            forecast_charts.account_figure(rollup.table, metric, f"{horizon} {unit}"),
            key="forecast_account",
        )
        right.markdown(rollup.explanation)
        table, config = tables.account_table(rollup.table, metric)
        st.dataframe(table, column_config=config, hide_index=True)

with tab_track:
    with st.form("forecast_accept", border=True):
        st.markdown(
            f"**Accept this forecast** — {label.lower()}, {lens_label.lower()}, "
            f"{horizon} {unit} from {fmt.day(result.as_of)}. It is kept and checked "
            "against the actuals as they land."
        )
        text = st.text_input(
            "Note", key="forecast_note", placeholder="e.g. Q3 plan basis", max_chars=512
        )
        if st.form_submit_button(
            "Accept forecast",
            type="primary",
            disabled=not actor.may("accept_forecast"),
            help=None if actor.may("accept_forecast") else "Planners accept forecasts.",
        ):
            run_id = forecast_data.accept(engine, result, actor, text)
            st.success(
                f"Forecast #{run_id} accepted as of {fmt.day(result.as_of)} by "
                f"{fmt.plain(actor.name)}.",
                icon=":material/check_circle:",
            )
    runs, comparison = forecast_data.load_track_record(engine, latest)
    if runs.empty:
        st.info(
            "No forecast has been accepted yet. Accept one above; as actuals land, this "
            "tab shows them against it, with an alert for any outside the 95% interval.",
            icon=":material/info:",
        )
    elif comparison.empty:
        st.info(
            f"{fmt.count(len(runs))} accepted forecast(s), but none of their periods has "
            "ended yet: the comparison appears once actuals land.",
            icon=":material/info:",
        )
    else:
        alerts = forecast.forecast_alerts(comparison)
        if alerts.empty:
            st.success(
                "Every actual so far fell inside the 95% interval of its forecast.",
                icon=":material/verified:",
            )
        else:
            st.warning(
                f"{len(alerts)} actual(s) fell outside the 95% interval of the forecast made then.",
                icon=":material/notifications:",
            )
            table, config = tables.alerts_table(alerts, METRIC_LABELS)
            st.dataframe(table, column_config=config, hide_index=True)
        same = comparison[(comparison["metric"] == metric) & (comparison["freq"] == freq)]
        if not same[same["series"] == series].empty:
            history = forecast_data.load_actuals(engine, result, latest)
            st.plotly_chart(
                forecast_charts.track_record_figure(same, history, series, metric, label),
                key="forecast_track",
            )
        st.plotly_chart(
            forecast_charts.accuracy_history_figure(
                forecast.accuracy_history(same if not same.empty else comparison)
            ),
            key="forecast_accuracy",
        )
    with st.expander(f"Accepted forecasts ({len(runs)})"):
        st.dataframe(runs.drop(columns=["reconciliation"]), hide_index=True)
