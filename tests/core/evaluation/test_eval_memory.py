"""Full-ranking evaluation streams the users: its memory does not grow with their number.

Evaluated twice with the same batch size, 2,000 and 20,000 users over 4,000 items: a
score matrix of all users would be 32 MB against 320 MB. Two measures, both of the
second evaluation of a dataset (the first builds the split's cached sparse matrices,
which grow with the interactions, not with the scoring): Python-level allocations
(``tracemalloc``: the model's numpy scores and the evaluator's numpy work) and, on
Linux, the peak resident memory over the evaluation (``VmHWM`` after a reset through
``/proc/self/clear_refs``), which also sees torch's tensors.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from warprec.data.dataset import Dataset
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import Recommender

N_ITEMS, BATCH = 4_000, 256
MIB = 2**20


class NumpyScores(Recommender):
    """Scores from numpy (so ``tracemalloc`` sees every score matrix it makes)."""

    def __init__(self, info: dict, factors: int = 8) -> None:
        super().__init__({}, info)
        rng = np.random.default_rng(0)
        self.users = rng.normal(size=(info["n_users"], factors)).astype(np.float32)
        self.items = rng.normal(size=(info["n_items"], factors)).astype(np.float32)

    def predict(self, user_indices: torch.Tensor, *args: Any,
                item_indices: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """``users @ items.T`` for the batch, all items."""
        return torch.from_numpy(self.users[user_indices.numpy()] @ self.items.T)


def dataset_of(n_users: int) -> Dataset:
    """Each user: 20 training and 5 test items, drawn at random."""
    rng = np.random.default_rng(n_users)
    picks = np.stack([rng.choice(N_ITEMS, 25, replace=False) for _ in range(n_users)])
    users = np.arange(n_users)

    def frame(columns: slice) -> pd.DataFrame:
        chosen = picks[:, columns]
        return pd.DataFrame({"user_id": np.repeat(users, chosen.shape[1]),
                             "item_id": chosen.ravel()})

    dataset = Dataset(frame(slice(0, 20)), frame(slice(20, 25)), implicit=True)
    assert dataset.n_items == N_ITEMS and dataset.n_users == n_users
    return dataset


def _reset_peak_rss() -> int:
    """Reset ``VmHWM`` to the current RSS; returns that RSS in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} missing from /proc/self/status")


def evaluation_growth(n_users: int, batch: int = BATCH) -> tuple[int, int | None]:
    """(tracemalloc peak, peak RSS growth or None off Linux) of one full-ranking
    evaluation of ``n_users`` users, the dataset's caches already built."""
    dataset = dataset_of(n_users)
    model = NumpyScores(dataset.info())
    evaluator = Evaluator(metrics=["nDCG", "Recall"], top_k=[10], batch_size=batch)
    evaluator.evaluate(model, dataset, split="test")  # builds the cached matrices
    linux = sys.platform.startswith("linux")
    start = _reset_peak_rss() if linux else 0
    tracemalloc.start()
    try:
        result = evaluator.evaluate(model, dataset, split="test")
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.n_users_evaluated == n_users
    return traced, (_status("VmHWM") - start) if linux else None


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # steadier allocation pattern
    yield
    torch.set_num_threads(before)


def test_full_ranking_memory_does_not_grow_with_the_users(one_thread):
    small_traced, small_rss = evaluation_growth(2_000)
    large_traced, large_rss = evaluation_growth(20_000)
    full_matrix = 20_000 * N_ITEMS * 4  # 320 MB: what materialising all scores costs
    # Per-user results (a few floats per user and metric) are the only part that may
    # grow: 20,000 users x a few metrics x 8 bytes is well under 2 MiB.
    assert large_traced < 2 * small_traced + 2 * MIB, (small_traced, large_traced)
    assert large_traced < full_matrix / 10
    if small_rss is not None:
        assert large_rss < 2 * small_rss + 16 * MIB, (small_rss, large_rss)
        assert large_rss < full_matrix / 4


def test_the_measure_sees_a_score_matrix_of_all_users(one_thread):
    # Negative control: one batch of every user materialises the 320 MB matrix, and
    # both measures of the test above see it.
    traced, rss = evaluation_growth(20_000, batch=20_000)
    assert traced > 20_000 * N_ITEMS * 4 * 0.9
    if rss is not None:
        assert rss > 20_000 * N_ITEMS * 4 * 0.5
