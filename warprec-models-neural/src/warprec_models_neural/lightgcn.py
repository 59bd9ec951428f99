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

import warnings
from typing import Annotated, Any

import numpy as np
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.recommenders.losses import BPRLoss

__all__ = ["LightGCN", "normalized_adjacency", "propagate"]


def normalized_adjacency(
    users: Tensor, items: Tensor, n_users: int, n_items: int, device: torch.device
) -> Tensor:
    """``D^-1/2 A D^-1/2`` of the bipartite graph of the ``(user, item)`` edges, as a
    ``[n_users + n_items]^2`` sparse CSR float32 tensor on ``device`` (users first)."""
    n = n_users + n_items
    edges = torch.unique(users.long() * n_items + items.long())
    rows = edges // n_items
    cols = edges % n_items + n_users
    src = torch.cat([rows, cols])
    dst = torch.cat([cols, rows])
    degree = torch.bincount(src, minlength=n).float()
    inv_sqrt = degree.clamp(min=1.0).rsqrt()
    values = inv_sqrt[src] * inv_sqrt[dst]
    coo = torch.sparse_coo_tensor(
        torch.stack([src, dst]), values, (n, n), check_invariants=False
    ).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.to_sparse_csr().to(device)


class _SymmetricPropagation(torch.autograd.Function):
    """``adjacency @ dense`` for a *symmetric* sparse adjacency: the gradient w.r.t.
    ``dense`` is ``adjacency^T @ grad = adjacency @ grad``, the same product. torch's own
    backward of a CSR product transposes the matrix (a sort and a COO-to-CSR conversion)
    at every step, which was most of LightGCN's training time."""

    @staticmethod
    def forward(ctx: Any, adjacency: Tensor, dense: Tensor) -> Tensor:  # type: ignore[override]
        ctx.adjacency = adjacency
        return adjacency @ dense

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:  # type: ignore[override]
        return None, ctx.adjacency @ grad


def propagate(adjacency: Tensor, dense: Tensor) -> Tensor:
    """``adjacency @ dense`` for the symmetric normalised adjacency, differentiable in
    ``dense`` at the cost of one more product (no transpose)."""
    return _SymmetricPropagation.apply(adjacency, dense)


class LightGCN(IterativeRecommender):
    """Light graph convolution over the user-item graph, trained with BPR."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the layer-0 user and item embeddings."""
    n_layers: Annotated[int, Ge(0), Le(64)] = 2
    """Propagation steps over the normalised adjacency (2: on MovieLens-100K as accurate
    as 3 with a third less work per step)."""
    reg_weight: Annotated[float, Ge(0)] = 0.001
    """Weight of the L2 penalty on the batch's layer-0 embeddings (1e-4 let MovieLens-100K
    over-train after ~70 epochs; 1e-3 keeps validation nDCG@10 rising over the default
    epochs)."""
    batch_size: int = 8192
    """Training triples per step; each step propagates over the whole graph, so the
    epoch's cost is about (interactions / batch_size) propagations."""
    epochs: int = 100
    """Maximum passes over the training interactions."""
    learning_rate: float = 0.01
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(
            self.n_items + 1, self.embedding_size, padding_idx=self.n_items
        )
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()
        self._adjacency: Tensor | None = None
        self._propagated: tuple[Tensor, Tensor] | None = None
        self.register_load_state_dict_post_hook(lambda module, keys: module._forget())
        self.to(self.device)

    def _forget(self, adjacency: bool = False) -> None:
        self._propagated = None
        if adjacency:
            self._adjacency = None

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """BPR triples over ``interactions``; also (re)builds the graph from them."""
        edges = np.stack([interactions.users, interactions.items])
        self.register_buffer("edges", torch.from_numpy(edges).to(self.device))
        self._forget(adjacency=True)
        kwargs.setdefault("seed", self.seed)
        return interactions.get_contrastive_dataloader(batch_size=self.batch_size, **kwargs)

    def adjacency(self) -> Tensor:
        """The normalised adjacency (built on first use from the ``edges`` buffer)."""
        edges = getattr(self, "edges", None)
        if edges is None:
            raise WarpRecError(
                "LightGCN: no interaction graph; train the model (get_dataloader) first"
            )
        if self._adjacency is None or self._adjacency.device != self.device:
            self._adjacency = normalized_adjacency(
                edges[0], edges[1], self.n_users, self.n_items, self.device
            )
        return self._adjacency

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
        self._propagated = None
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

    def train(self, mode: bool = True) -> LightGCN:
        """Switch mode; the cached propagated embeddings are dropped."""
        self._forget()
        return super().train(mode)

    def _apply(self, fn: Any, recurse: bool = True) -> LightGCN:
        # A move to another device invalidates the cached graph and embeddings.
        self._forget(adjacency=True)
        return super()._apply(fn, recurse)

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores ``[B, n_items]``, or ``[B, S]`` for ``item_indices [B, S]``."""
        if self._propagated is None or self.training:
            with torch.no_grad():
                self._propagated = self.forward()
        users_final, items_final = self._propagated
        user_e = users_final[user_indices.to(self.device)]
        if item_indices is None:
            return user_e @ items_final.T
        return torch.einsum("be,bse->bs", user_e, items_final[item_indices.to(self.device)])
