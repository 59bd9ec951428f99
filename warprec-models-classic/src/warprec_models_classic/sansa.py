"""SANSA (Spisak, Bartyzal, Hoskovec, Peska, RecSys 2023): EASE with sparse factors.

EASE needs ``P = (X^T X + l2 I)^-1``, a dense ``n x n`` matrix (149 GiB in float32 for
200,000 items). SANSA never forms it: in a suitable item order, ``P ~ G^T G`` with a
sparse lower-triangular ``G`` (SANSA's ``D^-1/2 L^-1``), so the EASE scores

    x B = x - x P diag(1/diag(P)) = x - ((x G^T) G) diag(1/diag(P))

are two sparse products, and ``diag(P) = column sums of G**2``.

SANSA's paper computes ``G`` as an incomplete ``L D L^T`` factorisation (CHOLMOD) followed
by a sparse approximate inverse of ``L``. This implementation computes the same kind of
factor in one step, as the factorised sparse approximate inverse (FSAI, Kolotilina and
Yeremin 1993) of ``A = X^T X + l2 I``, which needs neither CHOLMOD nor an incomplete
factorisation (whose fill, on a power-law co-occurrence graph, grows out of bounds):

1. items are ordered by decreasing ``A_ii`` (popularity) and each item ``i`` keeps as its
   pattern ``S_i`` itself plus the ``m - 1`` earlier items with the largest normalised
   co-occurrence ``|A_ij| / sqrt(A_ii A_jj)``, ``m = ceil(target_density * n)``;
2. row ``i`` of ``G`` solves the ``|S_i| x |S_i|`` system ``A[S_i, S_i] y = e_i``, scaled
   by ``1 / sqrt(y_i)`` (``G A G^T`` then has a unit diagonal and ``G`` minimises the
   Frobenius distance to the exact inverse factor over the pattern). The systems are
   solved in batches of equal size with ``numpy.linalg.solve``.

Work is ``O(n m^3)`` for the solves plus ``O(n m^2 log nnz(A))`` to gather the
submatrices, memory ``O(nnz(X^T X) + n m)``. When every pair of items co-occurs and
``m = n`` the factor is exact and the scores are EASE's; otherwise pairs that never
co-occur are outside the pattern.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Gt, Le
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import Recommender

__all__ = ["SANSA", "fsai_factor", "sansa_factors"]

# Entries of the gathered [rows, s, s] submatrices held at once.
_CHUNK_ENTRIES = 2**23


def fsai_factor(A: sp.spmatrix, m: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(G, order)``: the FSAI factor of the SPD matrix ``A`` permuted by ``order``, i.e.
    ``A[order][:, order]^-1 ~ G^T G`` with ``G`` lower triangular, at most ``m``
    entries per row."""
    A = sp.csr_matrix(A, dtype=np.float64)
    n = A.shape[0]
    diagonal = A.diagonal()
    if not (diagonal > 0).all():
        raise ConfigError("SANSA: X^T X + l2*I has a non-positive diagonal entry; use l2 > 0")
    order = np.argsort(-diagonal, kind="stable")
    Ap = sp.csr_matrix(A[order][:, order])
    Ap.sort_indices()
    d = diagonal[order]
    lower = sp.tril(Ap, -1, format="csr")
    counts = np.diff(lower.indptr)
    rows = np.repeat(np.arange(n), counts)
    strength = np.abs(lower.data) / np.sqrt(d[rows] * d[lower.indices])
    # The m - 1 strongest earlier neighbours of each row (rows are contiguous).
    ranked = np.lexsort((-strength, rows))
    within = np.arange(lower.nnz) - np.repeat(lower.indptr[:-1], counts)
    kept = ranked[within < m - 1]
    pattern_rows = np.concatenate([rows[kept], np.arange(n)])
    pattern_cols = np.concatenate([lower.indices[kept], np.arange(n)])
    # Row-major, columns ascending: the diagonal, the largest column, comes last.
    sort = np.lexsort((pattern_cols, pattern_rows))
    pattern_rows, pattern_cols = pattern_rows[sort], pattern_cols[sort]
    sizes = np.bincount(pattern_rows, minlength=n)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # Sorted (row, column) keys of A's entries, for vectorised look-ups of submatrices.
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(Ap.indptr)) * n + Ap.indices
    values = np.empty(pattern_rows.size)
    for size in np.unique(sizes):
        group = np.flatnonzero(sizes == size)
        step = max(1, _CHUNK_ENTRIES // (size * size))
        for first in range(0, group.size, step):
            chosen = group[first:first + step]
            slots = starts[chosen][:, None] + np.arange(size)
            S = pattern_cols[slots].astype(np.int64)
            query = (S[:, :, None] * n + S[:, None, :]).ravel()
            at = np.minimum(np.searchsorted(keys, query), keys.size - 1)
            M = np.where(keys[at] == query, Ap.data[at], 0.0).reshape(len(chosen), size, size)
            unit = np.zeros((len(chosen), size, 1))
            unit[:, -1, 0] = 1.0
            y = np.linalg.solve(M, unit)[:, :, 0]
            if not (y[:, -1] > 0).all():
                raise ConfigError("SANSA: a local system of X^T X + l2*I is not positive "
                                  "definite; use a larger l2")
            y /= np.sqrt(y[:, -1:])
            values[slots.ravel()] = y.ravel()
    G = sp.csr_matrix((values, (pattern_rows, pattern_cols)), shape=(n, n))
    return G, order


def sansa_factors(
    X: sp.spmatrix, l2: float, target_density: float
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(encoder, decoder)`` with EASE-like scores ``x - (x @ encoder) @ decoder``.

    ``encoder = Pi G^T`` and ``decoder = G diag(1/diag(P)) Pi^T`` (float32 CSR), with
    ``Pi`` the item order of :func:`fsai_factor`.
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    n = X.shape[1]
    m = min(n, max(1, math.ceil(target_density * n)))
    A = (X.T @ X).tocsr() + l2 * sp.identity(n, format="csr", dtype=np.float64)
    G, order = fsai_factor(A, m)
    del A
    diag_P = np.asarray(G.multiply(G).sum(axis=0)).ravel()
    # x @ Pi = x[:, order]
    Pi = sp.csr_matrix((np.ones(n), (order, np.arange(n))), shape=(n, n))
    encoder = (Pi @ G.T).tocsr().astype(np.float32)
    decoder = (G @ sp.diags(1.0 / diag_P) @ Pi.T).tocsr().astype(np.float32)
    return encoder, decoder


class SANSA(Recommender):
    """Scalable Approximate NonSymmetric Autoencoder: EASE through sparse approximate
    factors of ``(X^T X + l2 I)^-1``, for catalogues whose dense inverse does not fit."""

    needs_training_data = True
    fitted_state = ("train_matrix", "encoder", "decoder")

    l2: Annotated[float, Gt(0)] = 100.0
    """L2 regularisation added to the diagonal of ``X^T X`` (as in EASE)."""
    target_density: Annotated[float, Gt(0), Le(1)] = 0.02
    """Density of the sparse factor: each item keeps ``ceil(target_density * n_items)``
    entries (for large catalogues, e.g. ``20 / n_items``)."""

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
        self.encoder, self.decoder = sansa_factors(self.train_matrix, self.l2,
                                                   self.target_density)

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``x - (x @ encoder) @ decoder``, all items or ``item_indices``."""
        rows = self.train_matrix[user_indices.detach().cpu().numpy()]
        dense = (rows - (rows @ self.encoder) @ self.decoder).toarray()
        scores = torch.from_numpy(np.asarray(dense, dtype=np.float32)).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))
