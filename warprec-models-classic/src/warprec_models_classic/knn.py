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

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import ItemSimRecommender, Recommender

from warprec_models_classic._topk import Reweight, topk_product

__all__ = ["SIMILARITIES", "ItemKNN", "UserKNN", "knn_similarity"]

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
        return lambda t, n, dot: (dot / (squared[t] + squared[n] - dot + shrink)).astype(
            np.float32
        )
    power = 0.5 if similarity == "cosine" else alpha
    target = squared**power
    neighbour = squared ** (1.0 - power)
    return lambda t, n, dot: (dot / (target[t] * neighbour[n] + shrink)).astype(np.float32)
