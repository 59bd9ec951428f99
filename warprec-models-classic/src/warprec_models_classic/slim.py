"""Sparse linear methods: SLIM (ElasticNet per item) and ADMM SLIM.

Both learn an item-item weight matrix ``W`` with a zero diagonal and score
``x_u @ W``. ``Slim`` (Ning, Karypis, ICDM 2011) solves, for every item ``j``,

    min_{w >= 0, w_j = 0}  1/(2 n_users) |X_j - X w|^2 + alpha l1 |w|_1 + alpha (1 - l1)/2 |w|^2

with scikit-learn's coordinate-descent ``ElasticNet`` (``l1`` is its ``l1_ratio``).
``ADMMSlim`` (Steck et al., WSDM 2020) solves the same kind of problem for all columns at
once by ADMM on the dense Gram matrix, with WarpRec's popularity-scaled L2 term.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
from annotated_types import Ge, Gt, Le
from threadpoolctl import threadpool_limits
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import ItemSimRecommender

from warprec_models_classic.ease import _fill_lower_from_upper, _inverse_in_place, gram_upper

__all__ = ["ADMMSlim", "Slim", "admm_slim_weights", "slim_weights"]


def slim_weights(
    X: sp.spmatrix,
    alpha: float,
    l1_ratio: float,
    max_iter: int = 100,
    tol: float = 1e-4,
    workers: int | None = None,
    seed: int = 0,
) -> sp.csr_matrix:
    """SLIM weights ``W`` (``[n_items, n_items]``, zero diagonal, non-negative): column
    ``j`` is the ElasticNet fit of ``X[:, j]`` on the other columns.

    With non-negative data only the items that co-occur with ``j`` can get a positive
    weight (the gradient of every other one is >= 0 at 0), so each fit sees those columns
    only: the same solution, on a much smaller problem. The fits run on ``workers``
    threads (scikit-learn's coordinate descent releases the GIL); coordinates are visited
    in a random order drawn from ``seed`` (faster to converge than cyclic), the same for
    every item whatever the threads do.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    X = sp.csc_matrix(X, dtype=np.float64)
    n_items = X.shape[1]
    nonnegative = X.nnz == 0 or X.data.min() >= 0
    co = (X.T @ X).tocsc() if nonnegative else None
    everything = np.arange(n_items)

    def fit(items: range) -> list[tuple[np.ndarray, np.ndarray]]:
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, positive=True, fit_intercept=False,
                           copy_X=False, precompute=False, selection="random",
                           max_iter=max_iter, tol=tol, random_state=seed)
        columns = []
        for j in items:
            features = co.indices[co.indptr[j]:co.indptr[j + 1]] if co is not None else everything
            features = features[features != j]
            y = X[:, j].toarray().ravel()
            if features.size == 0 or not y.any():
                columns.append((features[:0], np.zeros(0)))
                continue
            model.fit(X[:, features], y)
            keep = model.coef_ > 0
            columns.append((features[keep], model.coef_[keep]))
        return columns

    workers = workers or min(os.cpu_count() or 1, 8)
    chunks = [range(start, n_items, workers) for start in range(workers)]
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # max_iter reached: the iterate is still a usable sparse model. (The filter is
        # set here, once: catch_warnings is not thread-safe.)
        warnings.simplefilter("ignore", ConvergenceWarning)
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(fit, chunks))
    rows, cols, vals = [], [], []
    for chunk, columns in zip(chunks, results, strict=True):
        for j, (features, coef) in zip(chunk, columns, strict=True):
            rows.append(features)
            cols.append(np.full(features.size, j))
            vals.append(coef)
    return sp.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )


class Slim(ItemSimRecommender):
    """SLIM (Ning, Karypis, ICDM 2011): a sparse non-negative item-item regression with a
    zero diagonal, one scikit-learn ElasticNet per item."""

    l1: Annotated[float, Ge(0), Le(1)] = 0.1
    """Share of the L1 term in the ElasticNet penalty (scikit-learn's ``l1_ratio``)."""
    alpha: Annotated[float, Gt(0)] = 0.03
    """Strength of the ElasticNet penalty (scikit-learn's ``alpha``)."""

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
        self.item_similarity = slim_weights(self.train_matrix, self.alpha, self.l1, seed=self.seed)


def admm_slim_weights(
    X: sp.spmatrix,
    lambda_1: float,
    lambda_2: float,
    alpha: float,
    rho: float,
    iterations: int,
    positive_only: bool = True,
    center_columns: bool = False,
) -> np.ndarray:
    """ADMM SLIM weights (Steck et al., WSDM 2020) as a dense float32 ``[n, n]`` array.

    ``B`` minimises ``|X - X B|^2 + lambda_2 |D^(1/2) B|^2 + lambda_1 |B|_1`` subject to
    ``diag(B) = 0`` (and ``B >= 0`` with ``positive_only``), where ``D`` holds the item
    means to the power ``alpha``; ``rho`` is the ADMM penalty. The returned matrix is the
    sparse iterate ``C`` of the split ``B = C``.
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    n = X.shape[1]
    means = np.asarray(X.mean(axis=0)).ravel()
    if center_columns:
        # X^T X - n_users m m^T is the Gram matrix of the centred columns, without
        # ever densifying X.
        gram = gram_upper(X, np.float64)
        _fill_lower_from_upper(gram)
        gram -= X.shape[0] * np.outer(means, means)
    else:
        gram = gram_upper(X, np.float64)
        _fill_lower_from_upper(gram)
    P = gram.copy()
    P.ravel()[:: n + 1] += lambda_2 * np.power(means, alpha) + rho
    _inverse_in_place(P, rho)  # SPD for rho > 0; only the upper triangle is written
    _fill_lower_from_upper(P)
    P = P.astype(np.float32)
    B_aux = P @ gram.astype(np.float32)
    del gram
    diag_P = np.diag(P).copy()
    gamma = np.zeros((n, n), dtype=np.float32)
    C = np.zeros((n, n), dtype=np.float32)
    threshold = lambda_1 / rho
    for _ in range(iterations):
        B = B_aux + P @ (rho * C - gamma)
        # Lagrange multipliers of diag(B) = 0: B -= P diag(diag(B) / diag(P)).
        B -= P * (np.diag(B) / diag_P)
        C = B + gamma / rho
        if positive_only:
            # The soft threshold followed by max(., 0) is a shift and a clip.
            C -= threshold
            np.maximum(C, 0.0, out=C)
        else:
            C = np.sign(C) * np.maximum(np.abs(C) - threshold, 0.0)
        gamma += rho * (B - C)
    return C


class ADMMSlim(ItemSimRecommender):
    """ADMM SLIM (Steck, Dimakopoulou, Riabov, Jebara, WSDM 2020) with WarpRec's
    popularity-scaled L2 term ``lambda_2 * mean_j^alpha``."""

    lambda_1: Annotated[float, Ge(0)] = 1.0
    """Weight of the L1 penalty (sparsity of the weights)."""
    lambda_2: Annotated[float, Ge(0)] = 200.0
    """Weight of the L2 penalty, scaled per item by ``mean^alpha``."""
    alpha: Annotated[float, Ge(0)] = 0.0
    """Exponent of the item mean in the L2 penalty (0: the same penalty for every item)."""
    rho: Annotated[float, Gt(0)] = 500.0
    """ADMM penalty parameter."""
    it: Annotated[int, Ge(0), Le(100000)] = 20
    """ADMM iterations."""
    positive_only: bool = True
    """Keep only non-negative weights."""
    center_columns: bool = False
    """Centre the item columns before building the Gram matrix."""

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
        self.item_similarity = admm_slim_weights(
            self.train_matrix, self.lambda_1, self.lambda_2, self.alpha, self.rho, self.it,
            self.positive_only, self.center_columns,
        )
