"""Shared machinery of the models that score from the users' training rows (the
autoencoders MultiDAE and CDAE).

The model keeps the training matrix given to :meth:`UserRowsRecommender.get_dataloader`
(its fitted state, saved with the checkpoint), trains on batches of ``(users, rows)`` and
reads the users' rows again at prediction time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender

__all__ = ["UserRowsRecommender"]


class UserRowsRecommender(IterativeRecommender):
    """Base of the models that read users' training rows (``train_matrix``)."""

    fitted_state = ("train_matrix",)

    def __init__(self, params: dict | None, info: dict, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.train_matrix: sp.csr_matrix | None = None

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(users, rows)``; also keeps the rows for :meth:`predict`."""
        self.train_matrix = interactions.get_sparse()
        kwargs.setdefault("seed", self.seed)
        return interactions.get_user_rows_dataloader(batch_size=self.batch_size, **kwargs)

    def user_rows(self, user_indices: Tensor) -> Tensor:
        """The users' training rows ``[B, n_items]`` (float32, on the model's device)."""
        if self.train_matrix is None:
            raise WarpRecError(
                f"{self.name}: no training rows; train the model (get_dataloader) before predict"
            )
        users = user_indices.detach().cpu().numpy()
        dense = self.train_matrix[users].toarray().astype(np.float32, copy=False)
        return torch.from_numpy(dense).to(self.device)

    @staticmethod
    def gather(scores: Tensor, item_indices: Tensor | None) -> Tensor:
        """``scores [B, n_items]``, or its columns ``item_indices [B, S]``."""
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))
