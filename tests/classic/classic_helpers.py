"""Helpers shared by the classic models' tests: small matrices and their wrappers."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from warprec.data.dataset import Interactions


def interactions_of(X: sp.csr_matrix, explicit: bool = False) -> Interactions:
    """``Interactions`` holding exactly the stored entries of ``X``."""
    X = sp.csr_matrix(X)
    users, items = X.nonzero()
    ratings = np.asarray(X[users, items]).ravel() if explicit else None
    return Interactions(users, items, X.shape[0], X.shape[1], ratings)


def info_of(X: sp.spmatrix) -> dict:
    """The ``info`` dict a model needs for ``X``."""
    return {"n_users": X.shape[0], "n_items": X.shape[1]}


def random_ratings(n_users: int, n_items: int, density: float, seed: int) -> sp.csr_matrix:
    """A sparse matrix of continuous ratings in (0, 5]: no ties between similarities."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=rng)
    X.data = (5.0 * X.data + 0.01).astype(np.float32)
    return X.astype(np.float32)
