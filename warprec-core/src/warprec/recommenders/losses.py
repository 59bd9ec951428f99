"""Training losses, registered in ``loss_registry`` (see ``warprec._builtins.LOSSES``).

Each loss is a :class:`torch.nn.Module` returning a scalar tensor (``reduction="mean"``
unless stated otherwise).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BCELoss",
    "BPRLoss",
    "CrossEntropyLoss",
    "EmbLoss",
    "KLDivergenceLoss",
    "MultinomialLoss",
]


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


class BPRLoss(nn.Module):
    """Bayesian Personalised Ranking: ``mean(softplus(s_neg - s_pos))``.

    Equal to ``-mean(log sigmoid(s_pos - s_neg))``, computed stably. ``neg_score`` is
    ``[B]`` or ``[B, N]`` (``N`` negatives per positive, each pair counted once).
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, pos_score: Tensor, neg_score: Tensor) -> Tensor:
        """The loss of positive scores ``[B]`` against negative scores ``[B]`` or ``[B, N]``."""
        if neg_score.dim() == pos_score.dim() + 1:
            pos_score = pos_score.unsqueeze(-1)
        return _reduce(F.softplus(neg_score - pos_score), self.reduction)


class EmbLoss(nn.Module):
    """Embedding regularisation: ``sum_e ||e||_p^p / B`` over the given embeddings.

    ``B`` is the number of rows of the last embedding (the batch size), so the penalty
    does not grow with the batch. Multiply by the model's regularisation weight.
    """

    def __init__(self, norm: int = 2) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, *embeddings: Tensor) -> Tensor:
        """The penalty of one or more embedding batches."""
        if not embeddings:
            raise ValueError("EmbLoss needs at least one embedding tensor")
        total = torch.stack([e.abs().pow(self.norm).sum() for e in embeddings]).sum()
        return total / embeddings[-1].shape[0]


class BCELoss(nn.Module):
    """Binary cross-entropy on logits: ``mean(-y log s(x) - (1 - y) log(1 - s(x)))``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """The loss of raw scores against 0/1 labels of the same shape."""
        return F.binary_cross_entropy_with_logits(
            logits, labels.to(logits.dtype), reduction=self.reduction
        )


class MultinomialLoss(nn.Module):
    """Multinomial log-likelihood (Mult-VAE): ``mean_u -sum_i x_ui log softmax(z_u)_i``.

    ``logits`` and ``targets`` are ``[B, n_items]``; ``targets`` holds the user rows.
    """

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The negative log-likelihood of the user rows under the softmax of the logits."""
        return -(F.log_softmax(logits, dim=-1) * targets).sum(dim=-1).mean()


class KLDivergenceLoss(nn.Module):
    """KL divergence of ``N(mu, exp(logvar))`` from ``N(0, I)``, averaged over the batch.

    ``mean_b 0.5 * sum_d (exp(logvar) + mu^2 - 1 - logvar)`` (the Mult-VAE regulariser).
    """

    def forward(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """The divergence of the posteriors ``[B, D]`` from the standard normal prior."""
        return (0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=-1)).mean()


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy over items: ``mean(-log softmax(z)_target)`` (SASRec).

    ``logits`` are ``[B, C]`` (or ``[B, L, C]``), ``targets`` the item indices ``[B]``
    (or ``[B, L]``); targets equal to ``ignore_index`` (e.g. the padding item) are skipped.
    """

    def __init__(self, ignore_index: int = -100) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The cross-entropy of the logits against the target indices."""
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            targets.reshape(-1).long(),
            ignore_index=self.ignore_index,
        )
