"""The option words that pages, the engine and the command line agree on.

Segment lenses, customer attributes a lens can group by, forecast metrics and frequencies,
and the stored rule set's default name. They live here, below every layer, so that a
command's ``--help`` can list them without loading the models behind them.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# Segment lenses (planning.segments) and the customer attributes one can group by.
Lens = Literal["value", "rfm", "attribute", "lifecycle", "rules"]
LENSES: Final[tuple[str, ...]] = get_args(Lens)
AttributeLens = Literal["size", "region", "industry", "channel"]
ATTRIBUTE_LENSES: Final[tuple[str, ...]] = get_args(AttributeLens)
DEFAULT_RULE_SET: Final = "default"

# Forecast metrics and frequencies (planning.forecast).
Metric = Literal["revenue", "orders", "customers"]
METRICS: Final[tuple[str, ...]] = get_args(Metric)
Freq = Literal["M", "W"]
FREQS: Final[tuple[str, ...]] = get_args(Freq)

# The time unit of the customer-base models (planning.value): days, weeks or months.
TimeUnit = Literal["W", "D", "M"]
