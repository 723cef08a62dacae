"""Cost-to-serve and profit: activity-based costing, customer and segment P&L, and the
segment-month history (and its rates) that the plan runs on.
"""
