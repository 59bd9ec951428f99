"""gSASRec (Petrov & Macdonald, RecSys 2023): SASRec trained with many sampled negatives
and the generalised binary cross-entropy (gBCE), which undoes the overconfidence that
negative sampling gives plain BCE.

With ``k = neg_samples`` negatives out of ``n_items - 1`` (sampling rate
``alpha = k / (n_items - 1)``) and calibration ``t = gbce_t``, the positive's probability
is raised to ``beta = alpha * (t * (1 - 1/alpha) + 1/alpha)``: the loss of one target is
``-(beta * log sigmoid(s+) + sum log(1 - sigmoid(s-))) / (1 + k)``: ``t = 0`` is plain
BCE (``beta = 1``), ``t = 1`` gives ``beta = alpha``. Computed as ``beta * softplus(-s+)``, the
positive term needs no ``sigmoid(s+)^-beta`` (which overflows) and no clamping.

The architecture, the training windows and ``predict`` are SASRec's; with
``reuse_item_embeddings: false`` the scores use separate output item embeddings.

Scores carry one learned scalar ``score_bias``, started at gBCE's equilibrium
``log(beta / k)`` (the score at which the ``k`` negatives' push, ``k * sigmoid(s)``,
balances the positive's pull, ``beta * sigmoid(-s)``). A constant added to every
score changes no ranking, but without it the only way to the strongly negative scores
gBCE asks of the negatives is a direction that every hidden state shares: the final
LayerNorm bounds the hidden states' norm, so that direction takes all of it, every user
gets the same scores (popularity), and training stays there (the package README has the
measurements).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from annotated_types import Ge, Le
from torch import Tensor, nn

from warprec_models_neural.sasrec import SASRec

__all__ = ["gSASRec", "gbce_beta"]


def gbce_beta(neg_samples: int, n_items: int, t: float) -> float:
    """gBCE's exponent ``beta = alpha * (t * (1 - 1/alpha) + 1/alpha)``, with the
    sampling rate ``alpha = neg_samples / (n_items - 1)``: 1 at ``t = 0`` (plain BCE),
    ``alpha`` at ``t = 1``."""
    alpha = neg_samples / max(n_items - 1, 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


class gSASRec(SASRec):
    """SASRec with many negatives and the generalised binary cross-entropy (gBCE)."""

    neg_samples: Annotated[int, Ge(1), Le(100_000)] = 64
    """Sampled negative items per target (gBCE needs at least one)."""
    gbce_t: Annotated[float, Ge(0), Le(1)] = 0.75
    """gBCE calibration: 0 is plain BCE, 1 fully corrects the sampling rate."""
    reuse_item_embeddings: bool = True
    """Score with the input item embeddings (``False``: separate output embeddings)."""

    def _build_output(self) -> None:
        if not self.reuse_item_embeddings:
            self.output_embedding = nn.Embedding(self.n_items + 1, self.embedding_size,
                                                 padding_idx=self.n_items)
        # A bare Parameter: the init of the embeddings and linear layers leaves it alone.
        beta = gbce_beta(self.neg_samples, self.n_items, self.gbce_t)
        self.score_bias = nn.Parameter(torch.tensor(math.log(beta / self.neg_samples)))

    def _output_weight(self) -> Tensor:
        if self.reuse_item_embeddings:
            return self.item_embedding.weight
        return self.output_embedding.weight

    def _loss(self, hidden: Tensor, targets: Tensor, negatives: Tensor) -> Tensor:
        weight = self._output_weight()
        positive = (hidden * weight[targets]).sum(-1) + self.score_bias
        negative = (hidden.unsqueeze(1) * weight[negatives]).sum(-1) + self.score_bias
        beta = gbce_beta(self.neg_samples, self.n_items, self.gbce_t)
        per_row = beta * F.softplus(-positive) + F.softplus(negative).sum(dim=1)
        return per_row.mean() / (1 + negative.shape[1])

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """SASRec's scores plus ``score_bias`` (the same ranking; ``sigmoid`` of a score
        is then the probability gBCE calibrates)."""
        scores = super().predict(user_indices, *args, item_indices=item_indices, **kwargs)
        return scores + self.score_bias
