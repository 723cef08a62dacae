"""A small seasonal company for the forecast tests: 40 customers, 26 months, two sizes.

Deterministic, so a test can recompute any number from :func:`transactions` by hand. Orders
follow the demo's seasonality with a mild trend; Large customers order 4x the value.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from planning.ingest.demo import SEASONALITY
from planning.ingest.importing import import_file
from tests.actors import ADMIN

START = dt.date(2024, 1, 1)
MONTHS = 26  # Jan 2024 .. Feb 2026
LAST_DAY = dt.date(2026, 2, 28)


def customers() -> pd.DataFrame:
    ids = [f"K{i:03d}" for i in range(40)]
    return pd.DataFrame(
        {"customer_id": ids, "size": ["Large" if i % 4 == 0 else "Small" for i in range(40)]}
    )


def transactions(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, cid in enumerate(customers()["customer_id"]):
        value = 4000.0 if i % 4 == 0 else 1000.0
        for m in range(MONTHS):
            month = pd.Timestamp(START) + pd.DateOffset(months=m)
            rate = 1.5 * SEASONALITY[month.month - 1] * (1 + 0.004 * m)
            for _ in range(rng.poisson(rate)):
                day = int(rng.integers(1, month.days_in_month + 1))
                rows.append(
                    {
                        "customer_id": cid,
                        "date": month.replace(day=day).date().isoformat(),
                        "amount": round(value * rng.gamma(4.0, 0.25), 2),
                    }
                )
    frame = pd.DataFrame(rows).sort_values(["date", "customer_id"], ignore_index=True)
    frame["transaction_id"] = [f"T{i:06d}" for i in range(len(frame))]
    return frame


def load(
    engine: Engine,
    frame: pd.DataFrame | None = None,
    *,
    with_customers: bool = True,
    name: str = "company",
) -> None:
    """Import the customers and the transactions (or ``frame``) through the real importer."""
    if with_customers:
        report = import_file(
            engine, "customers", customers(), file_name=f"{name}-customers.csv", actor=ADMIN
        )
        assert report.ok, report.summary()
    frame = transactions() if frame is None else frame
    frame = frame.assign(date=frame["date"].astype(str))  # the importer parses text dates
    report = import_file(
        engine, "transactions", frame, file_name=f"{name}-transactions.csv", actor=ADMIN
    )
    assert report.ok, report.summary()
