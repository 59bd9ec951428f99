"""The numpy implementation of iALS's conjugate-gradient half-sweep that trained iALS and
iALS2008 before the compiled kernel (warprec-models-classic 0.2.0), kept as the
reference the kernel must reproduce: all rows of a block at once, one matrix-vector
product being ``P @ G + lam P`` plus the observed pairs' weighted dot products gathered
back with one sparse product."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Entries of the gathered [nnz, f] factor block held at once during a half-sweep.
_BLOCK_ENTRIES = 2**23


def cg_half_sweep(
    fixed: np.ndarray,
    target: np.ndarray,
    weights: sp.csr_matrix,
    rhs: np.ndarray,
    w0: float,
    lam: np.ndarray,
    steps: int,
) -> None:
    """Improve ``target`` in place with ``steps`` conjugate-gradient steps per row.

    Row ``u`` solves ``(w0 F^T F + F_u^T diag(d_u) F_u + lam_u I) x_u = rhs_u`` with
    ``F = fixed`` and ``d_u`` the stored values of row ``u`` of ``weights`` (its column
    indices select ``F_u``). Rows without interactions and a zero right-hand side are set
    to zero, the exact solution.
    """
    gram = (w0 * (fixed.T @ fixed)).astype(target.dtype, copy=False)
    counts = np.diff(weights.indptr)
    n, f = target.shape
    start = 0
    while start < n:
        # A block of rows whose gathered factors fit in _BLOCK_ENTRIES entries.
        budget = weights.indptr[start] + max(_BLOCK_ENTRIES // max(f, 1), 1)
        stop = int(np.searchsorted(weights.indptr, budget, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        _cg_block(fixed, target, weights, rhs, gram, lam, steps, start, stop, counts)
        start = stop
    target[(counts == 0) & ~rhs.any(axis=1)] = 0.0


def _cg_block(
    fixed: np.ndarray,
    target: np.ndarray,
    weights: sp.csr_matrix,
    rhs: np.ndarray,
    gram: np.ndarray,
    lam: np.ndarray,
    steps: int,
    start: int,
    stop: int,
    counts: np.ndarray,
) -> None:
    block = weights[start:stop]
    gathered = fixed[block.indices]  # F_i of every observed pair of the block, [nnz, f]
    owner = np.repeat(np.arange(stop - start), counts[start:stop])
    lam_block = lam[start:stop, None]
    d = block.data

    def product(p: np.ndarray) -> np.ndarray:
        # (w0 F^T F + lam I) p_u, plus sum_i d_ui <F_i, p_u> F_i over u's observed pairs.
        dots = np.einsum("ij,ij->i", gathered, p[owner]) * d
        sampled = sp.csr_matrix((dots, block.indices, block.indptr), shape=block.shape)
        return p @ gram + lam_block * p + sampled @ fixed

    x = target[start:stop]
    residual = rhs[start:stop] - product(x)
    direction = residual.copy()
    norm = np.einsum("ij,ij->i", residual, residual)
    for _ in range(steps):
        image = product(direction)
        curvature = np.einsum("ij,ij->i", direction, image)
        alpha = np.divide(norm, curvature, out=np.zeros_like(norm), where=curvature > 0)
        x += alpha[:, None] * direction
        residual -= alpha[:, None] * image
        new_norm = np.einsum("ij,ij->i", residual, residual)
        beta = np.divide(new_norm, norm, out=np.zeros_like(norm), where=norm > 0)
        direction *= beta[:, None]
        direction += residual
        norm = new_norm
    target[start:stop] = x


def reference_fit(model, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s alternating loop (its systems, ridge, sizes and seed) run with the
    numpy half-sweep: the user and item factors the 0.2.0 implementation learned."""
    rng = np.random.default_rng(model.seed)
    n_users, n_items = X.shape
    sigma = 0.1 / np.sqrt(model.factors)
    users = rng.normal(0.0, sigma, (n_users, model.factors)).astype(np.float32)
    items = rng.normal(0.0, sigma, (n_items, model.factors)).astype(np.float32)
    w0, D, T = model._systems(X)
    Dt, Tt = D.T.tocsr(), T.T.tocsr()
    lam_users = model._lambda(np.diff(D.indptr), n_items, w0).astype(np.float32)
    lam_items = model._lambda(np.diff(Dt.indptr), n_users, w0).astype(np.float32)
    for _ in range(model.n_iterations):
        cg_half_sweep(items, users, D, T @ items, w0, lam_users, model.cg_steps)
        cg_half_sweep(users, items, Dt, Tt @ users, w0, lam_items, model.cg_steps)
    return users, items
