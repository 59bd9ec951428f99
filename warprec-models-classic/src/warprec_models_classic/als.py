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
RecSys 2011), compiled with numba and spread over the run's threads (``general.threads``):
see :mod:`warprec_models_classic._als_kernel`. Cost per half-sweep:
``O(cg_steps (nnz f + n f^2))``. Rows are independent within a half-sweep, so the
factors do not depend on the thread count.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import Recommender

from warprec_models_classic._als_kernel import cg_rows, set_threads

__all__ = ["cg_half_sweep", "iALS", "iALS2008"]


def cg_half_sweep(
    fixed: np.ndarray,
    target: np.ndarray,
    weights: sp.csr_matrix,
    targets: sp.csr_matrix,
    w0: float,
    lam: np.ndarray,
    steps: int,
) -> None:
    """Improve ``target`` in place with ``steps`` conjugate-gradient steps per row.

    Row ``u`` solves ``(w0 F^T F + F_u^T diag(d_u) F_u + lam_u I) x_u = F_u^T t_u`` with
    ``F = fixed``, ``d_u`` the stored values of row ``u`` of ``weights`` (its column
    indices select ``F_u``) and ``t_u`` those of ``targets`` (the same pattern). Rows
    without interactions are set to zero, their exact solution. Runs on the numba
    threads (:func:`warprec_models_classic._als_kernel.set_threads`).
    """
    dtype = target.dtype
    gram = np.ascontiguousarray(w0 * (fixed.T @ fixed), dtype=dtype)
    cg_rows(fixed, target, weights.indptr, weights.indices,
            np.asarray(weights.data, dtype=dtype), np.asarray(targets.data, dtype=dtype),
            gram, np.asarray(lam, dtype=dtype), int(steps))


def _use_run_threads() -> None:
    """Run the kernel on the run's threads (``torch.get_num_threads()``, which
    ``general.threads`` sets). numba starts its pool at the first parallel call; with
    its OpenMP layer that resets the OpenMP thread count torch shares, so the count is
    put back after."""
    wanted = torch.get_num_threads()
    set_threads(wanted)
    torch.set_num_threads(wanted)


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
        _use_run_threads()
        for _ in range(self.n_iterations):
            cg_half_sweep(items, users, D, T, w0, lam_users, self.cg_steps)
            cg_half_sweep(users, items, Dt, Tt, w0, lam_items, self.cg_steps)
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
