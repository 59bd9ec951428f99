"""Fixtures of the neural models' tests: tiny learnable datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from warprec.data.dataset import Dataset
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import Recommender
from warprec.recommenders.trainer import Trainer
from warprec.testing.data import toy_dataset


@pytest.fixture(scope="session")
def toy() -> Dataset:
    """The conformance kit's clustered toy data (48 users, 32 items, 4 taste clusters)."""
    return toy_dataset()


@pytest.fixture(scope="session")
def chain() -> Dataset:
    """A sequential toy: every user walks the items in order ``s, s+1, s+2, ...`` (mod 30),
    from a random start; the last step is the test item, the one before it validation."""
    rng = np.random.default_rng(0)
    n_users, n_items, length = 60, 30, 8
    start = rng.integers(0, n_items, n_users)
    items = (start[:, None] + np.arange(length)[None, :]) % n_items
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), length),
            "item_id": items.ravel(),
            "timestamp": np.tile(np.arange(length), n_users),
        }
    )
    last = frame["timestamp"] == length - 1
    valid = frame["timestamp"] == length - 2
    return Dataset(frame[~last & ~valid], frame[last], frame[valid])


class RandomScores(Recommender):
    """Seeded uniform random scores: the chance level a trained model must beat."""

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        generator = torch.Generator().manual_seed(self.seed + int(user_indices.sum()))
        shape = (len(user_indices), self.n_items) if item_indices is None else item_indices.shape
        return torch.rand(shape, generator=generator)


def fit(model_class: type, params: dict, dataset: Dataset, **trainer: Any) -> Any:
    """Build ``model_class`` on ``dataset`` and train it with the core trainer."""
    model = model_class(params, dataset.info(), seed=7)
    Trainer(model, dataset, progress=False, **trainer).fit()
    return model


def ndcg(model: Any, dataset: Dataset, split: str = "test") -> float:
    """Full-ranking nDCG@10 of ``model`` on ``split``."""
    evaluator = Evaluator(metrics=["nDCG"], top_k=[10])
    return evaluator.evaluate(model, dataset, split=split).summary()["nDCG@10"]


def chance(dataset: Dataset) -> float:
    """nDCG@10 of random scores on the test split."""
    return ndcg(RandomScores({}, dataset.info(), seed=3), dataset)
