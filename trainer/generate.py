"""``python -m trainer.generate --n-customers N --seed S --out customers.csv|.parquet``

Writes the synthetic population (``schema.COLUMNS``, label ``churned`` included). With
``--shuffle-labels`` the label column is permuted (a negative control: the gates must fail).
Prints one JSON line on stdout with the path, row count and churn rate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainer.data import generate_customers, write_customers
from trainer.schema import LABEL


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--n-customers", type=int, default=50000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, required=True, help="output .csv or .parquet")
    p.add_argument("--shuffle-labels", action="store_true", help="permute the churned column")
    args = p.parse_args(argv)
    if args.n_customers < 1:
        p.error("--n-customers must be >= 1")
    if args.out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        p.error("--out must end in .csv or .parquet")
    df = generate_customers(args.n_customers, args.seed)
    if args.shuffle_labels:
        df[LABEL] = np.random.default_rng(args.seed + 1).permutation(df[LABEL].to_numpy())
    path = write_customers(df, args.out)
    print(json.dumps({"path": str(path.resolve()), "rows": len(df), "churn_rate": float(df[LABEL].mean()), "shuffled_labels": args.shuffle_labels}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
