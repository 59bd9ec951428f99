"""NGCF (Wang et al., SIGIR 2019): Neural Graph Collaborative Filtering.

Each layer ``l`` propagates over the normalised adjacency ``A_hat = D^-1/2 A D^-1/2`` of
the user-item graph and mixes the messages with two learnt transforms::

    side = A_hat E_l
    E_{l+1} = normalize(LeakyReLU_0.2((E_l + side) W1 + b1 + (E_l * side) W2 + b2))

(``E_l + side`` is the paper's ``(L + I) E``; ``E_l * side`` the element-wise
"affinity" term), with dropout on the messages (``message_dropout``) and on the graph's
edges (``node_dropout``) in training. The final representation concatenates
``E_0 .. E_L``; scores are dot products, trained with BPR plus an L2 penalty on the
batch's layer-0 embeddings. The graph comes from the interactions given to
``get_dataloader`` (sparse CSR products, see :mod:`warprec_models_neural._graph`).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from torch import Tensor, nn
from warprec.recommenders.losses import BPRLoss, EmbLoss

from warprec_models_neural._graph import GraphRecommender, edge_dropout

__all__ = ["NGCF"]


class NGCF(GraphRecommender):
    """Graph convolution with feature transforms and element-wise message affinity."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the layer-0 user and item embeddings."""
    weight_size: Annotated[list[Annotated[int, Gt(0), Le(65536)]], MinLen(1), MaxLen(16)] = [
        64, 64, 64]
    """Output size of each propagation layer (one entry per layer)."""
    node_dropout: Annotated[float, Ge(0), Lt(1)] = 0.1
    """Probability of dropping an edge of the graph in each training step."""
    message_dropout: Annotated[float, Ge(0), Lt(1)] = 0.1
    """Dropout probability on each layer's output in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's layer-0 embeddings."""
    batch_size: int = 2048
    """Training triples per step (each step propagates over the whole graph)."""
    epochs: int = 16
    """Passes over the training interactions (NGCF over-trains past its peak: the
    default stops before it, so it holds without a validation split; more epochs need
    early stopping)."""
    learning_rate: float = 5e-3
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weight_size = list(self.weight_size)
        self._add_embeddings()
        sizes = [self.embedding_size, *self.weight_size]
        self.sum_layers = nn.ModuleList(
            nn.Linear(fan_in, fan_out) for fan_in, fan_out in itertools.pairwise(sizes)
        )
        self.bi_layers = nn.ModuleList(
            nn.Linear(fan_in, fan_out) for fan_in, fan_out in itertools.pairwise(sizes)
        )
        self.activation = nn.LeakyReLU(negative_slope=0.2)
        self.message_drop = nn.Dropout(self.message_dropout)
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()
        self.emb_loss = EmbLoss()
        self.to(self.device)

    def propagate(self, dropout: bool) -> tuple[Tensor, Tensor]:
        """``(users, items)`` final embeddings ``[*, embedding_size + sum(weight_size)]``,
        with the node and message dropouts when ``dropout``."""
        adjacency = self.adjacency()
        if dropout:
            adjacency = edge_dropout(adjacency, self.node_dropout)
        layer = torch.cat([self.user_embedding.weight, self.item_embedding.weight[:-1]])
        layers = [layer]
        for sum_layer, bi_layer in zip(self.sum_layers, self.bi_layers, strict=True):
            side = adjacency @ layer
            layer = self.activation(sum_layer(layer + side) + bi_layer(layer * side))
            if dropout:
                layer = self.message_drop(layer)
            layer = nn.functional.normalize(layer, p=2, dim=1)
            layers.append(layer)
        final = torch.cat(layers, dim=1)
        return final[: self.n_users], final[self.n_users :]

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Final embeddings for scoring (no dropout)."""
        return self.propagate(dropout=False)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """BPR loss on the propagated embeddings plus L2 on the batch's layer-0 rows."""
        self._final = None
        user, pos_item, neg_item = batch
        users_final, items_final = self.propagate(dropout=self.training)
        user_e = users_final[user]
        pos_score = torch.linalg.vecdot(user_e, items_final[pos_item])
        neg_score = torch.linalg.vecdot(user_e, items_final[neg_item])
        reg = self.emb_loss(
            self.user_embedding(user), self.item_embedding(pos_item), self.item_embedding(neg_item)
        )
        return self.bpr_loss(pos_score, neg_score) + self.reg_weight * reg
