"""RP3beta (Paudel et al., ACM TiiS 2016): three-step random walk item similarity.

``W[i, j] = sum_u P(u | i)^alpha P(j | u)^alpha / popularity(j)^beta``, where ``P(u | i)``
walks from an item to one of its users (uniformly) and ``P(j | u)`` from a user to one of
their items (in proportion to the interaction values). Each item keeps its ``k``
largest outgoing weights (itself excluded); ``score(u, j) = sum_i x_ui W[i, j]``.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
from annotated_types import Ge, Gt, Le
from warprec.recommenders.base_recommender import ItemSimRecommender

from warprec_models_classic._topk import topk_product

__all__ = ["RP3beta", "rp3beta_similarity"]


def rp3beta_similarity(
    X: sp.csr_matrix, k: int, alpha: float = 1.0, beta: float = 0.6, normalize: bool = False
) -> sp.csr_matrix:
    """The top-``k`` RP3beta item-item weights ``[n_items, n_items]`` of the user-item ``X``."""
    X = sp.csr_matrix(X, dtype=np.float32)
    user_to_item = _row_normalised(X)
    binary = X.T.tocsr()
    binary.data[:] = 1.0
    popularity = np.diff(binary.indptr).astype(np.float64)
    item_to_user = _row_normalised(binary)
    if alpha != 1.0:
        user_to_item.data **= alpha
        item_to_user.data **= alpha
    # Items nobody interacted with are never reached: their weight stays 0.
    penalty = np.zeros_like(popularity)
    np.power(popularity, -beta, out=penalty, where=popularity > 0)

    def reweight(_rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        return (values * penalty[cols]).astype(np.float32)

    W = topk_product(item_to_user, user_to_item, k, reweight=reweight)
    return _row_normalised(W) if normalize else W


def _row_normalised(A: sp.csr_matrix) -> sp.csr_matrix:
    """``A`` with each row divided by its sum (empty rows stay empty)."""
    sums = np.asarray(A.sum(axis=1), dtype=np.float64).ravel()
    scale = np.zeros_like(sums)
    np.divide(1.0, sums, out=scale, where=sums != 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ A, dtype=np.float32)


class RP3beta(ItemSimRecommender):
    """RP3beta: random-walk item similarity with a popularity penalty, sparse top-k."""

    k: Annotated[int, Ge(1), Le(2**31 - 1)] = 100
    """Neighbours (outgoing weights) kept per item."""
    alpha: Annotated[float, Gt(0), Le(100)] = 1.0
    """Exponent applied to the transition probabilities."""
    beta: Annotated[float, Ge(0), Le(10)] = 0.6
    """Popularity penalty: weights into item ``j`` are divided by ``popularity(j)^beta``.
    At least 0, as WarpRec requires (a negative value rewards popularity and overflows
    float32 weights); at most 10, where the weights into an item with a few thousand
    interactions already fall below float32's smallest number."""
    normalize: bool = True
    """Rescale each item's kept weights to sum to 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # sets self.train_matrix
        self.item_similarity = rp3beta_similarity(
            self.train_matrix, self.k, self.alpha, self.beta, self.normalize
        )
