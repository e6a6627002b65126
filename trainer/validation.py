"""Data-validation gate run before any training: a failing check stops the run (exit code 5)
with a readable report (``validation_report.md`` / ``.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainer.schema import (
    CATEGORICAL_FEATURES,
    CATEGORIES,
    ID_COLUMN,
    INTEGER_FEATURES,
    LABEL,
    NUMERIC_BOUNDS,
    NUMERIC_FEATURES,
    REQUIRED_COLUMNS,
)

MIN_ROWS = 100
MIN_MINORITY_SHARE = 0.02
_MAX_EXAMPLES = 5


@dataclass
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class ValidationReport:
    n_rows: int
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}

    def to_markdown(self, source: str = "") -> str:
        status = "PASSED" if self.passed else f"FAILED ({len(self.failed)} of {len(self.checks)} checks)"
        lines = [
            "# Data validation report",
            "",
            f"- source: `{source}`" if source else "- source: (in memory)",
            f"- rows: {self.n_rows}",
            f"- result: **{status}**",
            "",
            "| check | result | detail |",
            "|---|---|---|",
        ]
        for c in self.checks:
            detail = c.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{c.name}` | {'pass' if c.passed else '**FAIL**'} | {detail} |")
        return "\n".join(lines) + "\n"


def _examples(values: pd.Series) -> str:
    uniq = list(dict.fromkeys(values.tolist()))
    shown = ", ".join(repr(v) for v in uniq[:_MAX_EXAMPLES])
    return shown + (", ..." if len(uniq) > _MAX_EXAMPLES else "")


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def validate(df: pd.DataFrame, *, require_columns: tuple[str, ...] = ()) -> ValidationReport:
    """Run every check (none short-circuits, so the report lists all problems at once)."""
    report = ValidationReport(n_rows=int(len(df)))
    add = report.checks.append
    required = (*REQUIRED_COLUMNS, *require_columns)
    missing = [c for c in required if c not in df.columns]
    add(Check("required_columns", not missing, f"missing: {', '.join(missing)}" if missing else f"all {len(required)} present"))
    present = [c for c in required if c in df.columns]

    add(Check("min_rows", len(df) >= MIN_ROWS, f"{len(df)} rows (need >= {MIN_ROWS})"))

    # dtypes
    problems = []
    for name in NUMERIC_FEATURES:
        if name not in df.columns:
            continue
        s = df[name]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            problems.append(f"{name} is {s.dtype}, expected numeric")
        elif name in INTEGER_FEATURES:
            v = s.dropna().to_numpy(dtype=np.float64)
            bad = ~np.isfinite(v) | (v != np.round(v))
            if bad.any():
                problems.append(f"{name} must hold integers ({int(bad.sum())} non-integral values, e.g. {_examples(s.dropna()[bad])})")
    for name in (*CATEGORICAL_FEATURES, ID_COLUMN):
        if name in df.columns and not _is_text(df[name]):
            problems.append(f"{name} is {df[name].dtype}, expected string")
    if LABEL in df.columns and not (pd.api.types.is_numeric_dtype(df[LABEL]) or pd.api.types.is_bool_dtype(df[LABEL])):
        problems.append(f"{LABEL} is {df[LABEL].dtype}, expected 0/1 integers or booleans")
    add(Check("dtypes", not problems, "; ".join(problems) or "numeric, integer and string columns ok"))

    # nulls
    nulls = {c: int(df[c].isna().sum()) for c in present}
    nulls = {c: k for c, k in nulls.items() if k}
    add(Check("no_nulls", not nulls, ", ".join(f"{c}: {k} null" for c, k in nulls.items()) or "no nulls in required columns"))

    # ranges
    problems = []
    for name, bounds in NUMERIC_BOUNDS.items():
        if name not in df.columns or not pd.api.types.is_numeric_dtype(df[name]):
            continue
        v = df[name].dropna().astype(np.float64)
        bad = ~np.isfinite(v)
        if "minimum" in bounds:
            bad |= v < bounds["minimum"]
        if "exclusive_minimum" in bounds:
            bad |= v <= bounds["exclusive_minimum"]
        bad |= v > bounds["maximum"]
        if bad.any():
            low = f"> {bounds['exclusive_minimum']}" if "exclusive_minimum" in bounds else f">= {bounds['minimum']}"
            problems.append(f"{name}: {int(bad.sum())} values outside [{low}, <= {bounds['maximum']}] e.g. {_examples(v[bad])}")
    add(Check("ranges", not problems, "; ".join(problems) or "all numeric values within the signature bounds"))

    # categories
    problems = []
    for name in CATEGORICAL_FEATURES:
        if name not in df.columns:
            continue
        s = df[name].dropna().astype(str)
        bad = ~s.isin(CATEGORIES[name])
        if bad.any():
            problems.append(f"{name}: {int(bad.sum())} unknown values {_examples(s[bad])} (allowed: {', '.join(CATEGORIES[name])})")
    add(Check("categories", not problems, "; ".join(problems) or "all categories known"))

    # label values and class balance
    if LABEL in df.columns:
        y = df[LABEL].dropna()
        ok_values = pd.api.types.is_bool_dtype(y) or (pd.api.types.is_numeric_dtype(y) and y.isin([0, 1]).all())
        add(Check("label_values", bool(ok_values), f"{LABEL} values are 0/1" if ok_values else f"{LABEL} must be 0/1, got {_examples(y)}"))
        if ok_values and len(y):
            share = float(y.astype(np.int64).mean())
            minority = min(share, 1.0 - share)
            both = 0.0 < share < 1.0
            add(
                Check(
                    "class_balance",
                    both and minority >= MIN_MINORITY_SHARE,
                    f"churn rate {share:.4f}, minority share {minority:.4f} (need both classes and >= {MIN_MINORITY_SHARE:.0%})",
                )
            )
        else:
            add(Check("class_balance", False, "cannot compute: no valid labels"))
    else:
        add(Check("label_values", False, f"no {LABEL} column"))
        add(Check("class_balance", False, f"no {LABEL} column"))

    # duplicate ids
    if ID_COLUMN in df.columns:
        dup = df[ID_COLUMN][df[ID_COLUMN].duplicated(keep=False)]
        add(
            Check(
                "unique_customer_id",
                dup.empty,
                f"{dup.nunique()} duplicated ids ({len(dup)} rows), e.g. {_examples(dup)}" if not dup.empty else "customer_id is unique",
            )
        )
    else:
        add(Check("unique_customer_id", False, f"no {ID_COLUMN} column"))
    return report


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical dtypes for a frame that passed :func:`validate`."""
    out = df.copy()
    for name in NUMERIC_FEATURES:
        out[name] = out[name].astype(np.int64 if name in INTEGER_FEATURES else np.float64)
    for name in (ID_COLUMN, *CATEGORICAL_FEATURES):
        out[name] = out[name].astype(str).astype(object)
    out[LABEL] = out[LABEL].astype(np.int64)
    if "signup_date" in out.columns:
        out["signup_date"] = pd.to_datetime(out["signup_date"])
    return out.reset_index(drop=True)
