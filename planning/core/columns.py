"""Column names of the frames that cross module boundaries, defined once.

Every frame the engine accepts or returns is long-format with the names below; the importer
maps a user's columns onto them, the store's tables use them, and pages read them. Keeping them
in one place is what lets a page, a test and the CLI agree on a frame without reading each
other's code.
"""

from __future__ import annotations

from typing import Final, Literal

# transactions
CUSTOMER_ID: Final = "customer_id"
DATE: Final = "date"
AMOUNT: Final = "amount"
COST: Final = "cost"
QUANTITY: Final = "quantity"
PRODUCT: Final = "product"
CATEGORY: Final = "category"
CHANNEL: Final = "channel"
TRANSACTION_ID: Final = "transaction_id"

# customers
NAME: Final = "name"
REGION: Final = "region"
INDUSTRY: Final = "industry"
SIZE: Final = "size"
ACQUISITION_DATE: Final = "acquisition_date"
PAYMENT_TERMS_DAYS: Final = "payment_terms_days"

# activities and activity rates (activity-based costing)
ACTIVITY: Final = "activity"
RATE: Final = "rate"
EFFECTIVE_FROM: Final = "effective_from"

# program spend history
MONTH: Final = "month"
SEGMENT: Final = "segment"
PROGRAM: Final = "program"
SPEND: Final = "spend"
OUTCOME: Final = "outcome"

# measures and frame columns that several layers share
CUSTOMERS: Final = "customers"
REVENUE: Final = "revenue"
GROSS_MARGIN: Final = "gross_margin"
COST_TO_SERVE: Final = "cost_to_serve"
FINANCING_COST: Final = "financing_cost"
CONTRIBUTION: Final = "contribution"
ORDERS: Final = "orders"
PROGRAM_SPEND: Final = "program_spend"
ACTUAL: Final = "actual"
STEP: Final = "step"
TRANSACTIONS: Final = "transactions"
MARGIN_RATE: Final = "margin_rate"
FREQUENCY: Final = "frequency"
REVENUE_LO95: Final = "revenue_lo95"
REVENUE_HI95: Final = "revenue_hi95"
SPEND_PREFIX: Final = "spend_"
VALUE: Final = "value"
LAST_PURCHASE: Final = "last_purchase"
VALUE_PER_UNIT: Final = "value_per_unit"
ACTIVE_CUSTOMERS: Final = "active_customers"
UNCOSTED_REVENUE: Final = "uncosted_revenue"

Kind = Literal["transactions", "customers", "activities", "rates", "spend"]
KINDS: Final[tuple[Kind, ...]] = ("transactions", "customers", "activities", "rates", "spend")

PROGRAMS: Final = ("acquisition", "retention", "cross_sell", "win_back")
ACTIVITIES: Final = ("order", "delivery", "support_ticket", "return", "sales_visit")


# The columns each kind of file may carry: (name, type, required). Types are what the importer
# parses to: "text", "date", "number", "integer".
ColumnType = Literal["text", "date", "number", "integer"]

CONTRACT: Final[dict[str, tuple[tuple[str, ColumnType, bool], ...]]] = {
    "transactions": (
        (CUSTOMER_ID, "text", True),
        (DATE, "date", True),
        (AMOUNT, "number", True),
        (COST, "number", False),
        (QUANTITY, "number", False),
        (PRODUCT, "text", False),
        (CATEGORY, "text", False),
        (CHANNEL, "text", False),
        (TRANSACTION_ID, "text", False),
    ),
    "customers": (
        (CUSTOMER_ID, "text", True),
        (NAME, "text", False),
        (REGION, "text", False),
        (INDUSTRY, "text", False),
        (SIZE, "text", False),
        (CHANNEL, "text", False),
        (ACQUISITION_DATE, "date", False),
        (PAYMENT_TERMS_DAYS, "integer", False),
    ),
    "activities": (
        (CUSTOMER_ID, "text", True),
        (DATE, "date", True),
        (ACTIVITY, "text", True),
        (QUANTITY, "number", False),
    ),
    "rates": (
        (ACTIVITY, "text", True),
        (RATE, "number", True),
        (EFFECTIVE_FROM, "date", False),
    ),
    "spend": (
        (MONTH, "date", True),
        (SEGMENT, "text", True),
        (PROGRAM, "text", True),
        (SPEND, "number", True),
        (OUTCOME, "number", False),
    ),
}
