"""Diversity metrics: how the recommendations spread over the catalogue and over the
users' interests."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from warprec.evaluation.metrics.base import DistributionMetric, RankingBatch, UserMetric

__all__ = ["Gini", "SRecall", "ShannonEntropy"]


class Gini(DistributionMetric):
    """Gini index of the recommendation counts (0: every item equally often, 1: one item).

    With the counts ``c_(1) <= ... <= c_(n)`` of all ``n`` catalogue items and
    ``T = |users| * k`` recommendation slots:
    ``Gini@k = sum_j (2j - n - 1) c_(j) / (T (n - 1))`` (WarpRec's ``n - 1``).
    """

    higher_is_better = False

    def from_counts(self, counts: np.ndarray) -> float:
        """Gini index of the counts."""
        n = counts.size
        slots = self.n_lists * (self.k or 1)
        if n < 2 or slots == 0:
            return math.nan
        ordered = np.sort(counts)
        weights = 2 * np.arange(1, n + 1) - n - 1
        return float((weights * ordered).sum() / (slots * (n - 1)))


class ShannonEntropy(DistributionMetric):
    """Shannon entropy (natural log) of the recommendation distribution.

    ``H@k = -sum_i p_i ln p_i`` with ``p_i = c_i / sum_j c_j``.
    """

    def from_counts(self, counts: np.ndarray) -> float:
        """Entropy of the counts."""
        total = counts.sum()
        if total == 0:
            return 0.0
        p = counts[counts > 0] / total
        return float(-(p * np.log(p)).sum())


class SRecall(UserMetric):
    """Subtopic recall: the share of the features of the user's relevant items that the
    relevant items of the top-k carry.

    ``SRecall@k = |F(L_u@k ∩ R_u)| / |F(R_u)|`` with ``F(S)`` the features (columns of the
    item-feature matrix with a value > 0) of the items of ``S``; 0 when ``F(R_u)`` is
    empty.
    """

    requires = frozenset({"item_features"})

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user subtopic recall."""
        features = batch.ctx.item_features
        if features is None:
            raise ValueError("SRecall needs item features")
        present = (features > 0).double()
        relevant = present[batch.require("pos_items")].amax(dim=1)
        items = torch.where(batch.hits[:, : self.k] > 0, batch.top_items[:, : self.k],
                            batch.n_items)  # fmt: skip
        found = present[items].amax(dim=1) if items.shape[1] else torch.zeros_like(relevant)
        denominator = relevant.sum(dim=1)
        return torch.where(denominator > 0, found.sum(dim=1) / denominator.clamp(min=1), 0.0)
