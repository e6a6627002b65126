"""Evaluation artifacts: PR / ROC curve images, confusion matrix JSON, markdown + HTML report."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

PR_CURVE_FILE = "pr_curve.png"
ROC_CURVE_FILE = "roc_curve.png"
CONFUSION_FILE = "confusion_matrix.json"
REPORT_MD_FILE = "report.md"
REPORT_HTML_FILE = "report.html"
CANDIDATES_FILE = "candidates.json"


def _plot_curves(y: np.ndarray, curves: dict[str, np.ndarray], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for label, s in curves.items():
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=f"{label} (AP {average_precision_score(y, s):.3f})")
    ax.axhline(float(np.mean(y)), color="grey", linestyle=":", label=f"base rate {np.mean(y):.3f}")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (holdout)", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / PR_CURVE_FILE, metadata={"Software": None})
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for label, s in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (holdout)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / ROC_CURVE_FILE, metadata={"Software": None})
    plt.close(fig)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_evaluation(
    out_dir: Path,
    *,
    y_holdout: np.ndarray,
    scores: np.ndarray,
    champion_scores: np.ndarray | None,
    summary: dict[str, Any],
) -> list[str]:
    """Write the evaluation files into ``out_dir``; returns their names.

    ``summary`` holds model_family, metrics, gates, gates_passed, candidates, split, features,
    class_weight, champion (or None)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m = summary["metrics"]
    confusion = {
        "threshold": summary["threshold"],
        "labels": [0, 1],
        "matrix": [[m["tn"], m["fp"]], [m["fn"], m["tp"]]],
        "tn": m["tn"],
        "fp": m["fp"],
        "fn": m["fn"],
        "tp": m["tp"],
    }
    (out_dir / CONFUSION_FILE).write_text(json.dumps(confusion, indent=2) + "\n", encoding="utf-8")
    (out_dir / CANDIDATES_FILE).write_text(json.dumps(summary["candidates"], indent=2) + "\n", encoding="utf-8")
    curves = {f"challenger ({summary['model_family']})": scores}
    if champion_scores is not None:
        curves[f"champion v{summary['champion']['version']}"] = champion_scores
    _plot_curves(np.asarray(y_holdout), curves, out_dir)

    md = _markdown(summary)
    (out_dir / REPORT_MD_FILE).write_text(md, encoding="utf-8")
    (out_dir / REPORT_HTML_FILE).write_text(_html(md, summary), encoding="utf-8")
    return [CONFUSION_FILE, CANDIDATES_FILE, PR_CURVE_FILE, ROC_CURVE_FILE, REPORT_MD_FILE, REPORT_HTML_FILE]


def _markdown(s: dict[str, Any]) -> str:
    m = s["metrics"]
    champ = s.get("champion")
    lines = [
        f"# Churn model training report: {s['model_name']}",
        "",
        f"- model family: **{s['model_family']}** (selected by validation PR-AUC)",
        f"- data: {s['data_source']}; split `{s['split']}`: train {m['train_rows']}, validation {m['validation_rows']}, holdout {m['holdout_rows']} rows",
        f"- class weights: `{s['class_weight']}` (probabilities prior-corrected, see README)",
        f"- gates: **{'PASSED' if s['gates_passed'] else 'FAILED'}**",
        "",
        "## Gates",
        "",
        "| gate | value | op | threshold | result |",
        "|---|---|---|---|---|",
    ]
    for g in s["gates"]:
        lines.append(f"| {g['name']} | {_fmt(g['value'])} | {g['op']} | {_fmt(g['threshold'])} | {'pass' if g['passed'] else '**FAIL**'} |")
    keys = [
        "roc_auc",
        "pr_auc",
        "precision_at_50",
        "precision",
        "recall",
        "brier",
        "accuracy",
        "log_loss",
        "mean_predicted",
        "holdout_churn_rate",
        "tn",
        "fp",
        "fn",
        "tp",
    ]
    lines += [
        "",
        "## Holdout metrics (threshold 0.5 for precision / recall / accuracy)",
        "",
        "| metric | challenger |" + (f" champion v{champ['version']} |" if champ else ""),
        "|---|---|" + ("---|" if champ else ""),
    ]
    for k in keys:
        row = f"| {k} | {_fmt(m.get(k))} |"
        if champ:
            row += f" {_fmt(champ['metrics'].get(k, ''))} |"
        lines.append(row)
    lines += [
        "",
        f"ONNX vs Python max abs diff on the whole holdout: {_fmt(m['onnx_parity_max_abs_diff'])}",
        "",
        "## Candidates (validation part)",
        "",
        "| family | params | val PR-AUC | val ROC-AUC | iterations |",
        "|---|---|---|---|---|",
    ]
    for c in s["candidates"]:
        params = ", ".join(f"{k}={v}" for k, v in c["params"].items() if k not in ("max_iter", "early_stopping", "n_iter_no_change", "scoring", "solver"))
        lines.append(f"| {c['family']} | {params} | {c['val_pr_auc']:.4f} | {c['val_roc_auc']:.4f} | {c['n_iter'] if c['n_iter'] is not None else ''} |")
    lines += [
        "",
        f"Engineered features ({len(s['features'])}): " + ", ".join(f"`{f}`" for f in s["features"]),
        "",
        f"![PR curve]({PR_CURVE_FILE}) ![ROC curve]({ROC_CURVE_FILE})",
        "",
    ]
    return "\n".join(lines)


def _html(md: str, s: dict[str, Any]) -> str:
    body = html.escape(md)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(s['model_name'])} training report</title></head><body>"
        f"<pre style='font-family: ui-monospace, monospace'>{body}</pre>"
        f"<img src='{PR_CURVE_FILE}' alt='PR curve'> <img src='{ROC_CURVE_FILE}' alt='ROC curve'>"
        "</body></html>\n"
    )
