"""Customer value: the purchase and spend models and the customer scores built with them.

One module per model, as pymc-marketing lays out its CLV models: ``summary`` (purchase
histories as frequency, recency, age and mean spend), ``bgnbd`` (BG/NBD), ``gamma_gamma``
(Gamma-Gamma spend), ``clv`` (lifetime value), on a private maximum-likelihood toolkit
(``_likelihood``); ``scoring`` reads the store and scores every customer with them.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.value.bgnbd import (
        BGNBDFit,
        bgnbd_log_likelihood,
        expected_transactions,
        expected_transactions_new,
        fit_bgnbd,
        probability_alive,
    )
    from planning.value.clv import customer_lifetime_value
    from planning.value.gamma_gamma import (
        GammaGammaFit,
        expected_spend,
        fit_gamma_gamma,
        gamma_gamma_log_likelihood,
    )
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
    from planning.value.summary import (
        CLV,
        DAYS_PER_UNIT,
        EXPECTED_SPEND,
        EXPECTED_TRANSACTIONS,
        FREQUENCY,
        MONETARY,
        P_ALIVE,
        RECENCY,
        T,
        TimeUnit,
        summarize_purchases,
    )

_EXPORTS = {
    "BGNBDFit": "bgnbd",
    "bgnbd_log_likelihood": "bgnbd",
    "expected_transactions": "bgnbd",
    "expected_transactions_new": "bgnbd",
    "fit_bgnbd": "bgnbd",
    "probability_alive": "bgnbd",
    "customer_lifetime_value": "clv",
    "GammaGammaFit": "gamma_gamma",
    "expected_spend": "gamma_gamma",
    "fit_gamma_gamma": "gamma_gamma",
    "gamma_gamma_log_likelihood": "gamma_gamma",
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
    "CLV": "summary",
    "DAYS_PER_UNIT": "summary",
    "EXPECTED_SPEND": "summary",
    "EXPECTED_TRANSACTIONS": "summary",
    "FREQUENCY": "summary",
    "MONETARY": "summary",
    "P_ALIVE": "summary",
    "RECENCY": "summary",
    "T": "summary",
    "TimeUnit": "summary",
    "summarize_purchases": "summary",
}
__all__ = [
    "CLV",
    "CUSTOMERS",
    "DAYS_PER_UNIT",
    "EXPECTED_SPEND",
    "EXPECTED_TRANSACTIONS",
    "FREQUENCY",
    "HEADROOM",
    "HI",
    "LO",
    "MONETARY",
    "POTENTIAL",
    "P_ALIVE",
    "RECENCY",
    "VALUE_AT_RISK",
    "WALLET",
    "YEARLY_SPEND",
    "BGNBDFit",
    "CustomerValue",
    "GammaGammaFit",
    "T",
    "TimeUnit",
    "ValueSettings",
    "at_risk_customers",
    "bgnbd_log_likelihood",
    "company_value",
    "customer_lifetime_value",
    "expected_spend",
    "expected_transactions",
    "expected_transactions_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "headroom_ranking",
    "probability_alive",
    "score_customers",
    "segment_value",
    "summarize_purchases",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
