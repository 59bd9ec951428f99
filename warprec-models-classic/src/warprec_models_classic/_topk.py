"""Sparse top-k products shared by the neighbourhood models (ItemKNN, UserKNN, RP3beta).

``topk_product(left, right, k)`` keeps, for each row of ``left @ right``, its ``k``
largest entries. The product is computed a block of rows at a time, so memory stays
O(rows x k) for the result plus one block: rows with at most ``k`` entries are kept
as they are, the others are padded into small dense groups and cut with
``np.argpartition`` (single-threaded numpy: on a shared CPU, many small OpenMP regions
of torch were several times slower).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["Reweight", "topk_product"]

# Reweights the entries (global row, column, value) of one block of the product.
Reweight = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# Bytes of one block of rows of the product, were it dense.
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
        kept = _row_topk(r[keep] - start, c[keep], v[keep].astype(np.float32), block.shape[0], k)
        rows.append(kept[0] + start)
        cols.append(kept[1])
        vals.append(kept[2])
    shape = (n_rows, n_cols)
    if not rows:
        return sp.csr_matrix(shape, dtype=np.float32)
    data = (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols)))
    return sp.csr_matrix(data, shape=shape)


def _row_topk(
    r: np.ndarray, c: np.ndarray, v: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``k`` largest of the entries ``(r, c, v)`` in each row.

    ``r`` is block-local and sorted. Rows with more than ``k`` entries are grouped by
    their length rounded up to a power of two and padded to it, so the partition works
    on at most twice the entries it must look at, whatever the number of columns.
    """
    counts = np.bincount(r, minlength=n_rows)
    crowded = counts > k
    if not crowded.any():
        return r, c, v
    starts = np.cumsum(counts) - counts
    few = ~crowded[r]
    parts = [(r[few], c[few], v[few])]
    width = np.maximum(2 ** np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64), k)
    for w in np.unique(width[crowded]):
        rows = np.flatnonzero(crowded & (width == w))
        entries = _entries_of(rows, starts, counts)
        slot = np.repeat(np.arange(rows.size), counts[rows])
        offset = entries - np.repeat(starts[rows], counts[rows])
        # -inf pads the short rows: padding never outranks a real, even negative, value.
        padded = np.full((rows.size, int(w)), -np.inf, dtype=np.float32)
        padded[slot, offset] = v[entries]
        top_at = np.argpartition(padded, int(w) - k, axis=1)[:, int(w) - k :]
        chosen = (starts[rows][:, None] + top_at).ravel()
        parts.append((np.repeat(rows, k), c[chosen], v[chosen]))
    rows_kept, cols_kept, vals_kept = (np.concatenate(a) for a in zip(*parts, strict=True))
    return rows_kept, cols_kept, vals_kept


def _entries_of(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions of all entries of ``rows`` in the row-sorted entry arrays."""
    total = counts[rows]
    first = np.repeat(starts[rows] - np.cumsum(total) + total, total)
    return first + np.arange(total.sum())
