"""SimGCL (Yu et al., SIGIR 2022): graph contrastive learning without graph
augmentation.

The encoder is LightGCN's propagation over the normalised adjacency
``A_hat = D^-1/2 A D^-1/2``, with the final embedding the mean of layers ``1 .. L``
(the paper leaves out ``E_0``). Two extra views of every step add a random noise
vector of L2 norm ``eps`` to each node at every layer, in the node's own hyperoctant::

    E_l' = A_hat E_{l-1}' + eps * normalize(U(0, 1) * sign(A_hat E_{l-1}'))

and an InfoNCE loss (temperature ``temperature``, cosine similarity, the other nodes
of the batch as negatives) pulls the two views of each batch user and positive item
together, which spreads the embeddings more uniformly. The joint loss is
``BPR + lambda_ * (InfoNCE_users + InfoNCE_items) + reg_weight * L2`` on the batch's
layer-0 embeddings; scoring uses the clean propagation (no noise).
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor
from torch.nn import functional as F
from warprec.recommenders.losses import BPRLoss, EmbLoss

from warprec_models_neural._graph import GraphRecommender

__all__ = ["SimGCL", "info_nce"]


def info_nce(view1: Tensor, view2: Tensor, temperature: float) -> Tensor:
    """InfoNCE of two views ``[B, D]`` of the same nodes: the mean over rows of
    ``-log softmax(cos(view1_i, view2_*) / temperature)_i`` (other rows are negatives)."""
    view1 = F.normalize(view1, dim=1)
    view2 = F.normalize(view2, dim=1)
    logits = view1 @ view2.T / temperature
    labels = torch.arange(len(view1), device=view1.device)
    return F.cross_entropy(logits, labels)


class SimGCL(GraphRecommender):
    """LightGCN encoder plus a contrastive loss between two noise-perturbed views."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the layer-0 user and item embeddings."""
    n_layers: Annotated[int, Gt(0), Le(16)] = 2
    """Propagation steps over the normalised adjacency."""
    lambda_: Annotated[float, Ge(0)] = 0.05
    """Weight of the contrastive (InfoNCE) loss."""
    eps: Annotated[float, Ge(0)] = 0.02
    """L2 norm of the noise added to each node at each layer of the contrastive views."""
    temperature: Annotated[float, Gt(0), Le(100)] = 0.2
    """Temperature of the InfoNCE loss."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's layer-0 embeddings."""
    batch_size: int = 2048
    """Training triples per step (each step propagates three times over the graph)."""
    epochs: int = 20
    """Maximum passes over the training interactions."""
    learning_rate: float = 1e-2
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_embeddings()
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()
        self.emb_loss = EmbLoss()
        self.to(self.device)

    def propagate(self, noise: bool = False) -> tuple[Tensor, Tensor]:
        """``(users, items)``: the mean of layers ``1 .. n_layers``; with ``noise``, each
        layer gets a random vector of norm ``eps`` in its nodes' hyperoctants."""
        adjacency = self.adjacency()
        layer = torch.cat([self.user_embedding.weight, self.item_embedding.weight[:-1]])
        total = torch.zeros_like(layer)
        for _ in range(self.n_layers):
            layer = adjacency @ layer
            if noise:
                direction = torch.rand_like(layer) * torch.sign(layer)
                layer = layer + self.eps * F.normalize(direction, dim=1)
            total = total + layer
        final = total / self.n_layers
        return final[: self.n_users], final[self.n_users :]

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Final embeddings for scoring (the clean propagation)."""
        return self.propagate(noise=False)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """BPR on the clean propagation, InfoNCE between two noisy views, L2 on layer 0."""
        self._final = None
        user, pos_item, neg_item = batch
        users_final, items_final = self.propagate()
        user_e = users_final[user]
        pos_score = torch.linalg.vecdot(user_e, items_final[pos_item])
        neg_score = torch.linalg.vecdot(user_e, items_final[neg_item])
        loss = self.bpr_loss(pos_score, neg_score)
        if self.lambda_ > 0:
            # Each node once: a repeated user would be its own negative.
            users, items = torch.unique(user), torch.unique(pos_item)
            users1, items1 = self.propagate(noise=True)
            users2, items2 = self.propagate(noise=True)
            contrast = (info_nce(users1[users], users2[users], self.temperature)
                        + info_nce(items1[items], items2[items], self.temperature))
            loss = loss + self.lambda_ * contrast
        reg = self.emb_loss(
            self.user_embedding(user), self.item_embedding(pos_item), self.item_embedding(neg_item)
        )
        return loss + self.reg_weight * reg
