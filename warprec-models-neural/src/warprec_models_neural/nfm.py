"""NFM (He & Chua, SIGIR 2017): Neural Factorization Machines, as WarpRec's
context-aware NFM.

The fields of a (user, item) pair are the user, the item and each of the item's
features (see :mod:`warprec_models_neural._context`). Their bi-interaction pooling,
``0.5 * ((sum of vectors)^2 - sum of squared vectors)`` per dimension, goes through
batch normalisation and an MLP (dropout, linear, ReLU per layer, as WarpRec's ``MLP``)
to a bias-free linear output; the logit adds the first-order term (global, user, item
and feature biases). Training is FM's: pointwise binary cross-entropy with
``neg_samples`` negatives and WarpRec's L2 penalty; ``weight_decay`` applies, as in
WarpRec, to the linear layers' weights only.

Scoring all items runs the MLP on blocks of items so that memory stays bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from torch import Tensor, nn

from warprec_models_neural._context import FieldsRecommender

__all__ = ["NFM"]

# Pairs x embedding dimensions per block when scoring all items (about 64 MiB float32).
_BLOCK_ELEMENTS = 2**24


class NFM(FieldsRecommender):
    """An MLP over the bi-interaction pooling of the user, item and feature vectors."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    mlp_hidden_size: Annotated[list[Annotated[int, Gt(0), Le(65536)]], MinLen(1),
                               MaxLen(16)] = [64]
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mlp_hidden_size = list(self.mlp_hidden_size)
        self.batch_norm = nn.BatchNorm1d(self.embedding_size)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip([self.embedding_size, *self.mlp_hidden_size[:-1]],
                                   self.mlp_hidden_size, strict=True):
            layers += [nn.Dropout(self.dropout), nn.Linear(fan_in, fan_out), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.predict_layer = nn.Linear(self.mlp_hidden_size[-1], 1, bias=False)
        self.apply(self._init_weights)
        self.to(self.device)

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """Adam; ``weight_decay`` on the linear layers' weights only (WarpRec's groups:
        the embeddings have the L2 penalty, biases and batch norm no decay)."""
        decay = [layer.weight for layer in self.modules() if isinstance(layer, nn.Linear)]
        chosen = {id(p) for p in decay}
        rest = [p for p in self.parameters() if id(p) not in chosen]
        return torch.optim.Adam([{"params": decay, "weight_decay": self.weight_decay},
                                 {"params": rest, "weight_decay": 0.0}],
                                lr=self.learning_rate)

    def _neural(self, pooled: Tensor) -> Tensor:
        """The MLP's logit of bi-interaction vectors ``[N, d]`` -> ``[N]``."""
        return self.predict_layer(self.mlp(self.batch_norm(pooled))).squeeze(-1)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        """Logits ``[N]`` of the pairs ``(user[n], item[n])``."""
        vector = self.user_embedding(user)
        total, squares, linear = self.item_sums(item)
        pooled = 0.5 * ((vector + total).pow(2) - vector.pow(2) - squares)
        return self.first_order(user, linear) + self._neural(pooled)

    def score_all(self, users: Tensor) -> Tensor:
        """Logits ``[B, n_items]``, the MLP run on blocks of items."""
        total, squares, linear = self.item_sums(torch.arange(self.n_items, device=self.device))
        vector = self.user_embedding(users)
        scores = (self.global_bias + self.user_bias(users)) + linear
        block = max(1, _BLOCK_ELEMENTS // max(1, len(users) * self.embedding_size))
        for start in range(0, self.n_items, block):
            stop = min(start + block, self.n_items)
            summed = vector[:, None, :] + total[None, start:stop]
            pooled = 0.5 * (summed.pow(2) - vector.pow(2)[:, None, :] - squares[None, start:stop])
            neural = self._neural(pooled.reshape(-1, self.embedding_size))
            scores[:, start:stop] += neural.view(len(users), stop - start)
        return scores
