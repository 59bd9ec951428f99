"""EASE (Steck, WWW 2019): closed-form item-item weights through a Cholesky inverse.

``B = I - P diag(1/diag(P))`` with ``P = (X^T X + l2 I)^-1``. The Gram matrix is built
densely, once, in the chosen precision; LAPACK ``potrf``/``potri`` then overwrite it with
the inverse (on CUDA: ``torch.linalg.cholesky_ex`` + ``torch.cholesky_inverse`` written
back into the same tensor), so the fit holds one n x n matrix plus a block.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Le
from scipy.linalg import lapack
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import ItemSimRecommender

__all__ = ["EASE", "ease_weights", "gram_upper"]

_DTYPES = {"float32": np.float32, "float64": np.float64}
# Bytes of sparse product materialised at once while building the Gram matrix.
_BLOCK_BYTES = 64 * 2**20


def gram_upper(X: sp.csr_matrix, dtype: Any = np.float32) -> np.ndarray:
    """``X^T X`` as a dense C-ordered ``dtype`` array whose upper triangle is exact.

    Built a block of rows at a time from the sparse product; the lower triangle (zero
    outside the diagonal blocks) is skipped since the Cholesky routines never read it,
    which halves the work.
    """
    Xc = sp.csc_matrix(X, dtype=dtype)
    Xt = Xc.T  # CSR view of the same arrays
    n = Xc.shape[1]
    G = np.zeros((n, n), dtype=dtype)
    rows = max(1, _BLOCK_BYTES // (12 * max(n, 1)))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        G[start:stop, start:] = (Xt[start:stop] @ Xc[:, start:].tocsr()).toarray()
    return G


def ease_weights(
    X: sp.csr_matrix,
    l2: float,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
) -> np.ndarray | torch.Tensor:
    """EASE item-item weights ``B`` (zero diagonal) for the user-item matrix ``X``.

    On CPU the result is a numpy array computed in place with LAPACK; on another
    device it is a tensor computed there. Raises :class:`ConfigError` when
    ``X^T X + l2 I`` is not positive definite.
    """
    G = gram_upper(X, _DTYPES[dtype])
    G.ravel()[:: G.shape[0] + 1] += l2
    device = torch.device(device)
    if device.type != "cpu":
        _fill_lower_from_upper(G)
        return _ease_torch(G, l2, device)
    _inverse_in_place(G, l2)
    _fill_lower_from_upper(G)
    G /= -np.diag(G)
    np.fill_diagonal(G, 0.0)
    return G


def _inverse_in_place(G: np.ndarray, l2: float) -> None:
    """Overwrite the upper triangle (C order) of the SPD matrix ``G`` with its inverse."""
    # G.T is a Fortran-ordered view, so LAPACK works on G's memory without a copy;
    # its lower triangle is G's upper one.
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (G,))
    factor, info = potrf(G.T, lower=1, overwrite_a=1, clean=0)
    if info > 0:
        raise _not_positive_definite(l2, int(info), G.shape[0])
    if info < 0:
        raise RuntimeError(f"LAPACK potrf rejected argument {-info}")
    _, info = potri(factor, lower=1, overwrite_c=1)
    if info != 0:
        raise _not_positive_definite(l2, int(info), G.shape[0])


def _fill_lower_from_upper(G: np.ndarray, block: int = 256) -> None:
    """Mirror the upper triangle of ``G`` into its lower one, block by block."""
    n = G.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        G[stop:, start:stop] = G[start:stop, stop:].T
        diagonal = G[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        diagonal[lower] = diagonal.T[lower]


def _ease_torch(G: np.ndarray, l2: float, device: torch.device) -> torch.Tensor:
    """EASE weights of the full SPD ``G`` on ``device``: the Cholesky factor and the
    inverse overwrite one tensor there."""
    A = torch.from_numpy(G).to(device)
    info = torch.empty((), dtype=torch.int32, device=device)
    torch.linalg.cholesky_ex(A, out=(A, info))
    if int(info) > 0:
        raise _not_positive_definite(l2, int(info), A.shape[0])
    torch.cholesky_inverse(A, out=A)
    A /= -torch.diagonal(A).clone()
    A.fill_diagonal_(0.0)
    return A


def _not_positive_definite(l2: float, minor: int, n: int) -> ConfigError:
    return ConfigError(
        f"EASE: X^T X + l2*I is not positive definite (leading minor {minor} of {n}) "
        f"with l2={l2}; use a larger l2 (e.g. {max(10 * l2, 1.0):g})"
    )


class EASE(ItemSimRecommender):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019): ``scores = X_u @ B``.

    Fitted in the constructor; on CPU through LAPACK in place, on CUDA with torch on
    the model's device.
    """

    l2: Annotated[float, Ge(0), Le(1e12)] = 500.0
    """L2 regularisation added to the diagonal of the Gram matrix ``X^T X`` (0 works only
    when ``X^T X`` is positive definite: every item seen, more users than items)."""
    dtype: Literal["float32", "float64"] = "float32"
    """Precision of the Gram matrix and its inverse; the weights are kept in float32."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # sets self.train_matrix
        weights = ease_weights(self.train_matrix, self.l2, self.dtype, self.device)
        self.item_similarity = (
            weights.float()
            if isinstance(weights, torch.Tensor)
            else weights.astype(np.float32, copy=False)
        )
