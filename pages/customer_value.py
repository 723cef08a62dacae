"""Customer value: what each segment is worth and could be worth, who is slipping away, and why."""

import streamlit as st

from planning import value
from ui import format as fmt
from ui import value_charts, value_data
from ui.customer_panel import pick_customer, render_customer_panel
from ui.lenses import lens_picker
from ui.page import open_page
from ui.sidebar import current_as_of
from ui.tables import count_column, money_column, share_column

page = open_page(
    "Customer value",
    when_empty="There is no data to value yet: import a transactions file on the Data page, or run "
    "`make run` to load the demo company.",
)
engine = page.engine
status = page.status

as_of = current_as_of()
settings = value_data.current_settings()
with (
    st.expander(
        f"Model settings: CLV over the next {settings.horizon_label}, "
        f"{settings.annual_discount_rate:.0%} discount rate"
    ),
    st.form("value_settings_form", border=False),
):
    left, mid, right = st.columns(3)
    weeks = left.slider(
        "Horizon (weeks)",
        13,
        156,
        settings.horizon if settings.time_unit == "W" else 52,
        step=13,
    )
    rate = mid.slider(
        "Yearly discount rate", 0, 25, round(settings.annual_discount_rate * 100), format="%d%%"
    )
    quantile = right.slider(
        "Wallet = this percentile of peers' spend",
        60,
        95,
        round(settings.wallet_quantile * 100),
        step=5,
        format="%d%%",
    )
    if st.form_submit_button("Apply"):
        st.session_state[value_data.SETTINGS_KEY] = value.ValueSettings(
            horizon=weeks,
            time_unit="W",
            annual_discount_rate=rate / 100,
            wallet_quantile=quantile / 100,
        )
        st.rerun()

label, lens, attribute = lens_picker()
with st.spinner(f"Fitting the value models on {fmt.count(status.customers)} customers…"):
    try:
        scored = value_data.load_scores(engine, as_of, settings)
    except ValueError as exc:
        st.warning(
            f"Customer value cannot be estimated as of {fmt.day(as_of)}: {exc}",
            icon=":material/warning:",
        )
        st.stop()
    assignment = value_data.load_assignment(engine, lens, attribute, as_of, scored)
table = value.segment_value(scored, assignment)
total = value.company_value(scored)

st.caption(
    f"As of {fmt.day(as_of)}: {fmt.count(len(scored.scores))} customers with a purchase, "
    f"valued over the next {settings.horizon_label} after cost of goods, cost-to-serve "
    "and financing."
)
cards = (
    (
        "Customer value (CLV)",
        fmt.money_short(total[value.CLV]),
        f"90% interval {fmt.money(total[value.CLV + value.LO])} to "
        f"{fmt.money(total[value.CLV + value.HI])} "
        "(parameter uncertainty of the BG/NBD and Gamma-Gamma fits).",
    ),
    (
        "Potential value",
        fmt.money_short(total[value.POTENTIAL]),
        "CLV if every customer spent their wallet: " + scored.wallet_model + ".",
    ),
    ("Headroom", fmt.money_short(total[value.HEADROOM]), "Potential minus CLV."),
    (
        "Mean P(alive)",
        f"{total[value.P_ALIVE]:.0%}",
        "Average probability that a customer is still buying.",
    ),
    (
        "Value at risk",
        fmt.money_short(total[value.VALUE_AT_RISK]),
        "The CLV customers would have if still active, times the chance they are not.",
    ),
)
for column, (name, text, help_) in zip(st.columns(len(cards)), cards, strict=True):
    column.metric(name, text, help=help_, border=True)

left, right = st.columns([3, 2])
left.plotly_chart(
    value_charts.value_by_segment_figure(table, settings.horizon_label), key="value_by_segment"
)
right.plotly_chart(value_charts.p_alive_figure(scored.scores, assignment), key="value_p_alive")

st.subheader(f"By {label.lower()}")
st.dataframe(
    table[
        [
            "segment",
            value.CUSTOMERS,
            value.CLV,
            value.CLV + value.LO,
            value.CLV + value.HI,
            "clv_per_customer",
            value.POTENTIAL,
            value.HEADROOM,
            value.P_ALIVE,
            value.VALUE_AT_RISK,
        ]
    ],
    hide_index=True,
    column_config={
        "segment": st.column_config.TextColumn(label),
        value.CUSTOMERS: count_column("Customers"),
        value.CLV: money_column("CLV"),
        value.CLV + value.LO: money_column("CLV low (90%)"),
        value.CLV + value.HI: money_column("CLV high (90%)"),
        "clv_per_customer": money_column("CLV per customer"),
        value.POTENTIAL: money_column("Potential"),
        value.HEADROOM: money_column("Headroom"),
        value.P_ALIVE: share_column("Mean P(alive)"),
        value.VALUE_AT_RISK: money_column("Value at risk"),
    },
)

at_risk = value.at_risk_customers(scored)
headroom = value.headroom_ranking(scored)
left, right = st.columns(2)
with left:
    st.subheader("At risk and worth saving")
    st.caption(
        "Customers slipping away but not yet gone (P(alive) between 10% and 70%), ranked "
        "by the value they take with them if they leave."
    )
    if at_risk.empty:
        st.info(
            "No customer with a real risk of leaving holds value worth saving.",
            icon=":material/check_circle:",
        )
    else:
        st.dataframe(
            at_risk[
                ["customer_id", value.P_ALIVE, value.YEARLY_SPEND, value.CLV, value.VALUE_AT_RISK]
            ],
            hide_index=True,
            height=320,
            column_config={
                "customer_id": "Customer",
                value.P_ALIVE: share_column("P(alive)"),
                value.YEARLY_SPEND: money_column("Spend, last 12 months"),
                value.CLV: money_column("CLV"),
                value.VALUE_AT_RISK: money_column("Value at risk"),
            },
        )
with right:
    st.subheader("Most headroom")
    st.caption("Customers furthest below what similar customers spend.")
    st.dataframe(
        headroom[
            ["customer_id", value.YEARLY_SPEND, value.WALLET, value.POTENTIAL, value.HEADROOM]
        ],
        hide_index=True,
        height=320,
        column_config={
            "customer_id": "Customer",
            value.YEARLY_SPEND: money_column("Spend, last 12 months"),
            value.WALLET: money_column(
                "Wallet", help="What similar customers spend in a year (see Potential value above)."
            ),
            value.POTENTIAL: money_column("Potential"),
            value.HEADROOM: money_column("Headroom"),
        },
    )

st.subheader("Single customer view")
candidates = list(dict.fromkeys([*at_risk["customer_id"], *headroom["customer_id"]]))
chosen = pick_customer(engine, candidates, key="value_customer")
if chosen:
    render_customer_panel(engine, chosen, as_of, scored)

bg, gg = scored.bgnbd, scored.gamma_gamma
st.caption(
    f"BG/NBD (Fader, Hardie & Lee 2005) fitted on {fmt.count(bg.n_customers)} customers: "
    f"r={bg.r:.3g}, α={bg.alpha:.3g}, a={bg.a:.3g}, b={bg.b:.3g}; Gamma-Gamma spend model on "
    f"{fmt.count(gg.n_customers)} repeat buyers: p={gg.p:.3g}, q={gg.q:.3g}, γ={gg.gamma:.3g}. "
    "Margin, cost-to-serve per order and financing cost come from each customer's last 12 "
    "months."
    + (
        ""
        if bg.converged and gg.converged
        else " A fit did not fully converge: read the values as rough."
    )
)
