"""Full-ranking evaluation throughput against the bare score multiplication.

A 64-factor matrix-factorisation model with random embeddings is evaluated on a random
dataset of 20,000 users x 20,000 items (about 50 training and 10 test items per user),
at k = 10 and 20 with every full-ranking metric. The same run times the bare
``user_batch @ item_embeddings.T`` over all users in the evaluator's batches, so the
ratio is comparable across machines.

    .venv/bin/python bench/bench_evaluation.py [--users 20000] [--items 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from warprec.data.dataset import Dataset
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import Recommender

METRICS = [
    "nDCG", "Precision", "Recall", "HitRate", "MRR", "MAP", "F1",
    "ItemCoverage", "Gini", "ShannonEntropy", "EPC", "APLT", "ARP",
]  # fmt: skip


class MF(Recommender):
    """Dot-product matrix factorisation with random embeddings."""

    factors: int = 64

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42, **kwargs: Any):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.user_embedding = nn.Parameter(torch.randn(self.n_users, self.factors) * 0.1)
        self.item_embedding = nn.Parameter(torch.randn(self.n_items, self.factors) * 0.1)

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """User-item dot products."""
        users = self.user_embedding[user_indices]
        if item_indices is None:
            return users @ self.item_embedding.T
        return torch.einsum("be,bse->bs", users, self.item_embedding[item_indices])


def random_dataset(n_users: int, n_items: int, train: int, test: int, seed: int) -> Dataset:
    """Every user gets ``train`` + ``test`` distinct items, Zipf-popular."""
    rng = np.random.default_rng(seed)
    per_user = train + test
    weights = (1.0 / np.arange(1, n_items + 1) ** 0.8).astype(np.float32)
    chunks = []
    for first in range(0, n_users, 1000):  # weighted sampling without replacement by keys
        uniform = 1.0 - rng.random((min(1000, n_users - first), n_items), dtype=np.float32)
        chunks.append(np.argpartition(-np.log(uniform) / weights, per_user, axis=1)[:, :per_user])
    items = np.concatenate(chunks)
    users = np.repeat(np.arange(n_users), per_user).reshape(n_users, per_user)
    every_item = pd.DataFrame(
        {"user_id": np.arange(n_items) % n_users, "item_id": np.arange(n_items)}
    )
    train_df = pd.DataFrame(
        {"user_id": users[:, :train].ravel(), "item_id": items[:, :train].ravel()}
    )
    test_df = pd.DataFrame(
        {"user_id": users[:, train:].ravel(), "item_id": items[:, train:].ravel()}
    )
    train_df = pd.concat([train_df, every_item]).drop_duplicates()
    return Dataset(train_df, test_df, implicit=True)


def bare_multiply(model: MF, batch: int) -> float:
    """Seconds to compute every user's full score row, in the evaluator's batches."""
    start = time.perf_counter()
    with torch.no_grad():
        for first in range(0, model.n_users, batch):
            users = torch.arange(first, min(first + batch, model.n_users))
            model.user_embedding[users] @ model.item_embedding.T
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    dataset = random_dataset(args.users, args.items, train=50, test=10, seed=0)
    model = MF({}, dataset.info(), device=args.device).to(args.device)
    evaluator = Evaluator(METRICS, top_k=[10, 20], strategy="full")
    batch = evaluator._batch(dataset.n_items)
    evaluator.evaluate(model, dataset, split="test")  # warm-up (caches, allocator)
    multiply, evaluate = [], []
    for _ in range(args.repeat):
        multiply.append(bare_multiply(model, batch))
        result = evaluator.evaluate(model, dataset, split="test")
        if args.device != "cpu":
            torch.cuda.synchronize()
        evaluate.append(result.seconds)
    m, e = min(multiply), min(evaluate)
    print(f"dataset: {dataset}, batch {batch} users, torch threads {torch.get_num_threads()}")
    print(f"bare multiply : {m:.3f} s ({dataset.n_users / m:,.0f} users/s)")
    print(
        f"evaluation    : {e:.3f} s ({result.n_users_evaluated / e:,.0f} users/s), "
        f"{len(result.values)} values"
    )
    print(f"ratio         : {e / m:.2f}x the bare multiply")


if __name__ == "__main__":
    main()
