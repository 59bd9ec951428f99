"""Data-layer benchmark: reading, id mapping and splitting vs pandas.read_csv alone, and
one epoch of the contrastive (BPR) dataloader.

Run by hand (not a test): ``.venv/bin/python bench/bench_data.py [--rows 1000000]``.
The timings alternate in one process so that the ratio survives a noisy machine; the
median of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from warprec.data.dataset import Dataset
from warprec.data.reader import read_interactions
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _pipeline(path: Path) -> Dataset:
    result = read_interactions(path)
    split = RandomHoldoutPerUser(test_ratio=0.2, seed=42).split(result.data)
    return Dataset(split.train, split.test, implicit=True, report=result.dropped)


def _epoch(loader: object) -> int:
    return sum(1 for _ in loader)  # type: ignore[attr-defined]


def main() -> None:
    """Write the synthetic file, time both pipelines alternately, print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4096)
    args = parser.parse_args()

    frame = synthetic(
        n_users=max(args.rows // 10, 10), n_items=max(args.rows // 50, 20), n_interactions=args.rows
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "interactions.tsv"
        frame.to_csv(path, sep="\t", index=False)
        read_csv, ours = [], []
        for _ in range(args.repeat):
            read_csv.append(_seconds(lambda: pd.read_csv(path, sep="\t")))
            ours.append(_seconds(lambda: _pipeline(path)))

    rows = [
        ("pandas.read_csv", statistics.median(read_csv)),
        ("read + id maps + per-user 80/20 split", statistics.median(ours)),
    ]
    ratio = rows[1][1] / rows[0][1]
    # The loaders run over all rows (not the 80% train part): one epoch = 1M interactions.
    full = Dataset(frame, frame.iloc[:1], implicit=True)
    for name, strategy in (("uniform", "uniform"), ("popularity^0.75", "popularity")):
        loader = full.train.get_contrastive_dataloader(
            batch_size=args.batch_size, neg_sampling=strategy
        )
        _epoch(loader)  # the first pass builds the sampler
        times = [_seconds(lambda loader=loader: _epoch(loader)) for _ in range(args.repeat)]
        rows.append(
            (f"contrastive epoch, {name} ({len(full.train):,} rows)", statistics.median(times))
        )
    sequential = full.train_sessions.get_sequential_dataloader(
        max_seq_len=50, batch_size=args.batch_size
    )
    _epoch(sequential)
    times = [_seconds(lambda: _epoch(sequential)) for _ in range(args.repeat)]
    rows.append(("sequential epoch, max_seq_len 50", statistics.median(times)))

    print(f"{args.rows:,} rows, median of {args.repeat}, batch {args.batch_size}")
    for name, seconds in rows:
        print(f"  {name:<52} {seconds:8.3f} s")
    print(f"  ratio (ours / read_csv)                              {ratio:8.2f} x")


if __name__ == "__main__":
    main()
