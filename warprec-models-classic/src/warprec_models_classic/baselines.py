"""Non-personalised baselines: most-popular items (Pop) and random scores (Random)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import Recommender

__all__ = ["Pop", "Random"]


def _expand(row: Tensor, user_indices: Tensor, item_indices: Tensor | None) -> Tensor:
    """One score per item, the same for every user: ``[B, n_items]`` or ``[B, S]``."""
    if item_indices is None:
        return row.unsqueeze(0).expand(user_indices.shape[0], -1).clone()
    return row[item_indices.to(row.device)]


class Pop(Recommender):
    """Scores every item by the number of training users who interacted with it."""

    needs_training_data = True

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        X = interactions.get_sparse()
        counts = np.bincount(X.indices, minlength=self.n_items).astype(np.float32)
        self.register_buffer("popularity", torch.from_numpy(counts).to(self.device))

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Item popularity for each user, all items or ``item_indices``."""
        return _expand(self.popularity, user_indices, item_indices)


class Random(Recommender):
    """Scores each (user, item) pair with a uniform number in [0, 1) fixed by the seed.

    The score is a hash of (seed, user, item): the same pair always gets the same score,
    in full and sampled evaluation alike, and the model has no state to train.
    """

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions | None = None,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, *args, seed=seed, **kwargs)

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Seeded pseudo-random scores, all items or ``item_indices``."""
        users = user_indices.detach().cpu().numpy().astype(np.uint64)[:, None]
        if item_indices is None:
            items = np.arange(self.n_items, dtype=np.uint64)[None, :]
        else:
            items = item_indices.detach().cpu().numpy().astype(np.uint64)
        keys = users * np.uint64(self.n_items) + items
        scores = _uniform(keys, self.seed)
        return torch.from_numpy(scores).to(self.device)


def _uniform(keys: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``keys`` mixed with ``seed``, mapped to float32 in [0, 1)."""
    z = keys + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)).astype(np.float32)
