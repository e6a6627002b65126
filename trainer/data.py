"""Customer data: a seeded synthetic population (seed-004 ``CustomerData`` schema + signup/usage
history + the ``churned`` label) or a user-supplied CSV / Parquet file with the same schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainer.schema import (  # noqa: F401 - re-exported for callers and tests
    CATEGORICAL_FEATURES,
    COLUMNS,
    CONTRACTS,
    FEATURES,
    HISTORY_COLUMNS,
    ID_COLUMN,
    INTEGER_FEATURES,
    INTERNET_SERVICES,
    LABEL,
    NUMERIC_FEATURES,
    PAYMENT_METHODS,
    REQUIRED_COLUMNS,
)

SNAPSHOT_DATE = np.datetime64("2025-06-30", "D")  # "today" of the synthetic population

# Ground-truth churn process (log-odds). It uses only things the served model can see or derive
# from the 8 raw inputs (contract, tenure, charges, the recent price rise hidden in
# total/tenure vs monthly, support calls, service, payment) plus a latent disengagement that the
# model cannot see (it shows in the usage history only) and logistic noise from the Bernoulli
# draw. Nothing is a deterministic function of the label.
_INTERCEPT = -2.55
_COEF = {
    "month_to_month": 1.55,
    "two_year": -1.25,
    "new_customer": 0.55,  # tenure < 6 months
    "log_tenure": -0.42,  # per log(1 + tenure)
    "monthly_charges_per_10": 0.17,  # per 10 above 65
    "price_rise": 3.2,  # per relative rise of the monthly charge vs. the historical average
    "support_calls": 0.42,  # per call, saturating at 6
    "fiber": 0.45,
    "fiber_month_to_month": 0.35,
    "electronic_check": 0.60,
    "senior": 0.25,  # age >= 65
    "disengagement": 0.55,  # latent, standard normal, not observable by the model
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _customer_ids(n: int) -> np.ndarray:
    width = max(6, len(str(n)))
    return np.char.add("CUST", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def generate_customers(n_customers: int, seed: int) -> pd.DataFrame:
    """Return ``n_customers`` synthetic customers; the same ``(n, seed)`` gives identical data.

    Fully vectorised (1M customers in a few seconds). Columns: ``schema.COLUMNS``.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be >= 1")
    rng = np.random.default_rng(seed)
    n = int(n_customers)

    age = np.clip(np.rint(rng.normal(45.0, 15.0, n)), 18, 100).astype(np.int64)

    contract_idx = rng.choice(3, size=n, p=[0.55, 0.25, 0.20])
    # Month-to-month customers are newer (many in their first months); two-year ones are older.
    shape = np.array([0.9, 2.5, 4.0])[contract_idx]
    scale = np.array([14.0, 11.0, 10.0])[contract_idx]
    tenure = np.clip(np.floor(rng.gamma(shape, scale)), 0, 72).astype(np.int64)

    # Signup date = snapshot - tenure months - a few days (tenure counts completed months).
    days = tenure * 30 + rng.integers(0, 30, n)
    signup = SNAPSHOT_DATE - days.astype("timedelta64[D]")
    signup_cohort = pd.DatetimeIndex(signup).strftime("%Y-%m").to_numpy(dtype=object)

    internet_idx = rng.choice(3, size=n, p=[0.35, 0.45, 0.20])
    base_charge = np.array([55.0, 85.0, 22.0])[internet_idx]
    charge_sd = np.array([10.0, 12.0, 3.0])[internet_idx]
    monthly = np.round(np.clip(rng.normal(base_charge, charge_sd), 18.25, 118.75), 2)

    # Some customers saw a recent price rise: their historical average charge is lower than today's.
    has_rise = (rng.random(n) < 0.3) & (tenure >= 4)
    rise = np.where(has_rise, rng.uniform(0.05, 0.35, n), 0.0)
    hist_avg = monthly / (1.0 + rise) * rng.normal(1.0, 0.02, n)
    total = np.where(tenure == 0, 0.0, np.round(np.clip(hist_avg * tenure, 0.0, None), 2))

    support_calls = rng.poisson(np.where(internet_idx == 1, 1.8, 1.2)).astype(np.int64)

    payment_idx = rng.choice(4, size=n, p=[0.33, 0.22, 0.22, 0.23])

    disengagement = rng.standard_normal(n)
    logit = (
        _INTERCEPT
        + _COEF["month_to_month"] * (contract_idx == 0)
        + _COEF["two_year"] * (contract_idx == 2)
        + _COEF["new_customer"] * (tenure < 6)
        + _COEF["log_tenure"] * np.log1p(tenure)
        + _COEF["monthly_charges_per_10"] * (monthly - 65.0) / 10.0
        + _COEF["price_rise"] * rise
        + _COEF["support_calls"] * np.minimum(support_calls, 6)
        + _COEF["fiber"] * (internet_idx == 1)
        + _COEF["fiber_month_to_month"] * ((internet_idx == 1) & (contract_idx == 0))
        + _COEF["electronic_check"] * (payment_idx == 0)
        + _COEF["senior"] * (age >= 65)
        + _COEF["disengagement"] * disengagement
    )
    churned = (rng.random(n) < _sigmoid(logit)).astype(np.int64)

    # Usage history (GB per month), summarised: last 3 vs previous 3 months before the snapshot.
    # Disengaged customers' usage declines; months before signup count as 0 usage.
    base_usage = rng.gamma(4.0, np.array([60.0, 110.0, 5.0])[internet_idx] / 4.0)
    decline = np.clip(0.15 * disengagement + rng.normal(0.0, 0.08, n), -0.5, 0.6)
    months_active_last3 = np.clip(tenure + 1, 0, 3)
    months_active_prev3 = np.clip(tenure + 1 - 3, 0, 3)
    usage_prev = base_usage * months_active_prev3 * rng.normal(1.0, 0.05, n).clip(0.5)
    usage_last = base_usage * months_active_last3 * (1.0 - decline) * rng.normal(1.0, 0.05, n).clip(0.5)
    usage_prev = np.round(np.clip(usage_prev, 0.0, None), 1)
    usage_last = np.round(np.clip(usage_last, 0.0, None), 1)
    trend = np.where(usage_prev > 0, (usage_last - usage_prev) / np.maximum(usage_prev, 1e-9), 0.0)
    inactive = rng.binomial(1, np.clip(0.03 + 0.05 * np.clip(disengagement, 0, None), 0, 1)[:, None], (n, 6))
    active_months = np.minimum(tenure + 1, 6) - inactive.sum(axis=1) * (tenure >= 5)
    active_months = np.clip(active_months, 0, 6).astype(np.int64)

    return pd.DataFrame(
        {
            ID_COLUMN: _customer_ids(n),
            "age": age,
            "tenure_months": tenure,
            "monthly_charges": monthly.astype(np.float64),
            "total_charges": total.astype(np.float64),
            "support_calls": support_calls,
            "internet_service": np.asarray(INTERNET_SERVICES, dtype=object)[internet_idx],
            "contract": np.asarray(CONTRACTS, dtype=object)[contract_idx],
            "payment_method": np.asarray(PAYMENT_METHODS, dtype=object)[payment_idx],
            "signup_date": signup.astype("datetime64[ns]"),
            "signup_cohort": signup_cohort,
            "usage_last_3m_gb": usage_last,
            "usage_prev_3m_gb": usage_prev,
            "usage_trend": np.round(trend, 4),
            "active_months_last_6": active_months,
            LABEL: churned,
        },
        columns=list(COLUMNS),
    )


def write_customers(df: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        out = df.copy()
        if "signup_date" in out.columns:
            out["signup_date"] = pd.to_datetime(out["signup_date"]).dt.strftime("%Y-%m-%d")
        out.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: unsupported file type (use .csv or .parquet)")
    return path


def read_customers(path: Path) -> pd.DataFrame:
    """Read a customers file (.csv or .parquet). Column types are NOT coerced here: the
    validation gate checks them and reports what is wrong."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--data-source {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # customer_id and the categorical columns stay strings ("None" is a category, not NaN).
        text_cols = {c: str for c in (ID_COLUMN, *CATEGORICAL_FEATURES, "signup_cohort")}
        return pd.read_csv(path, dtype=text_cols, keep_default_na=False, na_values=[""])
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"--data-source {path}: unsupported file type (use .csv or .parquet)")
