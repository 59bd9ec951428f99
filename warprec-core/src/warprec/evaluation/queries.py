"""What one evaluation ranks: one list per user, or, for a model that reads context, one
list per evaluated row under that row's context (WarpRec's contextual evaluation).

Context-aware evaluation, as WarpRec 2.2.8 does it (``ContextualEvaluationDataset``,
``SampledContextualEvaluationDataset`` and ``mask_seen_in_context``):

- every row of the evaluated split (user, item, context) is one query: its item is the
  one relevant item, graded 1 whatever its rating (WarpRec grades contextual rows 1 in
  both strategies), and the model scores under the row's context;
- ``full``: the whole catalogue is ranked, masking the items the user had under exactly
  the same context in the known part (an item seen on a weekday morning stays a fair
  recommendation for a Saturday night; a context never seen masks nothing);
- ``sampled``: the item is ranked against ``num_negatives`` items drawn among those the
  user never had in the known part (in any context) other than the row's item;
- a user's value of a per-user metric is the mean over the user's rows, and the
  metric is the mean over users.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["Queries", "context_queries", "user_queries"]


@dataclass(frozen=True)
class Queries:
    """The lists of an evaluation (or of a batch of it: :meth:`part`).

    Attributes:
        rows: the ranked rows of ``target``.
        target: ``[n_rows, n_items]`` the relevant items of each row, with their rating.
        known: ``[n_users, n_items]`` the known interactions: masked in full ranking,
            never drawn as negatives in sampled ranking.
        row_users: the user of each row of ``target`` (``None``: row ``u`` is user ``u``).
        contexts: ``[n_rows, n_columns]`` the context of each row, or ``None``.
        seen: the known rows with their contexts, when full ranking masks what the
            user had in the same context instead of ``known``.
    """

    rows: np.ndarray
    target: sp.csr_matrix
    known: sp.csr_matrix
    row_users: np.ndarray | None = None
    contexts: np.ndarray | None = None
    seen: Any = None

    @property
    def users(self) -> np.ndarray:
        """The user of each ranked row: what the model scores and the metrics group by."""
        return self.rows if self.row_users is None else self.row_users[self.rows]

    def part(self, start: int, stop: int) -> Queries:
        """The queries of rows ``start:stop``."""
        return replace(self, rows=self.rows[start:stop])

    def masked(self) -> sp.csr_matrix:
        """``[B, n_items]`` the items full ranking masks for each ranked row."""
        if self.seen is None or self.contexts is None:
            return self.known[self.users]
        queries, items = self.seen.seen_in_context(self.users, self.contexts[self.rows])
        return sp.csr_matrix((np.ones(items.size, np.float32), (queries, items)),
                             shape=(len(self.rows), self.known.shape[1]))

    def excluded(self) -> sp.csr_matrix:
        """``[B, n_items]`` the items sampled ranking never draws for each ranked row:
        the known ones and the row's relevant ones."""
        return self.known[self.users] + self.target[self.rows]

    def streams(self) -> np.ndarray:
        """``[B, s]`` what seeds each row's negatives: the user, and the row when a user
        has several."""
        if self.row_users is None:
            return self.rows[:, None]
        return np.column_stack([self.users, self.rows])

    def predict_kwargs(self, device: Any) -> dict[str, Any]:
        """The context keyword of ``predict``, when the queries carry contexts."""
        if self.contexts is None:
            return {}
        return {"context": torch.from_numpy(self.contexts[self.rows]).to(device)}


def user_queries(target: sp.csr_matrix, known: sp.csr_matrix) -> Queries:
    """One list per user with relevant items in ``target``."""
    return Queries(np.flatnonzero(np.diff(target.indptr) > 0), target, known)


def context_queries(model: Any, dataset: Any, split: str, known: sp.csr_matrix,
                    strategy: str) -> Queries | None:
    """One list per evaluated row, under its context, for a model that reads context on
    data with context columns; ``None`` otherwise (the model is ranked per user)."""
    if not getattr(type(model), "uses_context", False):
        return None
    rows = getattr(dataset, split).transactions
    if rows is None:
        return None
    order = np.lexsort((rows.items, rows.users))  # WarpRec's (user, item) order
    n_rows, n_items = len(rows), known.shape[1]
    target = sp.csr_matrix((np.ones(n_rows), (np.arange(n_rows), rows.items[order])),
                           shape=(n_rows, n_items))
    known_rows = dataset.train if split == "validation" else dataset.train_validation
    return Queries(np.arange(n_rows), target, known, rows.users[order], rows.contexts[order],
                   seen=known_rows.transactions if strategy == "full" else None)
