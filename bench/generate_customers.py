"""Prints how long the reference trainer takes to generate a synthetic population (a figure, not a
test: the test suite checks only that a million customers come out right).

usage: .venv/bin/python bench/generate_customers.py [n_customers (1000000)] [runs (3)]
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data import generate_customers  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = []
    for seed in range(1, runs + 1):
        t0 = time.perf_counter()
        generate_customers(n, seed)
        seconds.append(time.perf_counter() - t0)
    print(
        f"generate_customers({n:,}): min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s over {runs} runs ({n / min(seconds):,.0f} customers/s at best)"
    )


if __name__ == "__main__":
    main()
