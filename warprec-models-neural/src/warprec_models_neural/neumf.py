"""NeuMF (He et al., WWW 2017): Neural Collaborative Filtering.

Two towers score a (user, item) pair: GMF, the element-wise product of MF embeddings
(``mf_train``), and an MLP over the concatenated MLP embeddings (``mlp_train``); a
linear layer over the concatenation of their outputs gives the logit. It is trained
pointwise with binary cross-entropy on every training interaction (label 1) and
``neg_samples`` uniformly drawn unseen items per interaction (label 0), plus
``reg_weight`` times an L2 penalty on the batch's embeddings. ``predict`` returns the
logits (the sigmoid gives the probability; the ranking is the same).

Scoring all items of a batch of users evaluates the MLP on ``B x n_items`` pairs. Its
first layer is linear in the concatenation ``[user, item]``, so it is split into a user
part and an item part computed once per user and once per item; the remaining layers
run on blocks of items so that memory stays bounded.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import ConfigError
from warprec.recommenders.losses import EmbLoss

from warprec_models_neural._pointwise import PointwiseRecommender

__all__ = ["NeuMF"]

# Pairs x hidden units per block when scoring all items (about 64 MiB of float32).
_BLOCK_ELEMENTS = 2**24


class NeuMF(PointwiseRecommender):
    """Generalised matrix factorisation and an MLP over user-item embeddings, fused."""

    mf_embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the GMF user and item embeddings."""
    mlp_embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the MLP user and item embeddings."""
    mlp_hidden_size: Annotated[list[Annotated[int, Gt(0), Le(65536)]], MinLen(1),
                               MaxLen(16)] = [128, 64]
    """Output sizes of the MLP's layers (ReLU after each)."""
    mf_train: bool = True
    """Use the GMF tower."""
    mlp_train: bool = True
    """Use the MLP tower (at least one of the two must be on; on small data GMF alone,
    ``mlp_train: false``, can be the better model: see the package README)."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability before each MLP layer in training."""
    reg_weight: Annotated[float, Ge(0)] = 0.03
    """Weight of the L2 penalty on the batch's embeddings (of the towers in use): GMF's
    regulariser (too large a value shrinks the embeddings to zero, the GMF product's
    saddle point)."""
    weight_decay: float = 0.0
    """L2 penalty on all weights, applied by the optimizer. 0: Adam's decay pulls every
    embedding row each step, also the rows of users and items not in the batch, which
    shrinks the GMF embeddings to zero; ``reg_weight`` penalises the batch's rows only."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 12
    """Passes over the training pairs (the fused model over-trains past its peak: the
    default stops before it, so it holds without a validation split; more epochs need
    early stopping)."""
    learning_rate: float = 3e-3
    """Adam learning rate (the trainer's default optimizer)."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 4
    """Unseen items drawn per training interaction as negatives."""

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        """At least one of the two towers is on."""
        super().check_relations(params, optimizer)
        if not (params["mf_train"] or params["mlp_train"]):
            raise ConfigError("mf_train and mlp_train are both false; expected at least one "
                              "tower on")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mlp_hidden_size = list(self.mlp_hidden_size)
        pad = self.n_items
        self.user_mf_embedding = nn.Embedding(self.n_users, self.mf_embedding_size)
        self.item_mf_embedding = nn.Embedding(self.n_items + 1, self.mf_embedding_size,
                                              padding_idx=pad)
        self.user_mlp_embedding = nn.Embedding(self.n_users, self.mlp_embedding_size)
        self.item_mlp_embedding = nn.Embedding(self.n_items + 1, self.mlp_embedding_size,
                                               padding_idx=pad)
        sizes = [2 * self.mlp_embedding_size, *self.mlp_hidden_size]
        self.mlp_layers = nn.ModuleList(
            nn.Linear(fan_in, fan_out) for fan_in, fan_out in itertools.pairwise(sizes)
        )
        self.mlp_dropout = nn.Dropout(self.dropout)
        width = (self.mf_embedding_size if self.mf_train else 0) + (
            self.mlp_hidden_size[-1] if self.mlp_train else 0)
        self.predict_layer = nn.Linear(width, 1)
        self.emb_loss = EmbLoss()
        self.apply(self._init_weights)
        self.to(self.device)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Shuffled ``(user, item, label)`` batches with ``neg_samples`` negatives each."""
        kwargs.setdefault("seed", self.seed)
        return interactions.get_pointwise_dataloader(
            batch_size=self.batch_size, neg_samples=self.neg_samples, **kwargs
        )

    def _mlp_tail(self, hidden: Tensor) -> Tensor:
        """The MLP after the pre-activation of its first layer."""
        hidden = torch.relu(hidden)
        for layer in self.mlp_layers[1:]:
            hidden = torch.relu(layer(self.mlp_dropout(hidden)))
        return hidden

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        """Logits ``[N]`` of the pairs ``(user[n], item[n])``."""
        parts = []
        if self.mf_train:
            parts.append(self.user_mf_embedding(user) * self.item_mf_embedding(item))
        if self.mlp_train:
            pair = torch.cat([self.user_mlp_embedding(user), self.item_mlp_embedding(item)], -1)
            parts.append(self._mlp_tail(self.mlp_layers[0](self.mlp_dropout(pair))))
        return self.predict_layer(torch.cat(parts, dim=-1)).squeeze(-1)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Binary cross-entropy of the labelled pairs plus L2 on their embeddings."""
        user, item, label = batch
        loss = nn.functional.binary_cross_entropy_with_logits(self.forward(user, item), label)
        if self.reg_weight > 0:
            # The embeddings of the towers in use (an unused tower's get no gradient).
            embeddings = []
            if self.mf_train:
                embeddings += [self.user_mf_embedding(user), self.item_mf_embedding(item)]
            if self.mlp_train:
                embeddings += [self.user_mlp_embedding(user), self.item_mlp_embedding(item)]
            loss = loss + self.reg_weight * self.emb_loss(*embeddings)
        return loss

    def score_all(self, users: Tensor) -> Tensor:
        """Logits of every item for each user, the MLP's first layer split by input."""
        n_users, n_items = len(users), self.n_items
        weight = self.predict_layer.weight[0]
        scores = self.predict_layer.bias.expand(n_users, n_items).clone()
        offset = 0
        if self.mf_train:
            gmf = self.user_mf_embedding(users) * weight[: self.mf_embedding_size]
            scores += gmf @ self.item_mf_embedding.weight[:n_items].T
            offset = self.mf_embedding_size
        if self.mlp_train:
            first = self.mlp_layers[0]
            size = self.mlp_embedding_size
            # W [u; i] + b = W_u u + (W_i i + b): each part computed once.
            user_part = self.user_mlp_embedding(users) @ first.weight[:, :size].T
            item_part = torch.addmm(first.bias, self.item_mlp_embedding.weight[:n_items],
                                    first.weight[:, size:].T)
            out = weight[offset:]
            width = max(self.mlp_hidden_size)
            block = max(1, _BLOCK_ELEMENTS // max(1, n_users * width))
            for start in range(0, n_items, block):
                stop = min(start + block, n_items)
                hidden = self._mlp_tail(user_part[:, None, :] + item_part[None, start:stop, :])
                scores[:, start:stop] += hidden @ out
        return scores
