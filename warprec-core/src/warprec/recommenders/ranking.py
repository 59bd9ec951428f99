"""Batched top-k over score matrices: seen items masked, ties broken deterministically.

Shared by :meth:`Recommender.recommend` and the evaluator, so that recommendations and
metrics see exactly the same lists, on CPU and CUDA alike.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

__all__ = ["mask_seen", "tie_break_rank", "top_k", "writable"]


@lru_cache(maxsize=16)
def _rank(n_items: int, seed: int, device: str) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n_items, generator=generator)
    rank = torch.empty_like(perm)
    rank[perm] = torch.arange(n_items)
    return rank.to(device)


def tie_break_rank(n_items: int, seed: int, device: torch.device | str = "cpu") -> Tensor:
    """A seeded random rank of every item (``rank[item]``, a permutation of 0..n-1).

    Among items with equal scores, the one with the lower rank comes first. A random
    order (rather than the item index) keeps ties from favouring low item ids. Drawn on
    the CPU, so it is the same on every device.
    """
    return _rank(n_items, seed, str(torch.device(device)))


def writable(scores: Tensor, model: torch.nn.Module) -> Tensor:
    """``scores``, or a copy when it shares memory with the model's parameters or buffers
    or repeats elements (an expanded tensor): masking writes into it in place."""
    storage = scores.untyped_storage().data_ptr()
    owned = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    if storage in owned or 0 in scores.stride():
        return scores.detach().clone()
    return scores


def mask_seen(scores: Tensor, users: np.ndarray, seen: sp.csr_matrix) -> Tensor:
    """Set ``scores[b, i]`` to ``-inf`` where ``seen[users[b], i]`` is stored; in place."""
    rows = seen[users]
    if rows.nnz == 0:
        return scores
    row_ids = np.repeat(np.arange(len(users)), np.diff(rows.indptr))
    r = torch.from_numpy(row_ids).to(scores.device, non_blocking=True)
    c = torch.from_numpy(rows.indices.astype(np.int64)).to(scores.device, non_blocking=True)
    scores[r, c] = float("-inf")
    return scores


def top_k(scores: Tensor, k: int, rank: Tensor) -> tuple[Tensor, Tensor]:
    """The ``k`` best columns of each row, ordered by (score desc, ``rank`` asc).

    ``rank`` is ``[n_columns]`` (one tie-break order for every row) or ``[B, n_columns]``.
    One ``torch.topk`` of ``k + 1`` finds the rows whose list is ambiguous (two equal
    scores inside the list or at its boundary); only those rows pay for an exact stable
    sort in the tie-break order. Returns ``(indices [B, k], values [B, k])`` with ``k``
    capped at the number of columns.
    """
    n = scores.shape[1]
    k = min(k, n)
    probe = min(k + 1, n)
    values, indices = torch.topk(scores, probe, dim=1, sorted=True)
    if probe <= 1:
        return indices[:, :k], values[:, :k]
    tied = (values[:, 1:] == values[:, :-1]).any(dim=1)
    values, indices = values[:, :k], indices[:, :k]
    rows = tied.nonzero().squeeze(1)
    if rows.numel() == 0:
        return indices, values
    # Column positions in tie-break order, per row.
    if rank.dim() == 2:
        order = torch.argsort(rank[rows], dim=1, stable=True)
    else:
        order = torch.argsort(rank).expand(rows.numel(), n)
    permuted = scores[rows].gather(1, order)
    sorted_values, positions = torch.sort(permuted, dim=1, descending=True, stable=True)
    indices = indices.clone()
    values = values.clone()
    indices[rows] = order.gather(1, positions[:, :k])
    values[rows] = sorted_values[:, :k]
    return indices, values
