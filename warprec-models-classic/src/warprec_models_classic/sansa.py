"""SANSA (Spisak, Bartyzal, Hoskovec, Peska, RecSys 2023): EASE with sparse factors.

EASE needs ``P = (X^T X + l2 I)^-1``, a dense ``n x n`` matrix (160 GB in float32 for
200,000 items). SANSA never forms it: with a fill-reducing symmetric permutation,
``A = X^T X + l2 I ~ L D L^T`` with a sparse unit lower-triangular ``L``, and
``L^-1 ~ K`` with ``K`` sparse too, so ``P ~ K^T D^-1 K`` and the EASE scores

    x B = x - x P diag(1/diag(P)) = x - ((x K^T) D^-1 K) diag(1/diag(P))

are two sparse products. Here:

1. ``A`` is built sparse, each column keeping its ``4 m`` largest off-diagonal entries
   (and their mirror images: the pattern stays symmetric), with
   ``m = ceil(target_density * n)``; ``scipy.sparse.linalg.spilu`` (SuperLU's threshold incomplete
   LU, in symmetric mode with a minimum-degree ordering of ``A + A^T`` and no pivoting)
   gives ``L`` and ``D = diag(U)``; every column of ``L`` then keeps its ``m`` largest
   entries.
2. ``K`` starts from one Schultz step, ``2I - L``, and takes ``inverse_steps`` steps
   of minimal-residual updates ``K_j += a_j r_j`` with ``R = I - L K`` (each column's
   step size minimises its new residual), keeping ``m`` entries per column of ``R`` and
   ``K`` after each step.

Memory is ``O(n m)`` for the factors plus the sparse ``A`` and its incomplete LU (at
most ``fill_factor`` times ``A``'s entries); no ``n x n`` dense array exists anywhere.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from annotated_types import Gt, Le
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import Recommender

__all__ = ["SANSA", "sansa_factors", "top_per_column"]


def top_per_column(M: sp.spmatrix, m: int, keep_diagonal: bool = False) -> sp.csc_matrix:
    """``M`` (CSC) with only the ``m`` entries of largest magnitude in each column
    (and, with ``keep_diagonal``, its diagonal whatever its size)."""
    M = sp.csc_matrix(M)
    M.sum_duplicates()
    M.eliminate_zeros()
    counts = np.diff(M.indptr)
    if M.nnz == 0 or counts.max() <= m:
        return M
    columns = np.repeat(np.arange(M.shape[1]), counts)
    key = np.abs(M.data)
    if keep_diagonal:
        key = np.where(M.indices == columns, np.inf, key)
    # Entries of each column, largest first; keep the first m of each column.
    order = np.lexsort((-key, columns))
    rank = np.arange(M.nnz) - np.repeat(M.indptr[:-1], counts)
    kept = np.sort(order[rank < m])
    return sp.csc_matrix(
        (M.data[kept], M.indices[kept], np.concatenate([[0], np.cumsum(np.minimum(counts, m))])),
        shape=M.shape,
    )


def sansa_factors(
    X: sp.spmatrix,
    l2: float,
    target_density: float,
    inverse_steps: int = 5,
    drop_tol: float = 1e-4,
    fill_factor: float = 1.0,
    gram_entries: int = 4,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(W1, W2)`` with EASE-like scores ``x - (x @ W1) @ W2`` (both ``[n, n]``, sparse).

    ``W1 = Pc K^T`` and ``W2 = D^-1 K diag(1/diag(P)) Pc^T`` with ``Pc`` the fill-reducing
    permutation. Raises :class:`ConfigError` when the incomplete factorisation meets a
    non-positive pivot (``l2`` too small).
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    n = X.shape[1]
    m = max(1, math.ceil(target_density * n))
    A = _pruned_gram(X, gram_entries * m, l2)
    lu = spla.spilu(
        A, drop_tol=drop_tol, fill_factor=fill_factor, permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0, options={"SymmetricMode": True},
    )
    del A
    D = lu.U.diagonal()
    if not (D > 0).all():
        raise ConfigError(
            f"SANSA: the incomplete factorisation of X^T X + l2*I met a non-positive pivot "
            f"with l2={l2}; use a larger l2 (e.g. {max(10 * l2, 1.0):g})"
        )
    L = top_per_column(lu.L, m, keep_diagonal=True)
    permutation = lu.perm_c
    del lu
    K = _approximate_inverse(L, m, inverse_steps)
    del L
    diag_P = np.asarray(K.multiply(K).T @ (1.0 / D)).ravel()
    Pc = sp.csr_matrix((np.ones(n), (np.arange(n), permutation)), shape=(n, n))
    W1 = (Pc @ K.T).tocsr().astype(np.float32)
    W2 = (sp.diags(1.0 / D) @ K @ sp.diags(1.0 / diag_P) @ Pc.T).tocsr().astype(np.float32)
    return W1, W2


def _pruned_gram(X: sp.csr_matrix, per_column: int, l2: float) -> sp.csc_matrix:
    """``X^T X + l2 I`` keeping the ``per_column`` largest off-diagonal entries of each
    column, and their mirror images so that the pattern stays symmetric.

    The magnitude of every dropped entry ``a_ij`` is added to ``a_ii`` and ``a_jj``: the
    result is ``X^T X + l2 I`` plus a sum of positive semi-definite terms, so it stays
    positive definite (plain dropping need not).
    """
    n = X.shape[1]
    A = (X.T @ X).tocsc()
    A.setdiag(0.0)
    pruned = top_per_column(A, per_column)
    pattern = pruned.copy()
    pattern.data[:] = 1.0
    pattern = ((pattern + pattern.T) > 0).astype(np.float64)
    kept = A.multiply(pattern).tocsc()
    dropped = abs(A - kept)
    diagonal = np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel() + l2
    diagonal += np.asarray(dropped.sum(axis=0)).ravel()
    return (kept + sp.diags(diagonal)).tocsc()


def _approximate_inverse(L: sp.csc_matrix, m: int, steps: int) -> sp.csc_matrix:
    """Sparse ``K ~ L^-1`` for unit lower-triangular ``L``, ``m`` entries per column."""
    n = L.shape[0]
    identity = sp.identity(n, format="csc", dtype=L.dtype)
    K = top_per_column(2 * identity - L, m, keep_diagonal=True)
    for _ in range(steps):
        R = top_per_column(identity - L @ K, m)
        LR = (L @ R).tocsc()
        # Step a_j minimising |r_j - a_j L r_j| for each column j.
        numerator = np.asarray(R.multiply(LR).sum(axis=0)).ravel()
        denominator = np.asarray(LR.multiply(LR).sum(axis=0)).ravel()
        step = np.divide(numerator, denominator, out=np.zeros_like(numerator),
                         where=denominator > 0)
        K = top_per_column(K + R @ sp.diags(step), m, keep_diagonal=True)
    return K


class SANSA(Recommender):
    """Scalable Approximate NonSymmetric Autoencoder: EASE through sparse approximate
    factors of ``(X^T X + l2 I)^-1``, for catalogues whose dense inverse does not fit."""

    l2: Annotated[float, Gt(0)] = 300.0
    """L2 regularisation added to the diagonal of ``X^T X`` (as in EASE)."""
    target_density: Annotated[float, Gt(0), Le(1)] = 0.1
    """Density of each sparse factor (``L`` and ``L^-1``): ``target_density * n_items``
    entries per column."""

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

    def get_extra_state(self) -> dict[str, Any]:
        """The training matrix and both factors, saved with the checkpoint."""
        return {"train_matrix": self.train_matrix, "encoder": self.encoder,
                "decoder": self.decoder}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        self.train_matrix = state["train_matrix"]
        self.encoder = state["encoder"]
        self.decoder = state["decoder"]
