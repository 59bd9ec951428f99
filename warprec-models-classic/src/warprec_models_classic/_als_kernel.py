"""The compiled (numba) half-sweep of iALS and iALS2008: a few conjugate-gradient steps
per row, rows spread over the run's threads.

Each row ``u`` of the side being updated solves, with ``F`` the other side's factors,

    (G + F_u^T diag(d_u) F_u + lam_u I) x_u = F_u^T t_u,    G = w0 F^T F,

by ``steps`` steps of conjugate gradients warm-started from its current factors
(Takacs, Pilaszy, Tikk, RecSys 2011), as implicit's CPU solver does: one product costs
``f^2`` for ``G`` plus ``2 |I_u| f`` on the row's observed pairs. Rows are independent
within a half-sweep, so the result does not depend on the number of threads. Compiled on
first use and cached on disk (``cache=True``): later processes load the machine code.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["cg_rows", "set_threads"]

# Rows per parallel task: enough rows that the per-task scratch allocation is noise,
# few enough that skewed row lengths still spread evenly over the threads.
_ROWS_PER_TASK = 64


def set_threads(threads: int) -> int:
    """Use ``threads`` numba threads (at most the pool numba started with); returns the
    count applied."""
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    return threads


@njit(cache=True, fastmath=True, inline="always")
def _product(
    fixed: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    start: int,
    stop: int,
    gram: np.ndarray,
    lam: float,
    p: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out = (G + lam I) p + sum_i d_i <F_i, p> F_i`` over the row's pairs."""
    f = p.size
    for k in range(f):
        total = lam * p[k]
        for m in range(f):
            total += gram[k, m] * p[m]
        out[k] = total
    for s in range(start, stop):
        item = indices[s]
        dot = p[0] * fixed[item, 0]
        for k in range(1, f):
            dot += p[k] * fixed[item, k]
        dot *= weights[s]
        for k in range(f):
            out[k] += dot * fixed[item, k]


@njit(cache=True, fastmath=True, inline="always")
def _residual(
    fixed: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    start: int,
    stop: int,
    gram: np.ndarray,
    lam: float,
    x: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out = F_u^T t_u - A x``: the right-hand side and the product of ``x`` in one
    pass over the row's pairs, ``(t_i - d_i <F_i, x>) F_i`` each."""
    f = x.size
    for k in range(f):
        total = -lam * x[k]
        for m in range(f):
            total -= gram[k, m] * x[m]
        out[k] = total
    for s in range(start, stop):
        item = indices[s]
        dot = x[0] * fixed[item, 0]
        for k in range(1, f):
            dot += x[k] * fixed[item, k]
        coefficient = targets[s] - weights[s] * dot
        for k in range(f):
            out[k] += coefficient * fixed[item, k]


@njit(cache=True, fastmath=True, inline="always")
def _dot(a: np.ndarray, b: np.ndarray) -> float:  # pragma: no cover - compiled
    total = a[0] * b[0]
    for k in range(1, a.size):
        total += a[k] * b[k]
    return total


@njit(cache=True, parallel=True, fastmath=True, nogil=True)
def cg_rows(
    fixed: np.ndarray,
    target: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    gram: np.ndarray,
    lam: np.ndarray,
    steps: int,
) -> None:  # pragma: no cover - compiled
    """Improve every row of ``target`` in place by ``steps`` conjugate-gradient steps.

    ``indptr``/``indices`` are the CSR pattern of the observed pairs, ``weights`` their
    extra weights ``d`` and ``targets`` their targets ``t`` (both aligned with
    ``indices``); ``gram`` is ``G`` and ``lam`` the per-row ridge. A row without pairs
    is set to zero, its exact solution.
    """
    n, f = target.shape
    tasks = (n + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK
    for task in prange(tasks):
        residual = np.empty(f, dtype=target.dtype)
        direction = np.empty(f, dtype=target.dtype)
        image = np.empty(f, dtype=target.dtype)
        for u in range(task * _ROWS_PER_TASK, min(n, (task + 1) * _ROWS_PER_TASK)):
            start, stop = indptr[u], indptr[u + 1]
            x = target[u]
            if start == stop:
                x[:] = 0.0
                continue
            _residual(fixed, indices, weights, targets, start, stop, gram, lam[u], x,
                      residual)
            for k in range(f):
                direction[k] = residual[k]
            norm = _dot(residual, residual)
            for _ in range(steps):
                _product(fixed, indices, weights, start, stop, gram, lam[u], direction,
                         image)
                curvature = _dot(direction, image)
                alpha = norm / curvature if curvature > 0 else norm * 0  # zero, in x's type
                for k in range(f):
                    x[k] += alpha * direction[k]
                    residual[k] -= alpha * image[k]
                new_norm = _dot(residual, residual)
                beta = new_norm / norm if norm > 0 else norm * 0
                for k in range(f):
                    direction[k] = residual[k] + beta * direction[k]
                norm = new_norm
