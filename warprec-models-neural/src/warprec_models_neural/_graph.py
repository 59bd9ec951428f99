"""Shared machinery of the graph models (LightGCN, NGCF, SimGCL): the user-item graph
kept as a buffer, its normalised adjacency built once per device, and the final
embeddings cached for scoring.

The training interactions given to :meth:`GraphRecommender.get_dataloader` become the
``edges`` buffer (saved with the checkpoint, so a loaded model rebuilds the same
graph); :meth:`GraphRecommender.adjacency` turns them into :func:`normalized_adjacency`
(a sparse CSR tensor on the model's device). Subclasses implement
:meth:`GraphRecommender.embeddings`, the final ``(users, items)`` embeddings of the
whole graph; scoring is their dot product.
"""

from __future__ import annotations

import abc
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender

__all__ = ["GraphRecommender", "edge_dropout", "normalized_adjacency", "propagate"]


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


def edge_dropout(adjacency: Tensor, p: float, generator: torch.Generator | None = None
                 ) -> Tensor:
    """A copy of the sparse CSR ``adjacency`` whose values are zeroed with probability
    ``p`` and the rest scaled by ``1 / (1 - p)`` (NGCF's node dropout on messages).

    The sparsity structure is kept (dropped entries hold zeros), so the result needs no
    re-indexing and multiplies like the original on any device.
    """
    if p <= 0:
        return adjacency
    values = adjacency.values()
    keep = torch.rand(values.shape, device=values.device, generator=generator) >= p
    return torch.sparse_csr_tensor(
        adjacency.crow_indices(), adjacency.col_indices(), values * keep / (1.0 - p),
        adjacency.shape, check_invariants=False,
    )


class GraphRecommender(IterativeRecommender):
    """Base of the models that propagate embeddings over the user-item graph.

    Trains on BPR triples (:meth:`get_dataloader`); predicts with the dot product of the
    final embeddings, cached until the weights may change (a training step, a mode
    switch, ``load_state_dict``, a move to another device).
    """

    def __init__(self, params: dict | None, info: dict, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self._adjacency: Tensor | None = None
        self._final: tuple[Tensor, Tensor] | None = None
        self.register_load_state_dict_post_hook(lambda module, keys: module._forget())

    def _add_embeddings(self) -> None:
        """The layer-0 ``user_embedding`` and ``item_embedding`` tables of
        ``embedding_size`` (the item table with a padding row ``n_items``)."""
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(
            self.n_items + 1, self.embedding_size, padding_idx=self.n_items
        )

    @abc.abstractmethod
    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Final ``(users [n_users, D], items [n_items, D])`` embeddings for scoring."""

    def _forget(self, adjacency: bool = False) -> None:
        self._final = None
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
                f"{self.name}: no interaction graph; train the model (get_dataloader) first"
            )
        if self._adjacency is None or self._adjacency.device != self.device:
            self._adjacency = normalized_adjacency(
                edges[0], edges[1], self.n_users, self.n_items, self.device
            )
        return self._adjacency

    def train(self, mode: bool = True) -> GraphRecommender:
        """Switch mode; the cached final embeddings are dropped."""
        self._forget()
        return super().train(mode)

    def _apply(self, fn: Any, recurse: bool = True) -> GraphRecommender:
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
        if self._final is None or self.training:
            with torch.no_grad():
                self._final = self.embeddings()
        users_final, items_final = self._final
        user_e = users_final[user_indices.to(self.device)]
        if item_indices is None:
            return user_e @ items_final.T
        return torch.einsum("be,bse->bs", user_e, items_final[item_indices.to(self.device)])
