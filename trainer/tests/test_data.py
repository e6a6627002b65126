import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from trainer.data import (
    COLUMNS,
    CONTRACTS,
    HISTORY_COLUMNS,
    INTERNET_SERVICES,
    NUMERIC_FEATURES,
    PAYMENT_METHODS,
    SNAPSHOT_DATE,
    generate_customers,
    read_customers,
    write_customers,
)
from trainer.validation import normalize, validate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return generate_customers(20000, 42)


def test_columns_and_types(customers):
    assert tuple(customers.columns) == COLUMNS
    assert set(HISTORY_COLUMNS) <= set(customers.columns)
    assert customers["customer_id"].iloc[0] == "CUST000001"
    assert customers["customer_id"].iloc[-1] == "CUST020000"
    assert customers["customer_id"].is_unique
    for col in ("age", "tenure_months", "support_calls", "active_months_last_6", "churned"):
        assert pd.api.types.is_integer_dtype(customers[col]), col
    for col in ("monthly_charges", "total_charges", "usage_last_3m_gb", "usage_prev_3m_gb", "usage_trend"):
        assert pd.api.types.is_float_dtype(customers[col]), col
    assert pd.api.types.is_datetime64_any_dtype(customers["signup_date"])


def test_ranges_follow_the_customer_schema(customers):
    assert customers["age"].between(18, 100).all()
    assert customers["tenure_months"].between(0, 72).all()
    assert customers["monthly_charges"].between(18, 120).all()
    assert (customers["total_charges"] >= 0).all()
    assert (customers.loc[customers["tenure_months"] == 0, "total_charges"] == 0).all()
    assert (customers["tenure_months"] == 0).any()
    assert (customers["support_calls"] >= 0).all()
    assert set(customers["internet_service"]) == set(INTERNET_SERVICES)
    assert set(customers["contract"]) == set(CONTRACTS)
    assert set(customers["payment_method"]) == set(PAYMENT_METHODS)
    assert set(customers["churned"]) == {0, 1}
    assert validate(customers).passed


def test_history_is_consistent_with_tenure(customers):
    snapshot = pd.Timestamp(SNAPSHOT_DATE)
    months = (snapshot - customers["signup_date"]).dt.days // 30
    assert (months == customers["tenure_months"]).all()
    assert (customers["signup_cohort"] == customers["signup_date"].dt.strftime("%Y-%m")).all()
    new = customers["tenure_months"] < 3
    assert (customers.loc[new, "usage_prev_3m_gb"] == 0).all()
    assert customers["active_months_last_6"].between(0, 6).all()
    # disengaged customers (who churn more) use less lately
    churned = customers["churned"] == 1
    old = customers["tenure_months"] >= 6
    assert customers.loc[churned & old, "usage_trend"].mean() < customers.loc[~churned & old, "usage_trend"].mean()


def test_churn_rate_is_realistic(customers):
    assert 0.20 <= customers["churned"].mean() <= 0.32


def test_same_seed_same_data_other_seed_other_data(customers):
    pd.testing.assert_frame_equal(customers, generate_customers(20000, 42))
    assert not customers.equals(generate_customers(20000, 43))


def test_churn_follows_the_documented_drivers(customers):
    rate = customers.groupby("contract")["churned"].mean()
    assert rate["Month-to-month"] > rate["One year"] > rate["Two year"]
    short = customers["tenure_months"] < 6
    assert customers.loc[short, "churned"].mean() > customers.loc[~short, "churned"].mean()
    fiber = customers["internet_service"] == "Fiber"
    assert customers.loc[fiber, "churned"].mean() > customers.loc[~fiber, "churned"].mean()
    echeck = customers["payment_method"] == "Electronic check"
    assert customers.loc[echeck, "churned"].mean() > customers.loc[~echeck, "churned"].mean()
    calls = customers["support_calls"] >= 4
    assert customers.loc[calls, "churned"].mean() > customers.loc[~calls, "churned"].mean()


def test_no_single_column_leaks_the_label(customers):
    y = customers["churned"].to_numpy()
    for col in (*NUMERIC_FEATURES, "usage_last_3m_gb", "usage_prev_3m_gb", "usage_trend", "active_months_last_6"):
        auc = roc_auc_score(y, customers[col].to_numpy())
        assert max(auc, 1 - auc) < 0.8, col


def test_rejects_empty_population():
    with pytest.raises(ValueError):
        generate_customers(0, 1)


def test_a_million_customers():
    # How fast is a figure: bench/generate_customers.py prints it.
    df = generate_customers(1_000_000, 1)
    assert len(df) == 1_000_000 and df["customer_id"].iloc[-1] == "CUST1000000"
    assert df["customer_id"].is_unique


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_round_trip(tmp_path, suffix):
    df = generate_customers(500, 9)
    path = write_customers(df, tmp_path / f"customers{suffix}")
    back = read_customers(path)
    assert validate(back).passed
    pd.testing.assert_frame_equal(normalize(back)[list(COLUMNS)], normalize(df)[list(COLUMNS)], check_dtype=False)
    assert (back["internet_service"] == "None").any()  # "None" stays a category, not NaN


def test_generate_cli(tmp_path):
    out = tmp_path / "c.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "trainer.generate", "--n-customers", "300", "--seed", "5", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["rows"] == 300 and Path(info["path"]) == out.resolve()
    pd.testing.assert_frame_equal(pd.read_parquet(out), generate_customers(300, 5))
