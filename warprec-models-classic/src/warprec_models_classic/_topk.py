"""Sparse top-k products shared by the neighbourhood models (ItemKNN, UserKNN, RP3beta).

``topk_product(left, right, k)`` keeps, for each row of ``left @ right``, its ``k``
largest entries. The product is computed a block of rows at a time, so memory stays
O(rows x k) for the result plus one block: rows with at most ``k`` entries are kept
as they are, the others are scattered into a dense buffer and cut with ``torch.topk``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["Reweight", "topk_product"]

# Reweights the entries (global row, column, value) of one block of the product.
Reweight = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# Bytes of the dense buffer that one block of rows may use.
_BLOCK_BYTES = 64 * 2**20


def topk_product(
    left: sp.csr_matrix,
    right: sp.csr_matrix,
    k: int,
    reweight: Reweight | None = None,
    exclude_diagonal: bool = True,
    block_bytes: int = _BLOCK_BYTES,
) -> sp.csr_matrix:
    """Return ``left @ right`` (float32 CSR) keeping the ``k`` largest entries of each row.

    ``reweight`` maps each block's entries to new values before the cut (e.g. a cosine
    denominator); ``exclude_diagonal`` drops entry ``(i, i)``; zeros are dropped.
    """
    left = sp.csr_matrix(left, dtype=np.float32)
    right = sp.csr_matrix(right, dtype=np.float32)
    n_rows, n_cols = left.shape[0], right.shape[1]
    step = max(1, block_bytes // (4 * max(n_cols, 1)))
    rows, cols, vals = [], [], []
    for start in range(0, n_rows, step):
        block = (left[start : start + step] @ right).tocoo()
        r = block.row.astype(np.int64) + start
        c = block.col.astype(np.int64)
        v = block.data if reweight is None else reweight(r, c, block.data)
        keep = v != 0
        if exclude_diagonal:
            keep &= r != c
        kept = _row_topk(r[keep] - start, c[keep], v[keep], block.shape[0], n_cols, k)
        rows.append(kept[0] + start)
        cols.append(kept[1])
        vals.append(kept[2])
    shape = (n_rows, n_cols)
    if not rows:
        return sp.csr_matrix(shape, dtype=np.float32)
    data = (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols)))
    return sp.csr_matrix(data, shape=shape)


def _row_topk(
    r: np.ndarray, c: np.ndarray, v: np.ndarray, n_rows: int, n_cols: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``k`` largest of the entries ``(r, c, v)`` in each row (``r`` block-local)."""
    counts = np.bincount(r, minlength=n_rows)
    crowded = counts > k
    few = ~crowded[r]
    if not crowded.any():
        return r, c, v
    crowded_rows = np.flatnonzero(crowded)
    slot = np.full(n_rows, -1, dtype=np.int64)
    slot[crowded_rows] = np.arange(crowded_rows.size)
    many = ~few
    # -inf marks "no entry": an absent pair never outranks a real, even negative, value.
    dense = torch.full((crowded_rows.size, n_cols), -torch.inf, dtype=torch.float32)
    dense[torch.from_numpy(slot[r[many]]), torch.from_numpy(c[many])] = torch.from_numpy(
        np.ascontiguousarray(v[many], dtype=np.float32)
    )
    top_v, top_c = torch.topk(dense, k, dim=1, sorted=False)
    top_r = np.repeat(crowded_rows, k)
    return (
        np.concatenate([r[few], top_r]),
        np.concatenate([c[few], top_c.numpy().ravel()]),
        np.concatenate([v[few].astype(np.float32), top_v.numpy().ravel()]),
    )
