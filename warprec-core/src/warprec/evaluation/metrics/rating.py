"""Rating-prediction errors of the scores against the ratings of the evaluated split
(WarpRec's ``rating`` metrics). No cutoff; lower is better."""

from __future__ import annotations

import torch
from torch import Tensor

from warprec.evaluation.metrics.base import RankingBatch, UserMetric

__all__ = ["MAE", "MSE", "RMSE"]


class _RatingError(UserMetric):
    uses_cutoff = False
    higher_is_better = False

    def errors(self, batch: RankingBatch) -> tuple[Tensor, Tensor]:
        """``(sum of the user's element errors, number of rated items)``."""
        scores = batch.require("pos_scores").double()
        ratings = batch.require("pos_ratings").double()
        rated = ratings > 0
        error = self.element(torch.where(rated, scores, 0.0), ratings)
        return torch.where(rated, error, 0.0).sum(dim=1), rated.sum(dim=1)

    def element(self, scores: Tensor, ratings: Tensor) -> Tensor:
        """Squared error by default."""
        return (scores - ratings) ** 2

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean element error over the user's rated items."""
        total, count = self.errors(batch)
        return total / count.clamp(min=1)


class MAE(_RatingError):
    """Mean absolute error: per user ``mean_{i in R_u} |s_ui - r_ui|``, averaged over users."""

    def element(self, scores: Tensor, ratings: Tensor) -> Tensor:
        """Absolute error."""
        return (scores - ratings).abs()


class MSE(_RatingError):
    """Mean squared error: per user ``mean_{i in R_u} (s_ui - r_ui)^2``, averaged over users."""


class RMSE(_RatingError):
    """Root mean squared error per user, ``sqrt(MSE_u)``, averaged over users (WarpRec's
    order: the root is taken per user, before the mean)."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user RMSE."""
        return super().user_values(batch).sqrt()
