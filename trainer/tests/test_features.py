import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from trainer.features import (
    FEATURE_NAMES,
    N_FEATURES,
    ChurnFeatures,
    build_feature_graph,
    engineer_features,
)
from trainer.onnx_export import onnx_feeds
from trainer.schema import CATEGORIES, FEATURES


@pytest.fixture(scope="module")
def session():
    model = build_feature_graph(opset=17, ml_opset=1, ir_version=8)
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _graph(session, df):
    (out,) = session.run(None, onnx_feeds(df))
    return out


def _random_frame(n, seed, unknown_share=0.0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 101, n),
            "tenure_months": rng.integers(0, 601, n),
            "monthly_charges": np.round(rng.uniform(0.01, 10000, n), 2),
            "total_charges": np.round(rng.uniform(0, 1e7, n), 2),
            "support_calls": rng.integers(0, 1001, n),
        }
    )
    for name, cats in CATEGORIES.items():
        values = rng.choice(np.array(cats + ("Other",), dtype=object), n)
        df[name] = np.where(rng.random(n) < unknown_share, "Other", values)
    return df[list(FEATURES)]


def test_about_25_named_features():
    assert N_FEATURES == len(FEATURE_NAMES) == 25
    assert len(set(FEATURE_NAMES)) == 25
    assert FEATURE_NAMES[:5] == ("age", "tenure_months", "monthly_charges", "total_charges", "support_calls")


def test_graph_equals_numpy_on_random_inputs(session):
    df = _random_frame(20000, 3, unknown_share=0.1)
    expected = engineer_features(df)
    got = _graph(session, df)
    assert got.dtype == np.float32 and got.shape == (20000, N_FEATURES)
    assert np.max(np.abs(got.astype(np.float64) - expected)) <= 1e-6
    np.testing.assert_array_equal(got, expected)  # in fact bit-identical


def test_graph_equals_numpy_on_edge_inputs(session):
    rows = []
    for tenure in (0, 1, 2, 3, 5, 6, 11, 12, 23, 24, 47, 48, 72, 600):
        for total in (0.0, 0.01, 19.99, 1e7):
            for monthly in (0.01, 18.25, 118.75, 10000.0):
                rows.append(
                    {
                        "age": 18,
                        "tenure_months": tenure,
                        "monthly_charges": monthly,
                        "total_charges": total,
                        "support_calls": tenure % 7,
                        "internet_service": "Fiber",
                        "contract": "Month-to-month",
                        "payment_method": "Electronic check",
                    }
                )
    for name, cats in CATEGORIES.items():
        for value in (*cats, "", "fiber", "Unknown"):
            row = dict(rows[0])
            row[name] = value
            rows.append(row)
    df = pd.DataFrame(rows)
    expected = engineer_features(df)
    got = _graph(session, df)
    assert np.isfinite(got).all()
    assert np.max(np.abs(got.astype(np.float64) - expected)) <= 1e-6


def test_feature_values_follow_their_definitions():
    df = pd.DataFrame(
        [
            {
                "age": 30,
                "tenure_months": 0,
                "monthly_charges": 50.0,
                "total_charges": 0.0,
                "support_calls": 4,
                "internet_service": "Fiber",
                "contract": "Month-to-month",
                "payment_method": "Electronic check",
            },
            {
                "age": 70,
                "tenure_months": 24,
                "monthly_charges": 60.0,
                "total_charges": 1200.0,
                "support_calls": 0,
                "internet_service": "None",
                "contract": "Two year",
                "payment_method": "Credit card (automatic)",
            },
            {
                "age": 40,
                "tenure_months": 10,
                "monthly_charges": 20.0,
                "total_charges": 150.0,
                "support_calls": 1,
                "internet_service": "Satellite",
                "contract": "Weekly",
                "payment_method": "Cash",
            },
        ]
    )
    f = dict(zip(FEATURE_NAMES, engineer_features(df).T, strict=True))
    np.testing.assert_allclose(f["tenure_years"], [0, 2, 10 / 12], rtol=1e-6)
    np.testing.assert_array_equal(f["is_new_customer"], [1, 0, 0])
    np.testing.assert_array_equal(f["tenure_bucket"], [0, 3, 1])
    np.testing.assert_allclose(f["avg_monthly_spend"], [50, 50, 15], rtol=1e-6)  # tenure 0 -> monthly
    np.testing.assert_allclose(f["charge_increase"], [0, 10, 5], rtol=1e-6)
    np.testing.assert_allclose(f["total_to_monthly_ratio"], [0, 20, 7.5], rtol=1e-6)
    np.testing.assert_allclose(f["support_calls_per_month"], [4, 0, 1 / 11], rtol=1e-6)
    np.testing.assert_array_equal(f["high_support_calls"], [1, 0, 0])
    np.testing.assert_array_equal(f["has_fiber"], [1, 0, 0])
    np.testing.assert_array_equal(f["no_internet"], [0, 1, 0])
    np.testing.assert_array_equal(f["has_autopay"], [0, 1, 0])
    np.testing.assert_allclose(f["contract_risk"], [1.0, 0.1, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(f["contract_length_months"], [1, 24, 0])  # unknown -> 0
    np.testing.assert_array_equal(f["payment_method_risk"], [1, 0, 0])
    np.testing.assert_array_equal(f["month_to_month_x_tenure"], [0, 0, 0])


def test_sklearn_step_is_the_numpy_implementation():
    df = _random_frame(100, 5)
    step = ChurnFeatures().fit(df)
    np.testing.assert_array_equal(step.transform(df), engineer_features(df))
    assert list(step.get_feature_names_out()) == list(FEATURE_NAMES)
