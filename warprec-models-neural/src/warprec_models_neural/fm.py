"""FM (Rendle, ICDM 2010): Factorization Machines, as WarpRec's context-aware FM.

A row is the fields user, item, each of the item's feature values (side information)
and each context column; its logit is the first-order term (global, user, item, feature
and context biases) plus the factorization machine's second-order term, every pairwise
dot product of the field vectors, ``0.5 * ((sum of vectors)^2 - sum of squared
vectors)`` summed over the dimensions. Training is WarpRec's: pointwise binary
cross-entropy with ``neg_samples`` uniform negatives per interaction and ``reg_weight``
times the L2 penalty on the batch's embeddings and biases (see
:mod:`warprec_models_neural._context`).

Scoring all items expands the square: the second-order term is ``row_sum . item_sum``
plus a per-row and a per-item term (the row side is the user and the context), so a
batch of users is one matrix product.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor

from warprec_models_neural._context import FieldsRecommender

__all__ = ["FM"]


class FM(FieldsRecommender):
    """Factorization machine over the user, the item, its features and the context."""

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

    pool_multi_valued = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apply(self._init_weights)
        self.to(self.device)

    def forward(self, user: Tensor, item: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[N]`` of the rows ``(user[n], item[n], context[n])``."""
        context = self.checked_context(context, len(user))
        row, row_squares = self.row_sums(user, context)
        total, squares, linear = self.item_sums(item)
        interaction = 0.5 * ((row + total).pow(2) - row_squares - squares).sum(-1)
        return self.row_linear(user, context) + linear + interaction

    def score_all(self, users: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[B, n_items]``: with ``r`` the row's summed vector (user and context)
        and ``s`` the item's, ``(r + s)^2 - q_r - q_s = 2 r.s + (r^2 - q_r) + (s^2 - q_s)``."""
        total, squares, linear = self.item_sums(torch.arange(self.n_items, device=self.device))
        item_term = linear + 0.5 * (total.pow(2) - squares).sum(-1)
        row, row_squares = self.row_sums(users, context)
        row_term = self.row_linear(users, context) + 0.5 * (row.pow(2) - row_squares).sum(-1)
        return torch.addmm(row_term[:, None] + item_term, row, total.T)
