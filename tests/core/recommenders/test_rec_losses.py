"""Losses against their formulas, computed naively."""

from __future__ import annotations

import math

import pytest
import torch
from warprec.recommenders.losses import (
    BCELoss,
    BPRLoss,
    CrossEntropyLoss,
    EmbLoss,
    KLDivergenceLoss,
    MultinomialLoss,
)
from warprec.utils.registry import loss_registry


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_bpr_matches_minus_log_sigmoid() -> None:
    pos, neg = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.5])
    pairs = zip(pos.tolist(), neg.tolist(), strict=True)
    expected = sum(-math.log(sigmoid(p - n)) for p, n in pairs) / 3
    assert BPRLoss()(pos, neg).item() == pytest.approx(expected, rel=1e-6)
    assert BPRLoss(reduction="sum")(pos, neg).item() == pytest.approx(3 * expected, rel=1e-6)


def test_bpr_with_several_negatives_per_positive() -> None:
    pos, neg = torch.tensor([1.0, 0.0]), torch.tensor([[0.0, 2.0, 1.0], [-1.0, 0.0, 3.0]])
    pairs = [(p, n) for p, row in zip(pos.tolist(), neg.tolist(), strict=True) for n in row]
    expected = sum(-math.log(sigmoid(p - n)) for p, n in pairs) / len(pairs)
    assert BPRLoss()(pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_bpr_is_stable_for_large_margins() -> None:
    loss = BPRLoss()(torch.tensor([-200.0]), torch.tensor([200.0]))
    assert loss.item() == pytest.approx(400.0)


def test_emb_loss_is_squared_norm_per_batch_row() -> None:
    a, b = torch.ones(4, 2), torch.full((4, 3), 2.0)
    assert EmbLoss()(a, b).item() == pytest.approx((8 + 48) / 4)
    assert EmbLoss(norm=1)(a).item() == pytest.approx(8 / 4)


def test_bce_multinomial_kl_cross_entropy() -> None:
    logits, labels = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0])
    expected = (-math.log(0.5) - math.log(1 - sigmoid(2.0))) / 2
    assert BCELoss()(logits, labels).item() == pytest.approx(expected, rel=1e-6)

    z, x = torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[1.0, 2.0]])
    expected = -(1 * math.log(0.25) + 2 * math.log(0.75))
    assert MultinomialLoss()(z, x).item() == pytest.approx(expected, rel=1e-6)

    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 * ((1 + 1 - 1 - 0) + (2 + 0 - 1 - math.log(2.0)))
    assert KLDivergenceLoss()(mu, logvar).item() == pytest.approx(expected, rel=1e-6)

    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])
    targets = torch.tensor([[1, 2]])
    loss = CrossEntropyLoss(ignore_index=2)(logits, targets)
    assert loss.item() == pytest.approx(math.log(2.0), rel=1e-6)


def test_losses_are_registered() -> None:
    for name in ["BPRLoss", "EmbLoss", "BCELoss", "MultinomialLoss", "CrossEntropyLoss"]:
        assert loss_registry.get_class(name).__name__ == name
