"""Coverage metrics: how much of the catalogue and of the users the lists reach."""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from warprec.evaluation.metrics.base import DistributionMetric, Metric, RankingBatch, UserMetric

__all__ = ["ItemCoverage", "NumRetrieved", "UserCoverage", "UserCoverageAtN"]


class ItemCoverage(DistributionMetric):
    """Number of distinct items in the top-k of at least one user (a count, not a share)."""

    def from_counts(self, counts: np.ndarray) -> float:
        """Count of recommended items."""
        return float((counts > 0).sum())


class NumRetrieved(UserMetric):
    """Number of items in the user's top-k list (``k`` unless fewer could be ranked)."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user list length."""
        return batch.valid[:, : self.k].sum(dim=1).double()


class _Count(Metric):
    per_user = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.count = 0
        self.seen = 0

    def compute(self) -> float:
        """The count (NaN when no user was evaluated)."""
        return float(self.count) if self.seen else math.nan


class UserCoverage(_Count):
    """Number of users evaluated: users with at least one relevant item (no cutoff)."""

    uses_cutoff = False

    def update(self, batch: RankingBatch) -> None:
        """Count the batch's users."""
        self.count += int((batch.n_relevant > 0).sum())
        self.seen += int(batch.users.shape[0])


class UserCoverageAtN(_Count):
    """Number of users with at least ``k`` ranked items scored above 0 (WarpRec's
    ``preds > 0``, masked items excluded)."""

    def update(self, batch: RankingBatch) -> None:
        """Count the users with ``k`` positive scores."""
        positive = (batch.require("scores") > 0).sum(dim=1)
        self.count += int((positive >= (self.k or 1)).sum())
        self.seen += int(batch.users.shape[0])
