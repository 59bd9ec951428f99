"""A model with fixed scores and a dataset built from dense 0/1 matrices."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import Tensor
from warprec.recommenders.base_recommender import Recommender


class Rows:
    """The part of Interactions the evaluator uses."""

    def __init__(self, matrix: Any) -> None:
        self.matrix = sp.csr_matrix(np.asarray(matrix, dtype=np.float32))

    def get_sparse(self) -> sp.csr_matrix:
        return self.matrix


class ScoreModel(Recommender):
    """Returns the score matrix it was given."""

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42, **kwargs: Any):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.register_buffer("scores", torch.as_tensor(kwargs["scores"], dtype=torch.float32))

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        scores = self.scores[user_indices]
        return scores if item_indices is None else scores.gather(1, item_indices)


def build(train: Any, test: Any, validation: Any = None) -> SimpleNamespace:
    """A dataset of the given dense matrices (``train_validation`` = their union)."""
    train = np.asarray(train, dtype=np.float32)
    merged = train if validation is None else np.maximum(train, np.asarray(validation))
    n_users, n_items = train.shape
    return SimpleNamespace(
        train=Rows(train),
        test=Rows(test),
        validation=None if validation is None else Rows(validation),
        train_validation=Rows(merged),
        n_users=n_users,
        n_items=n_items,
        info=lambda: {"n_users": n_users, "n_items": n_items},
    )


def model_for(scores: Any, seed: int = 42) -> ScoreModel:
    """A ScoreModel over ``scores [n_users, n_items]``."""
    scores = np.asarray(scores, dtype=np.float32)
    info = {"n_users": scores.shape[0], "n_items": scores.shape[1]}
    return ScoreModel({}, info, seed=seed, scores=scores)


@pytest.fixture
def tools() -> SimpleNamespace:
    """Helpers shared by the evaluation tests."""
    return SimpleNamespace(build=build, model_for=model_for)
