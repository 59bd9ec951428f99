"""LightGCN (He et al., SIGIR 2020): embeddings smoothed over the user-item graph.

``E_{k+1} = A_hat E_k`` with ``A_hat = D^-1/2 A D^-1/2`` the symmetrically normalised
adjacency of the bipartite user-item graph, and the final embeddings the mean of
``E_0 .. E_K``. ``A_hat`` is built once (a sparse CSR tensor on the model's device) from
the training interactions given to :meth:`LightGCN.get_dataloader`; each step
propagates with sparse-dense matrix products and trains on a BPR loss plus an L2 term
on the layer-0 embeddings of the batch. The interactions are kept as a buffer (saved
with the checkpoint) so that a loaded model rebuilds the same graph; the propagated
embeddings are cached for scoring and dropped whenever the weights may change.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor
from warprec.recommenders.losses import BPRLoss

from warprec_models_neural._graph import GraphRecommender, normalized_adjacency, propagate

__all__ = ["LightGCN", "normalized_adjacency", "propagate"]


class LightGCN(GraphRecommender):
    """Light graph convolution over the user-item graph, trained with BPR."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the layer-0 user and item embeddings."""
    n_layers: Annotated[int, Ge(0), Le(64)] = 2
    """Propagation steps over the normalised adjacency."""
    reg_weight: Annotated[float, Ge(0)] = 0.001
    """Weight of the L2 penalty on the batch's layer-0 embeddings."""
    batch_size: int = 8192
    """Training triples per step; each step propagates over the whole graph, so the
    epoch's cost is about (interactions / batch_size) propagations."""
    epochs: int = 100
    """Maximum passes over the training interactions."""
    learning_rate: float = 0.01
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_embeddings()
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()
        self.to(self.device)

    def forward(self) -> tuple[Tensor, Tensor]:
        """Final ``(user [n_users, E], item [n_items, E])`` embeddings after propagation."""
        layer = torch.cat([self.user_embedding.weight, self.item_embedding.weight[:-1]])
        total = layer
        adjacency = self.adjacency()
        for _ in range(self.n_layers):
            layer = propagate(adjacency, layer)
            total = total + layer
        final = total / (self.n_layers + 1)
        return final[: self.n_users], final[self.n_users :]

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """BPR loss on propagated embeddings plus L2 on the batch's layer-0 embeddings."""
        self._forget()
        user, pos_item, neg_item = batch
        users_final, items_final = self.forward()
        user_e = users_final[user]
        pos_score = torch.linalg.vecdot(user_e, items_final[pos_item])
        neg_score = torch.linalg.vecdot(user_e, items_final[neg_item])
        loss = self.bpr_loss(pos_score, neg_score)
        if not self.reg_weight:
            return loss
        # EmbLoss (sum of squares over the batch size) as flat dot products: no
        # abs/pow temporaries and their backward.
        rows = (self.user_embedding(user), self.item_embedding(pos_item),
                self.item_embedding(neg_item))
        reg = sum(torch.dot(e.reshape(-1), e.reshape(-1)) for e in rows) / user.numel()
        return loss + self.reg_weight * reg

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """The propagated embeddings (:meth:`forward`), what scoring uses."""
        return self.forward()
