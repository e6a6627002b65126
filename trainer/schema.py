"""The seed-004 ``CustomerData`` schema shared by the generator, validation, features and export.

Kept free of heavy imports: it is shipped (with ``features.py``) inside the MLflow model as code.
"""

from __future__ import annotations

from typing import Any

NUMERIC_FEATURES: tuple[str, ...] = (
    "age",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
)
INTEGER_FEATURES: frozenset[str] = frozenset({"age", "tenure_months", "support_calls"})
CATEGORICAL_FEATURES: tuple[str, ...] = ("internet_service", "contract", "payment_method")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES  # the 8 serving inputs
ID_COLUMN = "customer_id"
LABEL = "churned"

INTERNET_SERVICES = ("DSL", "Fiber", "None")
CONTRACTS = ("Month-to-month", "One year", "Two year")
PAYMENT_METHODS = (
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
)
AUTOMATIC_PAYMENTS = ("Bank transfer (automatic)", "Credit card (automatic)")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "internet_service": INTERNET_SERVICES,
    "contract": CONTRACTS,
    "payment_method": PAYMENT_METHODS,
}

# Allowed input ranges published to the serving side in signature.json (validation bounds, not
# training ranges) and enforced by the data-validation gate. Order and keys are part of the contract.
NUMERIC_BOUNDS: dict[str, dict[str, Any]] = {
    "age": {"type": "integer", "minimum": 18, "maximum": 100},
    "tenure_months": {"type": "integer", "minimum": 0, "maximum": 600},
    "monthly_charges": {"type": "number", "exclusive_minimum": 0, "maximum": 10000},
    "total_charges": {"type": "number", "minimum": 0, "maximum": 10000000},
    "support_calls": {"type": "integer", "minimum": 0, "maximum": 1000},
}

# History columns the generator writes (optional in user data). They drive the synthetic churn
# process and the time-aware split option, but are NOT model inputs: the served model only gets
# the 8 FEATURES above.
HISTORY_COLUMNS: tuple[str, ...] = (
    "signup_date",
    "signup_cohort",
    "usage_last_3m_gb",
    "usage_prev_3m_gb",
    "usage_trend",
    "active_months_last_6",
)
REQUIRED_COLUMNS: tuple[str, ...] = (ID_COLUMN, *FEATURES, LABEL)
COLUMNS: tuple[str, ...] = (ID_COLUMN, *FEATURES, *HISTORY_COLUMNS, LABEL)
