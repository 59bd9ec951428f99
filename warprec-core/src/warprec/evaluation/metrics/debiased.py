"""Inverse-propensity (IPS) and self-normalised (SNIPS) estimators (WarpRec's
``debiased``): each hit counts ``1 / p(i)``, ``p(i)`` the probability that item ``i`` was
observed (see :func:`warprec.evaluation.propensity.build_propensity`). They need the
evaluator's ``propensity``."""

from __future__ import annotations

import torch
from torch import Tensor

from warprec.evaluation.metrics.base import RankingBatch, UserMetric, cutoff_of, dcg

__all__ = ["IPSDCG", "SNIPSDCG", "IPSRecall", "SNIPSRecall"]


class _Propensity(UserMetric):
    requires = frozenset({"propensity"})

    def weights(self, batch: RankingBatch) -> tuple[Tensor, Tensor]:
        """``(weighted hits [B, k], sum of the weights of the user's relevant items [B])``."""
        propensity = batch.ctx.propensity
        if propensity is None:
            raise ValueError(f"{type(self).__name__} needs propensities")
        k = cutoff_of(self, batch)
        hits = batch.hits[:, :k] / propensity[batch.top_items[:, :k]]
        positives = batch.require("pos_items")
        total = torch.where(positives < batch.n_items, 1.0 / propensity[positives], 0.0)
        return hits, total.sum(dim=1)


class IPSRecall(_Propensity):
    """``IPSRecall@k = sum_{i in L_u@k ∩ R_u} 1/p(i) / |R_u|``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user IPS recall."""
        hits, _total = self.weights(batch)
        return hits.sum(dim=1) / batch.n_relevant.clamp(min=1)


class SNIPSRecall(_Propensity):
    """``SNIPSRecall@k = sum_{i in L_u@k ∩ R_u} 1/p(i) / sum_{i in R_u} 1/p(i)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user self-normalised IPS recall."""
        hits, total = self.weights(batch)
        return torch.where(total > 0, hits.sum(dim=1) / total.clamp(min=1e-300), 0.0)


class IPSDCG(_Propensity):
    """``IPSDCG@k = sum_{r<=k} rel_r / p(i_r) / log2(r + 1)`` (not normalised by an ideal
    DCG, which would not depend on the propensities)."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user IPS DCG."""
        hits, _total = self.weights(batch)
        return dcg(hits)


class SNIPSDCG(_Propensity):
    """``SNIPSDCG@k = IPSDCG@k / sum_{i in R_u} 1/p(i)``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user self-normalised IPS DCG."""
        hits, total = self.weights(batch)
        return torch.where(total > 0, dcg(hits) / total.clamp(min=1e-300), 0.0)
