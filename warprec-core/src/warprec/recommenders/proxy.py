"""ProxyRecommender: evaluate the recommendation file of another framework.

WarpRec's way to score lists produced elsewhere (RecBole, Elliot, an earlier run, ...)
with this evaluator: the "model" learns nothing, it reads ``user, item, score`` rows
and serves those scores. In a config::

    models:
      ProxyRecommender:
        recommendation_file: other/recs.tsv
        separator: "\\t"
        header: true
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from warprec.errors import ConfigError
from warprec.io_formats import read_recommendations
from warprec.recommenders.base_recommender import Recommender

__all__ = ["ProxyRecommender"]

logger = logging.getLogger("warprec")


class ProxyRecommender(Recommender):
    """Serves the scores of a recommendation file (WarpRec's format or ours: user, item,
    score and an optional rank column) so the evaluator scores another framework's
    output.

    Ids are original ids, mapped through the dataset's id maps (``info["user_mapping"]``
    and ``info["item_mapping"]``, matched as text so ``7`` and ``"7"`` agree). Rows of
    users or items the dataset does not know are dropped and counted (a warning, and
    :attr:`dropped`); a repeated (user, item) row keeps its first score. An item a
    user's list does not hold scores ``-inf``, so it ranks after every listed item; a
    user with no list ranks the catalogue by the evaluator's tie-break only.
    """

    # Fitted in the constructor from the file (which may be gone when a checkpoint is
    # loaded): restored from the checkpoint without running the constructor.
    needs_training_data = True
    fitted_state = ("scores", "dropped")

    recommendation_file: str
    """Path of the recommendation file (absolute, or relative to the working folder)."""
    separator: str = "\t"
    """Column separator of the file."""
    header: bool = True
    """Whether the first row names the columns (a ``rank`` column is then ignored)."""

    def __init__(self, params: dict | None, info: dict, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.dropped: dict[str, int] = {}
        self.scores = self._read(info)

    def _read(self, info: dict) -> sp.csr_matrix:
        users_map, items_map = info.get("user_mapping"), info.get("item_mapping")
        if not users_map or not items_map:
            raise ConfigError(f"{self.name}: dataset info lacks 'user_mapping' and "
                              "'item_mapping' (expected the dataset's id maps)")
        frame = read_recommendations(self.recommendation_file, sep=self.separator,
                                     header=self.header)
        users = frame["user"].map(_as_text(users_map)).to_numpy(dtype=np.float64)
        items = frame["item"].map(_as_text(items_map)).to_numpy(dtype=np.float64)
        unknown_user, unknown_item = np.isnan(users), np.isnan(items)
        known = ~unknown_user & ~unknown_item
        users, items = users[known].astype(np.int64), items[known].astype(np.int64)
        scores = frame["score"].to_numpy(dtype=np.float32)[known]
        # Keep the first score of a repeated pair (the file's order is best first).
        key = users * self.n_items + items
        _, first = np.unique(key, return_index=True)
        first.sort()
        self.dropped = {
            "unknown_users": int(frame["user"][unknown_user].nunique()),
            "unknown_items": int(frame["item"][unknown_item].nunique()),
            "unknown_rows": int((~known).sum()),
            "duplicate_rows": int(key.size - first.size),
        }
        if self.dropped["unknown_rows"] or self.dropped["duplicate_rows"]:
            logger.warning(
                "%s: %s: dropped %d rows of %d unknown users and %d unknown items (not in "
                "the training data) and %d repeated (user, item) rows", self.name,
                self.recommendation_file, self.dropped["unknown_rows"],
                self.dropped["unknown_users"], self.dropped["unknown_items"],
                self.dropped["duplicate_rows"])
        users, items, scores = users[first], items[first], scores[first]
        # Built from (data, indices, indptr) so that a score of 0 stays a stored entry.
        order = np.lexsort((items, users))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=self.n_users))])
        return sp.csr_matrix((scores[order], items[order], indptr),
                             shape=(self.n_users, self.n_items))

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        """The file's scores of the users (``-inf`` where the list lacks the item), for all
        items ``[B, n_items]`` or for ``item_indices`` ``[B, S]``."""
        users = user_indices.detach().cpu().numpy()
        rows = self.scores[users].tocoo()
        dense = np.full((users.size, self.n_items), -np.inf, dtype=np.float32)
        dense[rows.row, rows.col] = rows.data
        scores = torch.from_numpy(dense).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))


def _as_text(mapping: dict[Any, int]) -> dict[str, int]:
    """An id map keyed by the ids' text, so ids read from a file as text match ids of
    any type (an integral float id ``7.0`` also answers to ``"7"``)."""
    text: dict[str, int] = {}
    for key, index in mapping.items():
        text[str(key)] = index
        if isinstance(key, float) and key.is_integer():
            text.setdefault(str(int(key)), index)
    return text
