"""FM (Rendle, ICDM 2010): Factorization Machines, as WarpRec's context-aware FM.

A (user, item) pair is the fields user, item and each of the item's features (side
information); its logit is the first-order term (global, user, item and feature biases)
plus the factorization machine's second-order term, every pairwise dot product of the
field vectors: ``0.5 * ((sum of vectors)^2 - sum of squared vectors)`` summed over the
dimensions. Training is WarpRec's: pointwise binary cross-entropy with ``neg_samples``
uniform negatives per interaction and ``reg_weight`` times the L2 penalty on the batch's
embeddings and biases (see :mod:`warprec_models_neural._context`).

Scoring all items expands the square: the pair's second-order term is ``user . item_sum``
plus a per-item term, so a batch of users is one matrix product.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor

from warprec_models_neural._context import FieldsRecommender

__all__ = ["FM"]


class FM(FieldsRecommender):
    """Factorization machine over the user, the item and the item's features."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 20
    """Passes over the training pairs."""
    learning_rate: float = 1e-3
    """Adam learning rate (the trainer's default optimizer)."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 2
    """Unseen items drawn per training interaction as negatives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apply(self._init_weights)
        self.to(self.device)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        """Logits ``[N]`` of the pairs ``(user[n], item[n])``."""
        vector = self.user_embedding(user)
        total, squares, linear = self.item_sums(item)
        interaction = 0.5 * ((vector + total).pow(2) - vector.pow(2) - squares).sum(-1)
        return self.first_order(user, linear) + interaction

    def score_all(self, users: Tensor) -> Tensor:
        """Logits ``[B, n_items]``: ``(u + s)^2 - u^2 - q = 2 u.s + s^2 - q``."""
        total, squares, linear = self.item_sums(torch.arange(self.n_items, device=self.device))
        item_term = linear + 0.5 * (total.pow(2) - squares).sum(-1)
        vector = self.user_embedding(users)
        user_term = self.global_bias + self.user_bias(users)
        return torch.addmm(user_term + item_term, vector, total.T)
