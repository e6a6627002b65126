import numpy as np

from trainer.data import generate_customers
from trainer.features import FEATURE_NAMES
from trainer.model import HGB_GRID, cohort_buckets, evaluate_gates, gate_specs, precision_at_k, split


def test_holdout_is_a_customer_cohort_not_a_row_sample(trained):
    assert not set(trained.train["customer_id"]) & set(trained.holdout["customer_id"])
    assert not set(trained.train["customer_id"]) & set(trained.validation_part["customer_id"])
    n = len(trained.train) + len(trained.validation_part) + len(trained.holdout)
    assert n == 20000 and 0.17 < len(trained.holdout) / n < 0.23
    assert (cohort_buckets(trained.holdout["customer_id"]) < 20).all()


def test_cohort_split_is_stable_across_seeds_and_sizes():
    small = split(generate_customers(3000, 1))[2]
    large = split(generate_customers(6000, 2))[2]
    small_ids = set(small["customer_id"])
    assert small_ids == set(large["customer_id"]) & {f"CUST{i:06d}" for i in range(1, 3001)}


def test_recent_signups_split_holds_out_the_newest_customers():
    df = generate_customers(3000, 1)
    train, val, hold = split(df, "recent_signups")
    assert hold["signup_date"].min() >= val["signup_date"].max() >= train["signup_date"].max()
    assert len(hold) == 600


def test_default_size_passes_the_seed_002_gates(trained):
    m = trained.metrics
    assert m["pr_auc"] > 0.60 and m["roc_auc"] > 0.70 and m["precision_at_50"] > 0.40
    assert trained.gates_passed and all(g["passed"] for g in trained.gates)
    # not trivially separable either
    assert m["roc_auc"] < 0.95 and m["pr_auc"] < 0.9


def test_probabilities_are_calibrated_despite_class_weights(trained):
    m = trained.metrics
    assert abs(m["mean_predicted"] - m["holdout_churn_rate"]) < 0.02
    assert m["brier"] < 0.16


def test_shuffled_labels_fail_the_gates(shuffled):
    gates = {g["name"]: g["passed"] for g in shuffled.gates}
    assert not shuffled.gates_passed
    assert not gates["pr_auc"] and not gates["roc_auc"]
    assert gates["onnx_parity"]  # export itself is fine


def test_auto_trains_both_families_with_a_bounded_search(trained):
    families = [c["family"] for c in trained.summary["candidates"]]
    assert families.count("logistic_regression") == 1
    assert 1 <= families.count("hist_gradient_boosting") == len(HGB_GRID) <= 6
    best = max(trained.summary["candidates"], key=lambda c: c["val_pr_auc"])
    assert trained.model_family == best["family"]


def test_model_sees_the_engineered_features(trained):
    assert trained.pipeline.named_steps["features"].transform(trained.holdout.head(3)).shape == (3, len(FEATURE_NAMES))


def test_same_seed_same_model_bytes(trained_hgb, trained_hgb_again):
    np.testing.assert_array_equal(trained_hgb.holdout_scores, trained_hgb_again.holdout_scores)
    assert trained_hgb.model_sha256 == trained_hgb_again.model_sha256
    assert (trained_hgb.output_dir / "model.onnx").read_bytes() == (trained_hgb_again.output_dir / "model.onnx").read_bytes()


def test_gates_operators():
    specs = gate_specs(0.6, 0.7, 0.4, 1e-5)
    res = evaluate_gates(specs, {"pr_auc": 0.6, "roc_auc": 0.71, "precision_at_50": 0.5, "onnx_parity_max_abs_diff": 1e-5})
    assert [(g["name"], g["op"], g["passed"]) for g in res] == [
        ("pr_auc", ">", False),
        ("roc_auc", ">", True),
        ("precision_at_50", ">", True),
        ("onnx_parity", "<=", True),
    ]


def test_precision_at_k_counts_the_top_rows():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1])
    assert precision_at_k(y, s, 2) == 0.5
    assert precision_at_k(y, s, 3) == 2 / 3
    assert precision_at_k(y, s, 50) == 0.5
