"""NFM (He & Chua, SIGIR 2017): Neural Factorization Machines, as WarpRec's
context-aware NFM.

The fields of a row are the user, the item, each of the item's feature values and each
context column (see :mod:`warprec_models_neural._context`). Their bi-interaction pooling,
``0.5 * ((sum of vectors)^2 - sum of squared vectors)`` per dimension, goes through
batch normalisation and an MLP (dropout, linear, ReLU per layer, as WarpRec's ``MLP``)
to a bias-free linear output; the logit adds the first-order term (global, user, item,
feature and context biases). Training is FM's: pointwise binary cross-entropy with
``neg_samples`` negatives and WarpRec's L2 penalty; ``weight_decay`` applies, as in
WarpRec, to the linear layers' weights only.

Scoring all items runs the MLP on blocks of items so that memory stays bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn

from warprec_models_neural._context import FieldsRecommender, mlp
from warprec_models_neural._deep import MLPSizes

__all__ = ["NFM"]

# Pairs x embedding dimensions per block when scoring all items (about 64 MiB float32).
_BLOCK_ELEMENTS = 2**24


class NFM(FieldsRecommender):
    """An MLP over the bi-interaction pooling of the user, item, feature and context
    vectors."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    mlp_hidden_size: MLPSizes = [64]
    """Output sizes of the MLP's layers (ReLU after each)."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability before each MLP layer in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty on the linear layers' weights, applied by the optimizer."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 20
    """Passes over the training pairs."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 2
    """Unseen items drawn per training interaction as negatives."""

    pool_multi_valued = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mlp_hidden_size = list(self.mlp_hidden_size)
        self.batch_norm = nn.BatchNorm1d(self.embedding_size)
        self.mlp = mlp([self.embedding_size, *self.mlp_hidden_size], self.dropout)
        self.predict_layer = nn.Linear(self.mlp_hidden_size[-1], 1, bias=False)
        self.apply(self._init_weights)
        self.to(self.device)

    def _neural(self, pooled: Tensor) -> Tensor:
        """The MLP's logit of bi-interaction vectors ``[N, d]`` -> ``[N]``."""
        return self.predict_layer(self.mlp(self.batch_norm(pooled))).squeeze(-1)

    def forward(self, user: Tensor, item: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[N]`` of the rows ``(user[n], item[n], context[n])``."""
        context = self.checked_context(context, len(user))
        row, row_squares = self.row_sums(user, context)
        total, squares, linear = self.item_sums(item)
        pooled = 0.5 * ((row + total).pow(2) - row_squares - squares)
        return self.row_linear(user, context) + linear + self._neural(pooled)

    def score_all(self, users: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[B, n_items]``, the MLP run on blocks of items."""
        total, squares, linear = self.item_sums(torch.arange(self.n_items, device=self.device))
        row, row_squares = self.row_sums(users, context)
        scores = self.row_linear(users, context)[:, None] + linear
        block = max(1, _BLOCK_ELEMENTS // max(1, len(users) * self.embedding_size))
        for start in range(0, self.n_items, block):
            stop = min(start + block, self.n_items)
            summed = row[:, None, :] + total[None, start:stop]
            pooled = 0.5 * (summed.pow(2) - row_squares[:, None, :] - squares[None, start:stop])
            neural = self._neural(pooled.reshape(-1, self.embedding_size))
            scores[:, start:stop] += neural.view(len(users), stop - start)
        return scores
