import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from trainer.data import (
    COLUMNS,
    CONTRACTS,
    INTERNET_SERVICES,
    NUMERIC_FEATURES,
    PAYMENT_METHODS,
    generate_customers,
)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return generate_customers(20000, 42)


def test_columns_and_types(customers):
    assert tuple(customers.columns) == COLUMNS
    assert customers["customer_id"].iloc[0] == "CUST000001"
    assert customers["customer_id"].iloc[-1] == "CUST020000"
    assert customers["customer_id"].is_unique
    for col in ("age", "tenure_months", "support_calls", "churned"):
        assert pd.api.types.is_integer_dtype(customers[col]), col
    for col in ("monthly_charges", "total_charges"):
        assert pd.api.types.is_float_dtype(customers[col]), col


def test_ranges_follow_the_customer_schema(customers):
    assert customers["age"].between(18, 100).all()
    assert customers["tenure_months"].between(0, 72).all()
    assert (customers["monthly_charges"] > 0).all()
    assert customers["monthly_charges"].between(18, 120).all()
    assert (customers["total_charges"] >= 0).all()
    assert (customers.loc[customers["tenure_months"] == 0, "total_charges"] == 0).all()
    assert (customers["tenure_months"] == 0).any()
    assert (customers["support_calls"] >= 0).all()
    assert set(customers["internet_service"]) == set(INTERNET_SERVICES)
    assert set(customers["contract"]) == set(CONTRACTS)
    assert set(customers["payment_method"]) == set(PAYMENT_METHODS)
    assert set(customers["churned"]) == {0, 1}


def test_churn_rate_is_realistic(customers):
    assert 0.15 <= customers["churned"].mean() <= 0.30


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


def test_no_single_feature_leaks_the_label(customers):
    y = customers["churned"].to_numpy()
    for col in NUMERIC_FEATURES:
        auc = roc_auc_score(y, customers[col].to_numpy())
        assert max(auc, 1 - auc) < 0.8, col


def test_rejects_empty_population():
    with pytest.raises(ValueError):
        generate_customers(0, 1)
