"""Accuracy metrics: how well the relevant items are ranked (WarpRec's ``accuracy``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from warprec.errors import ConfigError
from warprec.evaluation.metrics.base import (
    Metric,
    RankingBatch,
    UserMetric,
    cutoff_of,
    dcg,
    discounts,
)

__all__ = [
    "AUC",
    "F1",
    "GAUC",
    "LAUC",
    "MAP",
    "MAR",
    "MRR",
    "HitRate",
    "LogLoss",
    "PairwiseAUC",
    "Precision",
    "Recall",
    "nDCG",
    "nDCGRendle2020",
]


def _cut(batch: RankingBatch, k: int | None) -> Tensor:
    return batch.hits[:, :k]


def _ideal_binary_dcg(n_relevant: Tensor, k: int) -> Tensor:
    # Discounts up to the largest relevant count only: k may be far above the catalogue.
    longest = int(n_relevant.max()) if n_relevant.numel() else 1
    size = max(min(k, longest), 1)
    cumulative = torch.cumsum(discounts(size, n_relevant), dim=0)
    return cumulative[n_relevant.clamp(min=1, max=size).long() - 1]


class nDCG(UserMetric):
    """Normalised DCG with WarpRec's graded gains.

    ``nDCG@k = DCG@k / IDCG@k``, ``DCG@k = sum_{r<=k} g(i_r) / log2(r + 1)`` with the gain
    ``g(i) = 2**(rating + 1) - 1`` of a relevant item (rating 1 for implicit feedback,
    so the value equals binary nDCG there), 0 otherwise; ``IDCG@k`` is the DCG of the
    user's relevant items sorted by gain.
    """

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user graded nDCG@k."""
        k = cutoff_of(self, batch)
        ideal = dcg(batch.ideal_gains(k)).clamp(min=1e-10)
        return dcg(batch.top_gains(k)) / ideal


class nDCGRendle2020(UserMetric):
    """Binary nDCG (Rendle 2020): ``DCG@k / IDCG@k`` with gain 1 per relevant item and
    ``IDCG@k = sum_{r <= min(k, |R_u|)} 1 / log2(r + 1)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user binary nDCG@k."""
        hits = _cut(batch, self.k)
        k = cutoff_of(self, batch)
        return dcg(hits) / _ideal_binary_dcg(batch.n_relevant, k)


class Precision(UserMetric):
    """``Precision@k = |L_u@k ∩ R_u| / k``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user precision@k."""
        hits = _cut(batch, self.k)
        return hits.sum(dim=1) / float(cutoff_of(self, batch))


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
        k = cutoff_of(self, batch)
        ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device, dtype=torch.float64)
        precision_at = torch.cumsum(hits, dim=1) / ranks
        return (precision_at * hits).sum(dim=1) / batch.n_relevant.clamp(min=1, max=max(k, 1))


class MAR(UserMetric):
    """Mean average recall: ``AR@k = sum_{r<=k} rel_r * Recall@r / min(k, |R_u|)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user average recall@k."""
        hits = _cut(batch, self.k)
        k = cutoff_of(self, batch)
        recall_at = torch.cumsum(hits, dim=1) / batch.n_relevant.clamp(min=1).unsqueeze(1)
        return (recall_at * hits).sum(dim=1) / batch.n_relevant.clamp(min=1, max=max(k, 1))


class F1(UserMetric):
    """F-beta of two per-user metrics, by default Precision and Recall.

    ``F@k = (1 + beta^2) m1 m2 / (beta^2 m1 + m2)`` per user (0 when the denominator is
    0). ``metric_1``/``metric_2`` name other per-user metrics (reported as
    ``F1[m1, m2]``).
    """

    def __init__(
        self,
        k: int | None = None,
        beta: float = 1.0,
        metric_1: str = "Precision",
        metric_2: str = "Recall",
    ) -> None:
        super().__init__(k)
        self.beta = float(beta)
        self.first, self.first_name = _sub_metric(metric_1, k, "F1")
        self.second, self.second_name = _sub_metric(metric_2, k, "F1")
        for part, name in ((self.first, self.first_name), (self.second, self.second_name)):
            if not isinstance(part, UserMetric):
                raise ConfigError(f"metric 'F1': {name!r} is not a per-user metric")

    def requirements(self) -> frozenset[str]:
        """Whatever the two combined metrics need."""
        return self.first.requirements() | self.second.requirements()

    def decoration(self) -> str:
        """``[m1, m2]`` unless they are Precision and Recall."""
        if (self.first_name, self.second_name) == ("Precision", "Recall"):
            return ""
        return f"[{self.first_name}, {self.second_name}]"

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user F-beta of the two metrics."""
        first = self.first.user_values(batch)  # type: ignore[attr-defined]
        second = self.second.user_values(batch)  # type: ignore[attr-defined]
        b2 = self.beta**2
        denominator = b2 * first + second
        value = (1 + b2) * first * second / torch.where(denominator == 0, 1.0, denominator)
        return torch.where(denominator == 0, 0.0, value)


def _sub_metric(name: str, k: int | None, owner: str) -> tuple[Metric, str]:
    """An instance of the registered metric ``name`` at ``k`` and its spelled name."""
    from warprec.utils.registry import metric_registry

    entry = metric_registry.entry(name)
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise ConfigError(f"metric {owner!r}: {name!r} is not a warprec metric")
    return cls(k if cls.uses_cutoff else None), entry.name


def _area(batch: RankingBatch) -> tuple[Tensor, Tensor, Tensor]:
    """``(area [B, P], position [B, P], valid [B, P])`` of each relevant item.

    WarpRec's (and Elliot's) area of a relevant item is ``(N + 1 - a) / (N + 1)`` with
    ``N`` the user's ranked negatives and ``a`` those placed before the item.
    """
    above, position, n_negatives = batch.positive_ranks()
    valid = above >= 0
    total = (n_negatives + 1).double().unsqueeze(1)
    area = torch.where(valid, (total - above.double()) / total, 0.0)
    return area, position, valid


def _user_area(batch: RankingBatch, k: int | None) -> Tensor:
    """Per user: the area of the relevant items (within the top ``k`` when given) over
    ``|R_u|`` (``min(|R_u|, k)``).

    Summed as integers, ``sum (N + 1 - a)``, and divided once: a float sum would depend
    on the padded width of the batch, hence on the batch size.
    """
    above, position, n_negatives = batch.positive_ranks()
    counted = above >= 0 if k is None else (above >= 0) & (position < k)
    total = (n_negatives + 1).unsqueeze(1)
    numerator = torch.where(counted, total - above, 0).sum(dim=1).double()
    n_counted = (above >= 0).sum(dim=1) if k is None else batch.n_relevant.clamp(max=k)
    return numerator / (total.squeeze(1).double() * n_counted.clamp(min=1))


class AUC(Metric):
    """Area under the ROC curve over every relevant item of every user (WarpRec's AUC).

    ``AUC = sum_u sum_{i in R_u} (N_u + 1 - a_i) / (N_u + 1) / sum_u |R_u|`` where
    ``N_u`` is the number of ranked negatives of the user (unmasked items that are not
    relevant, or the sampled negatives) and ``a_i`` the negatives ranked before ``i``
    (ties broken as in the top-k lists). A global (micro) average; no cutoff.
    """

    per_user = False
    uses_cutoff = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        # Per-item areas, summed once at the end: the result then does not depend on
        # how the users were batched (float addition is not associative).
        self.areas: list[Tensor] = []

    def update(self, batch: RankingBatch) -> None:
        """Keep the area of every relevant item."""
        area, _position, valid = _area(batch)
        self.areas.append(area[valid].cpu())

    def compute(self) -> float:
        """Total area over total relevant items (NaN when there are none)."""
        areas = torch.cat(self.areas) if self.areas else torch.zeros(0)
        return float(areas.sum() / areas.numel()) if areas.numel() else math.nan


class GAUC(UserMetric):
    """Group AUC: the mean over users of ``sum_{i in R_u} (N_u + 1 - a_i)/(N_u + 1) / |R_u|``
    (see :class:`AUC`); no cutoff."""

    uses_cutoff = False

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user AUC."""
        return _user_area(batch, None)


class LAUC(UserMetric):
    """Limited AUC: the area of the relevant items ranked within the top k, over
    ``min(|R_u|, k)``: ``sum_{i in R_u, pos(i) <= k} (N_u + 1 - a_i)/(N_u + 1) / min(|R_u|, k)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user limited AUC."""
        return _user_area(batch, cutoff_of(self, batch))


class PairwiseAUC(UserMetric):
    """Pairwise AUC on the sampled candidates (no cutoff; sampled ranking only).

    ``AUC_u = sum_{p in R_u} sum_{n in N_u} ([s_p > s_n] + 0.5 [s_p = s_n]) / (|R_u| |N_u|)``
    over the user's sampled negatives ``N_u``. (This was ``AUC`` before it followed
    WarpRec.)
    """

    uses_cutoff = False
    sampled_only = True

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user pairwise AUC."""
        positives = batch.require("pos_scores")
        negatives = batch.require("neg_scores").contiguous()
        query = torch.nan_to_num(positives, nan=0.0).contiguous()
        below = torch.searchsorted(negatives, query, side="left").double()
        at_most = torch.searchsorted(negatives, query, side="right").double()
        wins = torch.where(torch.isnan(positives), 0.0, below + 0.5 * (at_most - below))
        n_pos = (~torch.isnan(positives)).sum(dim=1).double()
        n_neg = torch.isfinite(negatives).sum(dim=1).double()
        return wins.sum(dim=1) / (n_pos * n_neg).clamp(min=1)


class LogLoss(UserMetric):
    """Binary cross-entropy of the scores read as logits against the relevance.

    Per user, the mean of ``BCE(sigmoid(s_i), rel_i)`` over every ranked column (masked
    items excluded); the result is the mean over users. No cutoff.
    """

    uses_cutoff = False
    higher_is_better = False

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean log loss."""
        scores = batch.require("scores").double()
        scored = torch.isfinite(scores)
        logits = torch.where(scored, scores, 0.0)
        losses = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, batch.relevance_matrix(), reduction="none"
        )
        losses = torch.where(scored, losses, 0.0)
        count = scored.sum(dim=1)
        return torch.where(count > 0, losses.sum(dim=1) / count.clamp(min=1), math.nan)
