"""Documented defaults for what the data may not say; each is shown where it is used.

- :data:`DEFAULT_GROSS_MARGIN`: a transaction without a cost of goods is assumed to earn 30 %
  (its cost is 70 % of its amount).
- :data:`LAPSE_MONTHS`: a customer is *lost* when 6 whole calendar months pass without a
  purchase.
"""

from __future__ import annotations

from typing import Final

DEFAULT_GROSS_MARGIN: Final = 0.30
LAPSE_MONTHS: Final = 6
# Trailing months of contribution and activity the value, RFM and rules lenses look at.
DEFAULT_WINDOW_MONTHS: Final = 12
# Monte Carlo draws behind an allocation's P10/P50/P90.
DRAWS: Final = 2000
