import json

import numpy as np
import pandas as pd
import pytest

from trainer.data import generate_customers
from trainer.pipeline import DataValidationError, train_and_export
from trainer.validation import normalize, validate


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    return generate_customers(1000, 3)


def _failed(df, **kw):
    report = validate(df, **kw)
    return {c.name for c in report.checks if not c.passed}, report


def test_generated_data_passes(good):
    failed, report = _failed(good)
    assert failed == set() and report.passed


@pytest.mark.parametrize(
    "mutate, check",
    [
        (lambda d: d.drop(columns=["contract"]), "required_columns"),
        (lambda d: d.head(50), "min_rows"),
        (lambda d: d.assign(age=d["age"].astype(str)), "dtypes"),
        (lambda d: d.assign(tenure_months=d["tenure_months"] + 0.5), "dtypes"),
        (lambda d: d.assign(monthly_charges=d["monthly_charges"].where(d.index != 3)), "no_nulls"),
        (lambda d: d.assign(age=d["age"].where(d.index != 5, 150)), "ranges"),
        (lambda d: d.assign(monthly_charges=d["monthly_charges"].where(d.index != 5, 0.0)), "ranges"),
        (lambda d: d.assign(total_charges=d["total_charges"].where(d.index != 5, -1.0)), "ranges"),
        (lambda d: d.assign(contract=d["contract"].where(d.index != 7, "Weekly")), "categories"),
        (lambda d: d.assign(churned=d["churned"].where(d.index != 7, 2)), "label_values"),
        (lambda d: d.assign(churned=0), "class_balance"),
        (lambda d: d.assign(churned=(d.index < 10).astype(int)), "class_balance"),  # 1% minority
        (lambda d: d.assign(customer_id=d["customer_id"].where(d.index != 9, d["customer_id"][0])), "unique_customer_id"),
    ],
)
def test_each_check_fails_on_a_crafted_frame(good, mutate, check):
    failed, report = _failed(mutate(good.copy()))
    assert check in failed, report.to_markdown()
    assert not report.passed


def test_report_is_readable(good):
    bad = good.copy()
    bad.loc[0, "contract"] = "Weekly"
    bad.loc[1, "age"] = 7
    _, report = _failed(bad)
    md = report.to_markdown("customers.csv")
    assert "# Data validation report" in md and "**FAIL**" in md and "customers.csv" in md
    assert "'Weekly'" in md and "age: 1 values outside" in md
    js = report.to_dict()
    assert js["passed"] is False
    assert {c["name"] for c in js["checks"] if not c["passed"]} == {"ranges", "categories"}
    json.dumps(js)


def test_recent_signups_split_needs_signup_date(good):
    failed, _ = _failed(good.drop(columns=["signup_date"]), require_columns=("signup_date",))
    assert failed == {"required_columns"}


def test_validation_failure_stops_before_training(tmp_path, good):
    bad = good.copy()
    bad.loc[0, "customer_id"] = bad.loc[1, "customer_id"]
    phases = []
    with pytest.raises(DataValidationError) as info:
        train_and_export(output_dir=tmp_path / "m", data=bad, on_phase=phases.append)
    assert phases == ["load_data", "validate"]
    assert {p.name for p in info.value.files} == {"validation_report.md", "validation_report.json"}
    assert not (tmp_path / "m" / "model.onnx").exists()
    report = json.loads((tmp_path / "m" / "validation_report.json").read_text())
    assert report["passed"] is False


def test_normalize_gives_canonical_dtypes(good):
    df = good.copy()
    df["age"] = df["age"].astype(float)
    df["churned"] = df["churned"].astype(bool)
    out = normalize(df)
    assert out["age"].dtype == np.int64 and out["churned"].dtype == np.int64
