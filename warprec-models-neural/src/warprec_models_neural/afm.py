"""AFM (Xiao et al., IJCAI 2017): Attentional Factorization Machines, as WarpRec's
context-aware AFM.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`). Every pair of fields
gives the element-wise product of their vectors; after dropout, an attention network
(``h^T ReLU(W x + b)``, ``attention_size`` hidden units) scores each pair, a softmax over
the row's pairs weights them, and the weighted sum is projected on the vector ``p``.
The logit adds the first-order term (global, user, item, feature and context biases).
Training is WarpRec's: pointwise binary cross-entropy with ``neg_samples`` negatives
per interaction, ``reg_weight`` times its L2 penalty on the batch's embeddings and
biases, and ``weight_decay`` on the attention network's weights and ``p``.

Scoring all items splits the pairs as WarpRec does: pairs within the row's fixed fields
(user, context) are computed once per row, pairs within an item's fields once per item,
and only the pairs crossing the two per (row, item); the softmax still runs over all of
a row's pairs, so the scores equal the pairwise forward's. The projection on ``p`` is
linear, so each pair is reduced to its attention logit and its projected score first.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn

from warprec_models_neural import _context
from warprec_models_neural._context import FieldsRecommender

__all__ = ["AFM"]


class AFM(FieldsRecommender):
    """Attention-weighted pairwise interactions of the user, item, side and context
    fields."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 16
    """Dimension of the field vectors."""
    attention_size: Annotated[int, Gt(0), Le(65536)] = 16
    """Hidden units of the attention network."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability on the pair vectors in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty on the attention network's weights and ``p``, applied by the optimizer."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 20
    """Passes over the training pairs."""
    learning_rate: float = 1e-2
    """Adam learning rate."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 2
    """Unseen items drawn per training interaction as negatives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attention = nn.Sequential(nn.Linear(self.embedding_size, self.attention_size),
                                       nn.ReLU(), nn.Linear(self.attention_size, 1))
        # WarpRec draws the projection from a standard normal.
        self.p = nn.Parameter(torch.randn(self.embedding_size))
        self.dropout_layer = nn.Dropout(self.dropout)
        self.apply(self._init_weights)
        self.to(self.device)

    def pair_terms(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        """The attention logit and the projection on ``p`` of every pair of the fields
        ``[..., F, E]``: two ``[..., F * (F - 1) / 2]`` tensors."""
        first, second = torch.triu_indices(vectors.shape[-2], vectors.shape[-2], offset=1,
                                           device=vectors.device)
        return self._terms(vectors[..., first, :] * vectors[..., second, :])

    def _terms(self, pairs: Tensor) -> tuple[Tensor, Tensor]:
        pairs = self.dropout_layer(pairs)
        return self.attention(pairs).squeeze(-1), pairs @ self.p

    @staticmethod
    def _pooled(logits: Tensor, scores: Tensor) -> Tensor:
        """The attention-weighted sum of the pairs' projected scores."""
        return (torch.softmax(logits, dim=-1) * scores).sum(-1)

    def interaction(self, fields: Tensor) -> Tensor:
        """The attention-pooled pairwise products projected on ``p``, ``[N]``."""
        return self._pooled(*self.pair_terms(fields))

    def score_all(self, users: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[B, n_items]``: the row-only and item-only pairs once, the crossing
        pairs on blocks of items."""
        items = torch.arange(self.n_items, device=self.device)
        fixed = self.user_embedding(users)[:, None]
        if context is not None:
            fixed = torch.cat([fixed, self.context_fields(context)], dim=1)
        varying = torch.cat([self.item_embedding(items)[:, None], self.item_fields(items)], 1)
        row_logits, row_scores = self.pair_terms(fixed)  # [B, P_fixed]
        item_logits, item_scores = self.pair_terms(varying)  # [I, P_item]
        linear = self.row_linear(users, context)[:, None] + self.item_linear(items)
        crossing = fixed.shape[1] * varying.shape[1] * self.embedding_size
        block = max(1, _context.BLOCK_ELEMENTS // max(1, len(users) * crossing))
        for start in range(0, self.n_items, block):
            stop = min(start + block, self.n_items)
            cross = fixed[:, None, :, None] * varying[None, start:stop, None]
            cross_logits, cross_scores = self._terms(cross.flatten(2, 3))  # [B, b, P_cross]
            shape = (len(users), stop - start, -1)
            logits = torch.cat([row_logits[:, None].expand(shape), cross_logits,
                                item_logits[None, start:stop].expand(shape)], dim=-1)
            scores = torch.cat([row_scores[:, None].expand(shape), cross_scores,
                                item_scores[None, start:stop].expand(shape)], dim=-1)
            linear[:, start:stop] += self._pooled(logits, scores)
        return linear
