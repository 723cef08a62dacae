"""A little company whose P&L can be worked out by hand, for the profitability and segment tests.

Rates: order $10 from 2024-01-01 and $12 from 2024-02-01, delivery $40 (no date: always),
sales visit $300 from 2024-01-01; "return" has no rate. Cost of capital 10 %, default terms 30.

    A  Large, North, 60 days   2024-01-10 1,000 (cost 600)  order, 2 deliveries
                               2024-02-15 2,000 (cost 1,300) order;  2024-02-20 sales visit
                               2024-03-05   500 (no cost: 30% margin, cogs 350)  order
    B  Small, South, no terms  2024-01-20   300 (cost 200)  order, delivery
                               2024-02-02  -100 (cost -60)  a return (unrated)
    C  Small, no region, 14 d  2023-12-15 sales visit (before any rate: the first rate, $300)
                               2024-03-31    50 (no cost, cogs 35)  order
    D  Small, acquired 2024-03-20, nothing else

All history to 2024-03-31:
    A  revenue 3,500  cogs 2,250  GM 1,250  cts 414 (order 34, delivery 80, visit 300)
       financing 3,500 x 60/365 x 10% = 57.53   contribution 778.47
    B  revenue 200  cogs 140  GM 60  cts 50 (order 10, delivery 40)  financing 1.64  -> 8.36
    C  revenue 50  cogs 35  GM 15  cts 312 (order 12, visit 300)  financing 0.19  -> -297.19
    D  all zero
    Company: revenue 3,750  cogs 2,425  GM 1,325  cts 776  financing 59.36  -> 489.64
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from planning.ingest.importing import import_file
from planning.profit.profitability import ProfitAssumptions
from tests.actors import ADMIN

END = dt.date(2024, 3, 31)
ASSUMPTIONS = ProfitAssumptions(cost_of_capital=0.10)

CUSTOMERS = b"""customer_id,size,region,payment_terms_days,acquisition_date
A,Large,North,60,
B,Small,South,,
C,Small,,14,
D,Small,,,2024-03-20
"""
TRANSACTIONS = b"""customer_id,date,amount,cost
A,2024-01-10,1000,600
A,2024-02-15,2000,1300
A,2024-03-05,500,
B,2024-01-20,300,200
B,2024-02-02,-100,-60
C,2024-03-31,50,
"""
RATES = b"""activity,rate,effective_from
order,10,2024-01-01
order,12,2024-02-01
delivery,40,
sales visit,300,2024-01-01
"""
ACTIVITIES = b"""customer_id,date,activity,quantity
A,2024-01-10,order,1
A,2024-02-15,order,1
A,2024-03-05,order,1
A,2024-01-10,delivery,2
A,2024-02-20,sales visit,1
B,2024-01-20,order,1
B,2024-01-20,delivery,1
B,2024-02-02,return,1
C,2024-03-31,order,1
C,2023-12-15,sales visit,1
"""


def load(engine: Engine, *, activities: bool = True) -> Engine:
    """Import the little company (without activities and rates when ``activities`` is False)."""
    files = [("customers", CUSTOMERS), ("transactions", TRANSACTIONS)]
    if activities:
        files += [("rates", RATES), ("activities", ACTIVITIES)]
    for kind, content in files:
        report = import_file(engine, kind, content, file_name=f"{kind}.csv", actor=ADMIN)
        assert report.ok, report.summary()
    return engine
