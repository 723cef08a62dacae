"""Customer value: the purchase and spend models (BG/NBD, Gamma-Gamma, CLV) and the
customer scores built from the store with them.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.value.models import CLV, P_ALIVE
    from planning.value.scoring import (
        CUSTOMERS,
        HEADROOM,
        HI,
        LO,
        POTENTIAL,
        VALUE_AT_RISK,
        WALLET,
        YEARLY_SPEND,
        CustomerValue,
        ValueSettings,
        at_risk_customers,
        company_value,
        headroom_ranking,
        score_customers,
        segment_value,
    )

_EXPORTS = {
    "CLV": "models",
    "P_ALIVE": "models",
    "CUSTOMERS": "scoring",
    "CustomerValue": "scoring",
    "HEADROOM": "scoring",
    "HI": "scoring",
    "LO": "scoring",
    "POTENTIAL": "scoring",
    "VALUE_AT_RISK": "scoring",
    "ValueSettings": "scoring",
    "WALLET": "scoring",
    "YEARLY_SPEND": "scoring",
    "at_risk_customers": "scoring",
    "company_value": "scoring",
    "headroom_ranking": "scoring",
    "score_customers": "scoring",
    "segment_value": "scoring",
}
__all__ = [
    "CLV",
    "CUSTOMERS",
    "HEADROOM",
    "HI",
    "LO",
    "POTENTIAL",
    "P_ALIVE",
    "VALUE_AT_RISK",
    "WALLET",
    "YEARLY_SPEND",
    "CustomerValue",
    "ValueSettings",
    "at_risk_customers",
    "company_value",
    "headroom_ranking",
    "score_customers",
    "segment_value",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
