"""Implicit alternating least squares with conjugate-gradient solves.

Both models alternate between the user and the item factors; each half-sweep solves,
for every row ``u`` of the side being updated (with ``F`` the other side's factors and
``F_u`` the rows of ``F`` that ``u`` interacted with), the ``f x f`` system

    (w0 F^T F + F_u^T diag(d_u) F_u + lambda_u I) x_u = F_u^T t_u

- ``iALS`` (Rendle et al., "Revisiting the Performance of iALS on Item Recommendation
  Benchmarks", RecSys 2022; WarpRec's definition): ``w0 = alpha0`` weighs the all-pairs
  term pushing every score towards 0, observed pairs add weight ``d = 1`` towards the
  target ``t = 1``, and ``lambda_u = reg * (|I_u| + alpha0 |I|)^nu``.
- ``iALS2008`` (Hu, Koren, Volinsky, ICDM 2008): confidence ``c_ui = 1 + alpha r_ui``
  (or ``1 + alpha log(1 + r_ui / epsilon)``) on observed pairs, 1 elsewhere: ``w0 = 1``,
  ``d = c - 1``, ``t = c``, ``lambda_u = reg``.

Exact solves cost ``O(f^3)`` per row; here every row takes ``cg_steps`` steps of
conjugate gradients warm-started from its previous factors (Takacs, Pilaszy, Tikk,
RecSys 2011), all rows of a block at once in numpy: one matrix-vector product is
``P @ (w0 F^T F) + lambda P`` plus, on the observed pairs only, the sampled dot products
``d_ui <F_i, p_u>`` gathered back with one sparse product. Cost per half-sweep:
``O(cg_steps (nnz f + n f^2))``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le
from threadpoolctl import threadpool_limits
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import Recommender

__all__ = ["cg_half_sweep", "iALS", "iALS2008"]

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


class _ALS(Recommender):
    """Factor storage, prediction and the alternating loop shared by both variants."""

    needs_training_data = True

    factors: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the user and item factors."""
    n_iterations: Annotated[int, Gt(0), Le(10000)] = 15
    """Full sweeps (users, then items)."""
    cg_steps: Annotated[int, Gt(0), Le(1000)] = 3
    """Conjugate-gradient steps per row and half-sweep (warm-started; 2-4 is typical)."""

    user_factors: Tensor
    item_factors: Tensor

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
        X = sp.csr_matrix(interactions.get_sparse(), dtype=np.float32)
        users, items = self._fit(X, np.random.default_rng(self.seed))
        self.register_buffer("user_factors", torch.from_numpy(users))
        self.register_buffer("item_factors", torch.from_numpy(items))

    def _systems(self, X: sp.csr_matrix) -> tuple[float, sp.csr_matrix, sp.csr_matrix]:
        """``(w0, D, T)``: the all-pairs weight, the extra weights and the targets of the
        observed pairs (both ``[n_users, n_items]`` with the pattern of ``X``)."""
        raise NotImplementedError

    def _lambda(self, counts: np.ndarray, n_other: int, w0: float) -> np.ndarray:
        """The ridge weight of each row given its number of interactions."""
        raise NotImplementedError

    def _fit(self, X: sp.csr_matrix, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n_users, n_items = X.shape
        sigma = 0.1 / np.sqrt(self.factors)
        users = rng.normal(0.0, sigma, (n_users, self.factors)).astype(np.float32)
        items = rng.normal(0.0, sigma, (n_items, self.factors)).astype(np.float32)
        w0, D, T = self._systems(X)
        Dt, Tt = D.T.tocsr(), T.T.tocsr()
        lam_users = self._lambda(np.diff(D.indptr), n_items, w0).astype(np.float32)
        lam_items = self._lambda(np.diff(Dt.indptr), n_users, w0).astype(np.float32)
        # One BLAS thread: the products are small (f x f, n x f @ f x f), and a second
        # thread that waits for a core other processes hold costs far more than it gives.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(self.n_iterations):
                cg_half_sweep(items, users, D, T @ items, w0, lam_users, self.cg_steps)
                cg_half_sweep(users, items, Dt, Tt @ users, w0, lam_items, self.cg_steps)
        return users, items

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``<user factors, item factors>``, all items or ``item_indices [B, S]``."""
        users = self.user_factors[user_indices.to(self.user_factors.device)]
        if item_indices is None:
            return users @ self.item_factors.T
        chosen = self.item_factors[item_indices.to(self.item_factors.device)]
        return torch.einsum("bf,bsf->bs", users, chosen)


class iALS(_ALS):
    """iALS as revisited by Rendle et al. (RecSys 2022): binary targets on the observed
    pairs, an all-pairs term weighted by ``alpha0`` and a frequency-scaled ridge."""

    alpha0: Annotated[float, Ge(0)] = 0.5
    """Weight of the all-pairs term that pulls every score towards 0."""
    reg: Annotated[float, Ge(0)] = 0.01
    """Ridge weight ``lambda``, scaled per row by ``(|I_u| + alpha0 |I|)^nu``."""
    nu: Annotated[float, Ge(0), Le(10)] = 1.0
    """Exponent of the frequency scaling of the ridge (0: plain ``lambda``)."""

    def _systems(self, X: sp.csr_matrix) -> tuple[float, sp.csr_matrix, sp.csr_matrix]:
        binary = X.copy()  # get_sparse() merged duplicates: one entry per pair
        binary.data[:] = 1.0
        return self.alpha0, binary, binary

    def _lambda(self, counts: np.ndarray, n_other: int, w0: float) -> np.ndarray:
        return self.reg * (counts + w0 * n_other) ** self.nu


class iALS2008(_ALS):
    """Confidence-weighted implicit ALS (Hu, Koren, Volinsky, ICDM 2008): preference 1 on
    the observed pairs with confidence ``c = 1 + alpha r`` (or its log variant), 0 with
    confidence 1 everywhere else."""

    alpha: Annotated[float, Ge(0)] = 10.0
    """Confidence scale: ``c = 1 + alpha r`` (linear) or ``1 + alpha log(1 + r/epsilon)``."""
    reg: Annotated[float, Ge(0)] = 50.0
    """Ridge weight ``lambda`` of every factor."""
    confidence_type: Literal["linear", "log"] = "linear"
    """How the confidence grows with the interaction value ``r``."""
    epsilon: Annotated[float, Gt(0)] = 1.0
    """Scale of ``r`` in the log confidence."""

    def _systems(self, X: sp.csr_matrix) -> tuple[float, sp.csr_matrix, sp.csr_matrix]:
        extra = X.copy()
        if self.confidence_type == "log":
            extra.data = (self.alpha * np.log1p(extra.data / self.epsilon)).astype(np.float32)
        else:
            extra.data = (self.alpha * extra.data).astype(np.float32)
        confidence = extra.copy()
        confidence.data += 1.0
        return 1.0, extra, confidence

    def _lambda(self, counts: np.ndarray, n_other: int, w0: float) -> np.ndarray:
        return np.full(counts.shape, self.reg, dtype=np.float64)
