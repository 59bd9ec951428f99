"""Neighbourhood models: ItemKNN and UserKNN with sparse top-k similarities.

For a target entity ``t`` (an item for ItemKNN, a user for UserKNN) and a candidate
neighbour ``n``, with ``x`` their rows of the interaction matrix (the columns for items):

- ``cosine``: ``<x_t, x_n> / (|x_t| |x_n| + shrink)``
- ``jaccard`` (on binarised data): ``|t & n| / (|t| + |n| - |t & n| + shrink)``
- ``asymmetric``: ``<x_t, x_n> / (|x_t|^(2a) |x_n|^(2(1-a)) + shrink)``, ``a`` =
  ``asymmetric_alpha`` (Aiolli 2013; ``a = 0.5`` is the cosine).

Each target keeps its ``k`` most similar neighbours (itself excluded). ItemKNN scores
``score(u, j) = sum_i x_ui s(j, i)`` over the neighbours ``i`` of ``j``; UserKNN scores
``score(u, j) = sum_v s(u, v) x_vj`` over the neighbours ``v`` of ``u``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.errors import ConfigError, DataError
from warprec.recommenders.base_recommender import ItemSimRecommender, Recommender

from warprec_models_classic._topk import Reweight, topk_product

__all__ = [
    "SIMILARITIES", "ItemKNN", "ItemKNNTD", "UserKNN", "UserKNNTD", "decayed_matrix",
    "knn_similarity",
]

SIMILARITIES = ("cosine", "jaccard", "asymmetric")


def knn_similarity(
    A: sp.csr_matrix,
    k: int,
    similarity: str = "cosine",
    shrink: float = 0.0,
    asymmetric_alpha: float = 0.5,
) -> sp.csr_matrix:
    """Top-``k`` similarities between the rows of ``A`` (row ``t`` holds ``t``'s neighbours)."""
    if similarity not in SIMILARITIES:
        raise ConfigError(
            f"similarity: unknown value {similarity!r}; expected one of {', '.join(SIMILARITIES)}"
        )
    A = sp.csr_matrix(A, dtype=np.float32)
    if similarity == "jaccard":
        A = A.copy()
        A.data[:] = 1.0
    squared = np.asarray(A.multiply(A).sum(axis=1), dtype=np.float64).ravel()
    reweight = _reweight(similarity, squared, shrink, asymmetric_alpha)
    return topk_product(A, A.T.tocsr(), k, reweight=reweight)


def _reweight(similarity: str, squared: np.ndarray, shrink: float, alpha: float) -> Reweight:
    """The denominator of ``similarity`` as a function of a block's entries."""
    if similarity == "jaccard":
        return lambda t, n, dot: (dot / (squared[t] + squared[n] - dot + shrink)).astype(np.float32)
    power = 0.5 if similarity == "cosine" else alpha
    target = squared**power
    neighbour = squared ** (1.0 - power)
    return lambda t, n, dot: (dot / (target[t] * neighbour[n] + shrink)).astype(np.float32)


class _Neighbourhood:
    """The hyperparameters ItemKNN and UserKNN share."""

    k: Annotated[int, Ge(1), Le(2**31 - 1)] = 100
    """Neighbours kept per item (ItemKNN) or user (UserKNN)."""
    similarity: Literal["cosine", "jaccard", "asymmetric"] = "asymmetric"
    """Similarity between two rows of the interaction matrix."""
    shrink: Annotated[float, Ge(0)] = 0.0
    """Added to the similarity denominator: damps pairs with little support."""
    asymmetric_alpha: Annotated[float, Ge(0), Le(1)] = 0.3
    """Exponent ``a`` of the asymmetric cosine; 0.5 is the cosine, smaller values divide
    less by the target's norm and more by the (popular) neighbour's."""


class ItemKNN(_Neighbourhood, ItemSimRecommender):
    """Item-based k-nearest neighbours (Sarwar et al. 2001) with a sparse top-k similarity."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # sets self.train_matrix
        neighbours = knn_similarity(
            self.train_matrix.T.tocsr(), self.k, self.similarity, self.shrink, self.asymmetric_alpha
        )
        # Row j of `neighbours` holds j's neighbours i; the score needs s(j, i) at [i, j].
        self.item_similarity = neighbours.T.tocsr()


class UserKNN(_Neighbourhood, Recommender):
    """User-based k-nearest neighbours: a user's scores are the similarity-weighted sum of
    their neighbours' interactions."""

    needs_training_data = True

    k: Annotated[int, Ge(1), Le(2**31 - 1)] = 60
    """Neighbours kept per user."""

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.train_matrix = sp.csr_matrix(interactions.get_sparse(), dtype=np.float32)
        self.user_similarity = knn_similarity(
            self.train_matrix, self.k, self.similarity, self.shrink, self.asymmetric_alpha
        )

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``user_similarity[users] @ train_matrix``, all items or ``item_indices``."""
        users = user_indices.detach().cpu().numpy()
        dense = (self.user_similarity[users] @ self.train_matrix).toarray()
        scores = torch.from_numpy(dense).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))

    def get_extra_state(self) -> dict[str, Any]:
        """The training matrix and the user similarity, saved with the checkpoint."""
        return {"train_matrix": self.train_matrix, "user_similarity": self.user_similarity}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        self.train_matrix = state["train_matrix"]
        self.user_similarity = state["user_similarity"]

    @classmethod
    def _from_checkpoint(cls, params: dict, info: dict, seed: int) -> Recommender:
        # Built without training data; load_state_dict then restores the matrices.
        model = cls.__new__(cls)
        Recommender.__init__(model, params, info, seed=seed)
        model.train_matrix = sp.csr_matrix((model.n_users, model.n_items), dtype=np.float32)
        model.user_similarity = sp.csr_matrix((model.n_users, model.n_users), dtype=np.float32)
        return model


def decayed_matrix(interactions: Interactions, beta: float, model: str) -> sp.csr_matrix:
    """The training matrix with each value times ``exp(-beta * age in days)``, the age
    counted from the latest training interaction (Ding, Li, CIKM 2005)."""
    if interactions.timestamps is None:
        raise DataError(
            f"{model}: the training data has no timestamps; the time decay needs a "
            "timestamp column"
        )
    stamps = np.asarray(interactions.timestamps, dtype=np.float64)
    days = (stamps.max() - stamps) / 86_400.0 if stamps.size else stamps
    values = np.ones(len(interactions)) if interactions.ratings is None else interactions.ratings
    decayed = (values * np.exp(-beta * days)).astype(np.float32)
    return sp.csr_matrix(
        (decayed, (interactions.users, interactions.items)),
        shape=(interactions.n_users, interactions.n_items),
    )


class ItemKNNTD(ItemKNN):
    """ItemKNN with temporal decay (WarpRec's ItemKNN-TD): the similarity comes from the
    plain interactions; when scoring, each of the user's interactions counts
    ``exp(-beta * age in days)``."""

    beta: Annotated[float, Gt(0)] = 0.001
    """Decay rate per day: larger values forget old interactions faster."""
    # Defaults of its own (the package README says how they were chosen).
    k = 50
    similarity = "asymmetric"
    asymmetric_alpha = 0.2

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        self.train_matrix = decayed_matrix(interactions, self.beta, self.name)


class UserKNNTD(UserKNN):
    """UserKNN with temporal decay (WarpRec's UserKNN-TD): the user similarity comes from
    the plain interactions; each neighbour's interactions count ``exp(-beta * age in
    days)`` in the scores."""

    beta: Annotated[float, Gt(0)] = 0.001
    """Decay rate per day: larger values forget old interactions faster."""

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        self.train_matrix = decayed_matrix(interactions, self.beta, self.name)
