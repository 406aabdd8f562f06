"""segdsl's benchmarks: each figure times our code and a baseline in the same run and
reports the ratio and the goal. Run ``python -m bench`` from the repository root; see
``bench/README.md``. Not part of the test suite."""

from pathlib import Path

#: The repository root (bench/ lives directly under it).
ROOT = Path(__file__).resolve().parent.parent

#: Where result files go (git-ignored).
RESULTS = ROOT / "bench" / "results"
