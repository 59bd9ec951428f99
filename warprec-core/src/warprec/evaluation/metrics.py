"""Ranking metrics, registered in ``metric_registry`` (see ``warprec._builtins.METRICS``).

Every metric is computed at each cutoff ``k`` of the evaluator and reported as
``"<Name>@<k>"`` (``AUC``, which has no cutoff, as ``"AUC"``). Relevance is binary: an
item is relevant to a user when it is in the user's evaluated split. Notation, for a
user ``u`` with relevant set ``R_u`` and ranked list ``L_u`` (best first), ``rel_r`` is
1 when the item at rank ``r`` is relevant::

    DCG@k  = sum_{r<=k} rel_r / log2(r + 1)

Per-user metrics (all except ItemCoverage, Gini and ShannonEntropy) are averaged over the
evaluated users and kept per user for significance tests. A plugin adds a metric by
subclassing :class:`UserMetric` (``user_values``) or :class:`Metric` (``update`` and
``compute``) and registering the class in ``metric_registry``.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "APLT",
    "ARP",
    "AUC",
    "EPC",
    "F1",
    "MAP",
    "MRR",
    "DistributionMetric",
    "Gini",
    "HitRate",
    "ItemCoverage",
    "Metric",
    "Precision",
    "RankingBatch",
    "Recall",
    "ShannonEntropy",
    "UserMetric",
    "nDCG",
]


@dataclass
class RankingBatch:
    """The ranked lists of a batch of users, as the metrics see them.

    Attributes:
        users: ``[B]`` user indices.
        top_items: ``[B, K]`` recommended items, best first (``K`` = the largest cutoff,
            fewer when fewer candidates exist); ``n_items`` marks an empty slot.
        hits: ``[B, K]`` 1.0 where the item is relevant, else 0.0.
        n_relevant: ``[B]`` number of relevant items of each user (``|R_u|``).
        n_items: catalogue size.
        item_popularity: ``[n_items + 1]`` number of known (training) interactions of
            each item, 0 for the empty slot.
        n_known_users: number of users the popularity counts come from.
        long_tail: ``[n_items + 1]`` True for long-tail items (outside the short head).
        pos_scores: sampled ranking only: ``[B, P]`` scores of the relevant candidates,
            NaN where a user has fewer.
        neg_scores: sampled ranking only: ``[B, N]`` scores of the sampled negatives in
            ascending order, ``+inf`` where a user has fewer.
        valid: ``[B, K]`` True where the list has an item (derived).
    """

    users: Tensor
    top_items: Tensor
    hits: Tensor
    n_relevant: Tensor
    n_items: int
    item_popularity: Tensor
    n_known_users: int
    long_tail: Tensor
    pos_scores: Tensor | None = None
    neg_scores: Tensor | None = None
    valid: Tensor = field(init=False)

    def __post_init__(self) -> None:
        # [B, K] True where the list has an item; shared by the popularity metrics.
        self.valid = self.top_items < self.n_items


class Metric(abc.ABC):
    """One metric at one cutoff, accumulated over batches of users.

    Class attributes: ``per_user`` (values kept per user), ``uses_cutoff`` (reported as
    ``Name@k``), ``sampled_only`` (needs sampled negatives), ``higher_is_better``.
    """

    per_user: ClassVar[bool] = True
    uses_cutoff: ClassVar[bool] = True
    sampled_only: ClassVar[bool] = False
    higher_is_better: ClassVar[bool] = True

    def __init__(self, k: int | None = None) -> None:
        self.k = k

    @abc.abstractmethod
    def update(self, batch: RankingBatch) -> None:
        """Accumulate one batch of users."""

    @abc.abstractmethod
    def compute(self) -> float:
        """The metric over every user seen so far."""

    def per_user_values(self) -> np.ndarray | None:
        """The value of each user seen so far, in order (``None`` for global metrics)."""
        return None


class UserMetric(Metric):
    """A metric with one value per user; the result is their mean."""

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self._parts: list[Tensor] = []

    @abc.abstractmethod
    def user_values(self, batch: RankingBatch) -> Tensor:
        """``[B]`` values of the batch's users."""

    def update(self, batch: RankingBatch) -> None:
        """Compute and keep the batch's per-user values."""
        self._parts.append(self.user_values(batch).double())

    def per_user_values(self) -> np.ndarray:
        """Every user's value, in the order the users were seen."""
        if not self._parts:
            return np.zeros(0, dtype=np.float64)
        return torch.cat(self._parts).double().cpu().numpy()

    def compute(self) -> float:
        """The mean over users (NaN when there are none)."""
        values = self.per_user_values()
        return float(values.mean()) if values.size else math.nan


def _cut(batch: RankingBatch, k: int | None) -> Tensor:
    return batch.hits[:, :k]


def _discounts(n: int, like: Tensor) -> Tensor:
    return 1.0 / torch.log2(torch.arange(2, n + 2, device=like.device, dtype=torch.float64))


class nDCG(UserMetric):
    """Normalised discounted cumulative gain.

    ``nDCG@k = DCG@k / IDCG@k`` with ``IDCG@k = sum_{r <= min(k, |R_u|)} 1 / log2(r + 1)``.
    """

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user nDCG@k."""
        hits = _cut(batch, self.k)
        k = self.k or hits.shape[1]
        discounts = _discounts(max(k, 1), hits)
        dcg = (hits * discounts[: hits.shape[1]]).sum(dim=1)
        ideal_cumulative = torch.cumsum(discounts, dim=0)
        n_ideal = batch.n_relevant.clamp(min=1, max=k).long() - 1
        return dcg / ideal_cumulative[n_ideal]


class Precision(UserMetric):
    """``Precision@k = |L_u@k ∩ R_u| / k``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user precision@k."""
        hits = _cut(batch, self.k)
        return hits.sum(dim=1) / float(self.k or hits.shape[1])


class Recall(UserMetric):
    """``Recall@k = |L_u@k ∩ R_u| / |R_u|``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user recall@k."""
        return _cut(batch, self.k).sum(dim=1) / batch.n_relevant.clamp(min=1)


class HitRate(UserMetric):
    """``HitRate@k = 1`` if ``L_u@k`` holds a relevant item, else 0."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user hit (0 or 1)."""
        return (_cut(batch, self.k).sum(dim=1) > 0).double()


class MRR(UserMetric):
    """Mean reciprocal rank: ``1 / r*`` for the first relevant rank ``r* <= k``, else 0."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user reciprocal rank within the cutoff."""
        hits = _cut(batch, self.k)
        ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device, dtype=torch.float64)
        return (hits / ranks).amax(dim=1) if hits.shape[1] else hits.sum(dim=1)


class MAP(UserMetric):
    """Mean average precision: ``AP@k = sum_{r<=k} rel_r * Precision@r / min(k, |R_u|)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user average precision@k."""
        hits = _cut(batch, self.k)
        k = self.k or hits.shape[1]
        ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device, dtype=torch.float64)
        precision_at = torch.cumsum(hits, dim=1) / ranks
        return (precision_at * hits).sum(dim=1) / batch.n_relevant.clamp(min=1, max=max(k, 1))


class F1(UserMetric):
    """``F1@k = 2 P R / (P + R)`` of the user's Precision@k and Recall@k (0 when both are 0)."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user F1@k."""
        precision = Precision(self.k).user_values(batch)
        recall = Recall(self.k).user_values(batch)
        total = precision + recall
        return torch.where(total > 0, 2 * precision * recall / total.clamp(min=1e-12), 0.0)


class AUC(UserMetric):
    """Area under the ROC curve on the sampled candidates (no cutoff; sampled ranking only).

    ``AUC_u = sum_{p in R_u} sum_{n in N_u} ([s_p > s_n] + 0.5 [s_p = s_n]) / (|R_u| |N_u|)``
    over the user's sampled negatives ``N_u``.
    """

    uses_cutoff = False
    sampled_only = True

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user AUC."""
        if batch.pos_scores is None or batch.neg_scores is None:
            raise ValueError("AUC needs the sampled candidates' scores")
        positives = batch.pos_scores
        negatives = batch.neg_scores.contiguous()
        query = torch.nan_to_num(positives, nan=0.0).contiguous()
        below = torch.searchsorted(negatives, query, side="left").double()
        at_most = torch.searchsorted(negatives, query, side="right").double()
        wins = torch.where(torch.isnan(positives), 0.0, below + 0.5 * (at_most - below))
        n_pos = (~torch.isnan(positives)).sum(dim=1).double()
        n_neg = torch.isfinite(negatives).sum(dim=1).double()
        return wins.sum(dim=1) / (n_pos * n_neg).clamp(min=1)


def _mean_over_valid(values: Tensor, valid: Tensor) -> Tensor:
    count = valid.sum(dim=1)
    return torch.where(valid, values, 0.0).sum(dim=1) / count.clamp(min=1)


class EPC(UserMetric):
    """Expected popularity complement (novelty) of the list.

    ``EPC@k = mean_{i in L_u@k} (1 - pop(i) / |U|)``, ``pop(i)`` = the known (training)
    users of ``i``, ``|U|`` = the number of users.
    """

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean novelty of the top-k."""
        items = batch.top_items[:, : self.k]
        novelty = 1.0 - batch.item_popularity[items] / max(batch.n_known_users, 1)
        return _mean_over_valid(novelty, batch.valid[:, : self.k])


class APLT(UserMetric):
    """Average percentage of long-tail items: ``APLT@k = |L_u@k ∩ Φ| / |L_u@k|``.

    ``Φ`` is the long tail: the items outside the short head, the most popular items that
    together make up 80% of the known interactions.
    """

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user share of long-tail items in the top-k."""
        items = batch.top_items[:, : self.k]
        return _mean_over_valid(batch.long_tail[items].double(), batch.valid[:, : self.k])


class ARP(UserMetric):
    """Average recommendation popularity: ``ARP@k = mean_{i in L_u@k} pop(i)``.

    ``pop(i)`` is the number of known (training) interactions of ``i``.
    """

    higher_is_better = False

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean popularity of the top-k."""
        items = batch.top_items[:, : self.k]
        return _mean_over_valid(batch.item_popularity[items], batch.valid[:, : self.k])


class DistributionMetric(Metric):
    """A metric of how often each item is recommended over all users' top-k lists."""

    per_user = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self._counts: Tensor | None = None

    def update(self, batch: RankingBatch) -> None:
        """Count the items of the batch's top-k lists."""
        items = batch.top_items[:, : self.k].reshape(-1)
        counts = torch.bincount(items, minlength=batch.n_items + 1)[: batch.n_items]
        self._counts = counts if self._counts is None else self._counts + counts

    def compute(self) -> float:
        """The metric of the accumulated counts."""
        if self._counts is None:
            return math.nan
        return self.from_counts(self._counts.double().cpu().numpy())

    @abc.abstractmethod
    def from_counts(self, counts: np.ndarray) -> float:
        """The metric of ``counts[i]``, the number of lists item ``i`` appears in."""


class ItemCoverage(DistributionMetric):
    """Number of distinct items recommended in the top-k of at least one user."""

    def from_counts(self, counts: np.ndarray) -> float:
        """Count of recommended items."""
        return float((counts > 0).sum())


class Gini(DistributionMetric):
    """Gini index of the recommendation counts (0: every item equally often, ->1: few items).

    With the counts ``c_(1) <= ... <= c_(n)`` of all ``n`` items:
    ``Gini@k = sum_j (2j - n - 1) c_(j) / (n sum_j c_(j))``.
    """

    higher_is_better = False

    def from_counts(self, counts: np.ndarray) -> float:
        """Gini index of the counts."""
        n = counts.size
        total = counts.sum()
        if n == 0 or total == 0:
            return math.nan
        ordered = np.sort(counts)
        weights = 2 * np.arange(1, n + 1) - n - 1
        return float((weights * ordered).sum() / (n * total))


class ShannonEntropy(DistributionMetric):
    """Shannon entropy (natural log) of the recommendation distribution.

    ``H@k = -sum_i p_i ln p_i`` with ``p_i = c_i / sum_j c_j``.
    """

    def from_counts(self, counts: np.ndarray) -> float:
        """Entropy of the counts."""
        total = counts.sum()
        if total == 0:
            return math.nan
        p = counts[counts > 0] / total
        return float(-(p * np.log(p)).sum())
