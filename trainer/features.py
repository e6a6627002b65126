"""The engineered features: one numpy implementation (used for training and by the MLflow pyfunc)
and an ONNX sub-graph built with ``onnx.helper`` that computes exactly the same float32 values from
the 8 raw serving inputs. ``onnx_export`` puts this graph in front of the converted classifier, so
``model.onnx`` takes only the 8 raw inputs.

Every value is computed in float32 with the same elementary operations in the same order in both
implementations (IEEE float32 +, -, *, / are correctly rounded in numpy and onnxruntime), so the two
agree bit for bit; tests check <= 1e-6 on random and edge inputs.

Unknown categories (not in ``schema.CATEGORIES``) give 0 in every indicator/score that depends on
that column, as the previous one-hot encoding with ``handle_unknown="ignore"`` did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from trainer.schema import AUTOMATIC_PAYMENTS, CATEGORICAL_FEATURES, CATEGORIES, NUMERIC_FEATURES

F32 = np.float32

# (name, group, description) in column order of the feature matrix.
FEATURE_SPECS: tuple[tuple[str, str, str], ...] = (
    ("age", "raw", "age in years"),
    ("tenure_months", "raw", "months since signup"),
    ("monthly_charges", "raw", "current monthly charge"),
    ("total_charges", "raw", "charges billed so far"),
    ("support_calls", "raw", "support calls"),
    ("tenure_years", "tenure", "tenure_months / 12"),
    ("is_new_customer", "tenure", "tenure_months < 3"),
    ("tenure_bucket", "tenure", "0..4: tenure >= 6, 12, 24, 48 months (loyalty level)"),
    ("avg_monthly_spend", "financial", "total_charges / tenure_months (monthly_charges if tenure 0)"),
    ("total_to_monthly_ratio", "financial", "total_charges / max(monthly_charges, 0.01)"),
    ("charges_per_tenure_month", "financial", "monthly_charges / (tenure_months + 1)"),
    ("charge_increase", "financial", "monthly_charges - avg_monthly_spend (recent price rise)"),
    ("customer_lifetime_value", "financial", "monthly_charges * tenure_months"),
    ("has_autopay", "financial", "payment is bank transfer or credit card (automatic)"),
    ("electronic_check", "financial", "payment_method == Electronic check"),
    ("payment_method_risk", "financial", "Electronic check 1, Mailed check 0.5, automatic 0"),
    ("has_fiber", "service", "internet_service == Fiber"),
    ("no_internet", "service", "internet_service == None"),
    ("fiber_month_to_month", "service", "has_fiber * contract_month_to_month"),
    ("support_calls_per_month", "behavior", "support_calls / (tenure_months + 1)"),
    ("high_support_calls", "behavior", "support_calls >= 4"),
    ("contract_month_to_month", "behavior", "contract == Month-to-month"),
    ("contract_risk", "behavior", "Month-to-month 1, One year 0.4, Two year 0.1"),
    ("contract_length_months", "behavior", "1 / 12 / 24 (0 if unknown)"),
    ("month_to_month_x_tenure", "behavior", "contract_month_to_month * tenure_months"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in FEATURE_SPECS)
N_FEATURES = len(FEATURE_NAMES)

TENURE_BUCKET_EDGES = (6.0, 12.0, 24.0, 48.0)
NEW_CUSTOMER_MONTHS = 3.0
HIGH_SUPPORT_CALLS = 4.0
MIN_MONTHLY = 0.01
CONTRACT_RISK = {"Month-to-month": 1.0, "One year": 0.4, "Two year": 0.1}
CONTRACT_LENGTH = {"Month-to-month": 1.0, "One year": 12.0, "Two year": 24.0}
FEATURES_OUTPUT = "fe_features"
AUTO = AUTOMATIC_PAYMENTS


# ----------------------------------------------------------------------------------------------
# numpy implementation
# ----------------------------------------------------------------------------------------------


def _raw_arrays(rows: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Numeric inputs as float32 [N] and categorical inputs as str object arrays [N], exactly as
    the serving side feeds them to ONNX (float32 / string tensors)."""
    if not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(list(rows)) if not isinstance(rows, Mapping) else pd.DataFrame(rows)
    num = {n: rows[n].to_numpy(dtype=np.float32).reshape(-1) for n in NUMERIC_FEATURES}
    cat = {n: rows[n].astype(str).to_numpy(dtype=object).reshape(-1) for n in CATEGORICAL_FEATURES}
    return num, cat


def _is(values: np.ndarray, category: str) -> np.ndarray:
    return (values == category).astype(F32)


def _ge(x: np.ndarray, c: float) -> np.ndarray:
    return (~(x < F32(c))).astype(F32)


def engineer_features(rows: Any) -> np.ndarray:
    """float32 [N, 25] feature matrix from the 8 raw inputs (DataFrame, mapping or list of dicts)."""
    num, cat = _raw_arrays(rows)
    a, t, m, tc, s = (num[n] for n in NUMERIC_FEATURES)
    internet, contract, payment = (cat[n] for n in CATEGORICAL_FEATURES)

    fiber, no_internet = _is(internet, "Fiber"), _is(internet, "None")
    m2m, one, two = (_is(contract, c) for c in ("Month-to-month", "One year", "Two year"))
    echeck, mailed = _is(payment, "Electronic check"), _is(payment, "Mailed check")
    bank, card = _is(payment, AUTO[0]), _is(payment, AUTO[1])

    t_plus_1 = t + F32(1.0)
    avg_spend = np.where(t > F32(0.0), tc / np.maximum(t, F32(1.0)), m)
    bucket = ((_ge(t, 6.0) + _ge(t, 12.0)) + _ge(t, 24.0)) + _ge(t, 48.0)
    columns = [
        a,
        t,
        m,
        tc,
        s,
        t / F32(12.0),
        (t < F32(NEW_CUSTOMER_MONTHS)).astype(F32),
        bucket,
        avg_spend,
        tc / np.maximum(m, F32(MIN_MONTHLY)),
        m / t_plus_1,
        m - avg_spend,
        m * t,
        bank + card,
        echeck,
        echeck + mailed * F32(0.5),
        fiber,
        no_internet,
        fiber * m2m,
        s / t_plus_1,
        _ge(s, HIGH_SUPPORT_CALLS),
        m2m,
        (m2m * F32(1.0) + one * F32(0.4)) + two * F32(0.1),
        (m2m * F32(1.0) + one * F32(12.0)) + two * F32(24.0),
        m2m * t,
    ]
    out = np.empty((len(a), N_FEATURES), dtype=F32)
    for j, col in enumerate(columns):
        out[:, j] = col
    return out


class ChurnFeatures(TransformerMixin, BaseEstimator):
    """sklearn step computing :func:`engineer_features` (stateless)."""

    def fit(self, X, y=None):  # noqa: N803 - sklearn API
        self.n_features_out_ = N_FEATURES
        return self

    def transform(self, X):  # noqa: N803
        return engineer_features(X)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(FEATURE_NAMES, dtype=object)


# ----------------------------------------------------------------------------------------------
# ONNX implementation
# ----------------------------------------------------------------------------------------------


class _Graph:
    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"fe_{hint}_{self._n}"

    def op(self, op_type: str, inputs: list[str], hint: str, domain: str = "", **attrs) -> str:
        from onnx import helper

        out = self._name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"{out}_node", domain=domain, **attrs))
        return out

    def const(self, value: float, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.array([[value]], dtype=F32), name))
        return name

    def const_i64(self, value: int, hint: str = "ci") -> str:
        from onnx import numpy_helper

        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.array([[value]], dtype=np.int64), name))
        return name


def build_feature_graph(opset: int, ml_opset: int, ir_version: int):
    """ONNX model: the 8 raw inputs ([N,1] float32 / string) -> ``fe_features`` float32 [N,25].

    Uses only ops that exist unchanged from ai.onnx opset 9 on (Div, Mul, Add, Sub, Less, Greater,
    Not, Cast, Where, Max, Equal on int64, Concat) and ai.onnx.ml CategoryMapper (opset 1), so it
    can be merged with whatever opsets skl2onnx chose for the classifier."""
    from onnx import TensorProto, helper

    if opset < 9:
        raise ValueError(f"feature graph needs ai.onnx opset >= 9, classifier uses {opset}")
    g = _Graph()
    FLOAT = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(n, FLOAT, [None, 1]) for n in NUMERIC_FEATURES] + [
        helper.make_tensor_value_info(n, TensorProto.STRING, [None, 1]) for n in CATEGORICAL_FEATURES
    ]

    def cast_f(x: str) -> str:
        return g.op("Cast", [x], "f", to=FLOAT)

    def indicators(column: str) -> dict[str, str]:
        cats = CATEGORIES[column]
        code = g.op(
            "CategoryMapper",
            [column],
            f"{column}_code",
            domain="ai.onnx.ml",
            cats_strings=list(cats),
            cats_int64s=list(range(len(cats))),
            default_int64=-1,
        )
        return {c: cast_f(g.op("Equal", [code, g.const_i64(i)], "eq")) for i, c in enumerate(cats)}

    def mul(x: str, y: str) -> str:
        return g.op("Mul", [x, y], "mul")

    def add(x: str, y: str) -> str:
        return g.op("Add", [x, y], "add")

    def div(x: str, y: str) -> str:
        return g.op("Div", [x, y], "div")

    def ge(x: str, c: float) -> str:
        return cast_f(g.op("Not", [g.op("Less", [x, g.const(c)], "lt")], "not"))

    a, t, m, tc, s = NUMERIC_FEATURES
    internet = indicators("internet_service")
    contract = indicators("contract")
    payment = indicators("payment_method")
    fiber, no_internet = internet["Fiber"], internet["None"]
    m2m, one, two = contract["Month-to-month"], contract["One year"], contract["Two year"]
    echeck, mailed = payment["Electronic check"], payment["Mailed check"]
    bank, card = payment[AUTO[0]], payment[AUTO[1]]

    t_plus_1 = add(t, g.const(1.0))
    avg_spend = g.op(
        "Where",
        [g.op("Greater", [t, g.const(0.0)], "gt"), div(tc, g.op("Max", [t, g.const(1.0)], "max")), m],
        "avg_spend",
    )
    bucket = add(add(add(ge(t, 6.0), ge(t, 12.0)), ge(t, 24.0)), ge(t, 48.0))
    columns = [
        a,
        t,
        m,
        tc,
        s,
        div(t, g.const(12.0)),
        cast_f(g.op("Less", [t, g.const(NEW_CUSTOMER_MONTHS)], "lt")),
        bucket,
        avg_spend,
        div(tc, g.op("Max", [m, g.const(MIN_MONTHLY)], "max")),
        div(m, t_plus_1),
        g.op("Sub", [m, avg_spend], "sub"),
        mul(m, t),
        add(bank, card),
        g.op("Identity", [echeck], "echeck"),
        add(echeck, mul(mailed, g.const(0.5))),
        g.op("Identity", [fiber], "fiber"),
        g.op("Identity", [no_internet], "no_internet"),
        mul(fiber, m2m),
        div(s, t_plus_1),
        ge(s, HIGH_SUPPORT_CALLS),
        g.op("Identity", [m2m], "m2m"),
        add(add(mul(m2m, g.const(1.0)), mul(one, g.const(0.4))), mul(two, g.const(0.1))),
        add(add(mul(m2m, g.const(1.0)), mul(one, g.const(12.0))), mul(two, g.const(24.0))),
        mul(m2m, t),
    ]
    assert len(columns) == N_FEATURES
    g.nodes.append(helper.make_node("Concat", columns, [FEATURES_OUTPUT], name="fe_concat", axis=1))
    graph = helper.make_graph(
        g.nodes,
        "churn_features",
        inputs,
        [helper.make_tensor_value_info(FEATURES_OUTPUT, FLOAT, [None, N_FEATURES])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", ml_opset)],
        producer_name="churn-trainer-features",
    )
    model.ir_version = ir_version
    return model
