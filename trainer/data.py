"""Seeded synthetic customer data (seed-004 ``CustomerData`` schema plus the ``churned`` label)."""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC_FEATURES: tuple[str, ...] = (
    "age",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
)
INTEGER_FEATURES: frozenset[str] = frozenset({"age", "tenure_months", "support_calls"})
CATEGORICAL_FEATURES: tuple[str, ...] = ("internet_service", "contract", "payment_method")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
ID_COLUMN = "customer_id"
LABEL = "churned"
COLUMNS: tuple[str, ...] = (ID_COLUMN, *FEATURES, LABEL)

INTERNET_SERVICES = ("DSL", "Fiber", "None")
CONTRACTS = ("Month-to-month", "One year", "Two year")
PAYMENT_METHODS = (
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
)

# Ground-truth churn model (log-odds). Linear in the features so that a logistic regression can
# learn it, but with a per-customer noise term so that it is not perfectly separable.
_INTERCEPT = -2.5
_COEF = {
    "month_to_month": 1.45,
    "two_year": -0.9,
    "tenure_months": -0.035,
    "monthly_charges_per_10": 0.12,  # per 10 currency units above 65
    "support_calls": 0.32,
    "fiber": 0.45,
    "electronic_check": 0.55,
    "age_per_10": -0.05,  # per 10 years above 45
}
_LOGIT_NOISE_SD = 0.75


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def generate_customers(n_customers: int, seed: int) -> pd.DataFrame:
    """Return ``n_customers`` synthetic customers; the same ``(n, seed)`` gives identical data.

    The label is drawn from a noisy logistic function of contract, tenure, monthly charges,
    support calls, fiber internet and electronic-check payment (churn rate ~20-25%). No feature
    is derived from the label.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be >= 1")
    rng = np.random.default_rng(seed)
    n = n_customers

    age = np.clip(np.rint(rng.normal(45.0, 15.0, n)), 18, 100).astype(np.int64)

    contract_idx = rng.choice(3, size=n, p=[0.55, 0.25, 0.20])
    contract = np.asarray(CONTRACTS, dtype=object)[contract_idx]
    # Tenure depends on contract: month-to-month customers are newer (many in their first months).
    shape = np.array([1.0, 2.5, 4.0])[contract_idx]
    scale = np.array([14.0, 11.0, 10.0])[contract_idx]
    tenure = np.clip(np.floor(rng.gamma(shape, scale)), 0, 72).astype(np.int64)

    internet_idx = rng.choice(3, size=n, p=[0.35, 0.45, 0.20])
    internet = np.asarray(INTERNET_SERVICES, dtype=object)[internet_idx]
    base_charge = np.array([55.0, 85.0, 22.0])[internet_idx]
    charge_sd = np.array([10.0, 12.0, 3.0])[internet_idx]
    monthly = np.round(np.clip(rng.normal(base_charge, charge_sd), 18.25, 118.75), 2)

    drift = rng.normal(1.0, 0.05, n)
    total = np.where(tenure == 0, 0.0, np.round(np.clip(monthly * tenure * drift, 0.0, None), 2))

    support_calls = rng.poisson(np.where(internet_idx == 1, 1.8, 1.2)).astype(np.int64)

    payment_idx = rng.choice(4, size=n, p=[0.33, 0.22, 0.22, 0.23])
    payment = np.asarray(PAYMENT_METHODS, dtype=object)[payment_idx]

    logit = (
        _INTERCEPT
        + _COEF["month_to_month"] * (contract_idx == 0)
        + _COEF["two_year"] * (contract_idx == 2)
        + _COEF["tenure_months"] * tenure
        + _COEF["monthly_charges_per_10"] * (monthly - 65.0) / 10.0
        + _COEF["support_calls"] * support_calls
        + _COEF["fiber"] * (internet_idx == 1)
        + _COEF["electronic_check"] * (payment_idx == 0)
        + _COEF["age_per_10"] * (age - 45.0) / 10.0
        + rng.normal(0.0, _LOGIT_NOISE_SD, n)
    )
    churned = (rng.random(n) < _sigmoid(logit)).astype(np.int64)

    width = max(6, len(str(n)))
    ids = np.array([f"CUST{i:0{width}d}" for i in range(1, n + 1)], dtype=object)

    df = pd.DataFrame(
        {
            ID_COLUMN: ids,
            "age": age,
            "tenure_months": tenure,
            "monthly_charges": monthly.astype(np.float64),
            "total_charges": total.astype(np.float64),
            "support_calls": support_calls,
            "internet_service": internet,
            "contract": contract,
            "payment_method": payment,
            LABEL: churned,
        },
        columns=list(COLUMNS),
    )
    return df
