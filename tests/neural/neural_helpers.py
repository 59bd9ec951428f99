"""Helpers of the neural models' tests: training, scoring and the chance level."""

from __future__ import annotations

from typing import Any

import torch
from warprec.data.dataset import Dataset
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import Recommender
from warprec.recommenders.trainer import Trainer


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
