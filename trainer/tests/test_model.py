import numpy as np

from trainer.data import FEATURES
from trainer.model import precision_at_k


def test_holdout_is_split_by_customer(trained):
    assert len(trained.train) == 16000 and len(trained.holdout) == 4000
    assert not set(trained.train["customer_id"]) & set(trained.holdout["customer_id"])


def test_model_learns_the_signal(trained):
    m = trained.metrics
    assert m["roc_auc"] > 0.75
    assert m["pr_auc"] > trained.holdout["churned"].mean()  # better than random ranking
    assert 0 <= m["brier"] < 0.2
    assert m["precision_at_50"] > 0.5
    for key in ("accuracy", "precision", "recall", "log_loss"):
        assert np.isfinite(m[key]), key


def test_customer_id_is_not_a_feature(trained):
    pre = trained.pipeline.named_steps["preprocess"]
    used = [c for _, _, cols in pre.transformers_ if cols != "drop" for c in cols]
    assert "customer_id" not in used and sorted(used) == sorted(FEATURES)


def test_same_seed_same_probabilities(trained, retrained):
    np.testing.assert_array_equal(trained.holdout_scores, retrained.holdout_scores)
    assert trained.model_sha256 == retrained.model_sha256
    assert (trained.output_dir / "model.onnx").read_bytes() == (
        retrained.output_dir / "model.onnx"
    ).read_bytes()


def test_precision_at_k_counts_the_top_rows():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1])
    assert precision_at_k(y, s, 2) == 0.5
    assert precision_at_k(y, s, 3) == 2 / 3
    assert precision_at_k(y, s, 50) == 0.5
