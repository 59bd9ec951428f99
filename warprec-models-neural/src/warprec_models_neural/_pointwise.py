"""The base of models that score one (user, item) pair at a time."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from warprec.recommenders.base_recommender import IterativeRecommender

__all__ = ["PointwiseRecommender"]


class PointwiseRecommender(IterativeRecommender):
    """A model whose ``forward(user, item)`` gives the logit of each pair: sampled
    ranking scores the requested pairs, full ranking calls :meth:`score_all`, which a
    model overrides when it can score every item faster than pair by pair."""

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Logits ``[B, n_items]``, or ``[B, S]`` for ``item_indices [B, S]``."""
        users = user_indices.to(self.device)
        if item_indices is not None:
            items = item_indices.to(self.device)
            flat = self.forward(users[:, None].expand_as(items).reshape(-1), items.reshape(-1))
            return flat.view(items.shape)
        return self.score_all(users)

    def score_all(self, users: Tensor) -> Tensor:
        """Logits of every item for each user (pair by pair by default)."""
        items = torch.arange(self.n_items, device=self.device)
        return self.predict(users, item_indices=items.expand(len(users), -1))
