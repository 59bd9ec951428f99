"""Defaults that hold up: over their default epochs BPR's, LightGCN's, NeuMF's and NGCF's
validation curves do not fall (no over-training: the defaults hold without a validation
split to stop early on), on a small sample with a real-data-like
popularity skew made here (the MovieLens-100K numbers are the benchmark's,
``bench/bench_models_ml100k.py``); and LightGCN's propagation gradient."""

from __future__ import annotations

import pytest
import torch
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.evaluation import Evaluator
from warprec.recommenders.trainer import Trainer
from warprec_models_neural.bpr import BPR
from warprec_models_neural.lightgcn import LightGCN, normalized_adjacency, propagate
from warprec_models_neural.neumf import NeuMF
from warprec_models_neural.ngcf import NGCF


@pytest.fixture(scope="module")
def skewed() -> Dataset:
    """400 users x 300 items, 12,000 interactions, Zipf popularity (exponent 1, as
    MovieLens' head-heavy items), per-user random 80/20 and 10% validation."""
    frame = synthetic(n_users=400, n_items=300, n_interactions=12_000, seed=5,
                      popularity_exponent=1.0, noise=0.2)
    return Dataset.from_dataframe(frame.drop(columns="rating"),
                                  RandomHoldoutPerUser(0.2, 0.1, seed=3))


def _curve(model, dataset: Dataset, every: int) -> list[float]:
    """Validation nDCG@10 of the untrained model, then every ``every`` epochs over the
    model's own epoch count."""
    evaluator = Evaluator(metrics=["nDCG"], top_k=[10])
    model.get_dataloader(dataset.train)  # LightGCN scores through its graph
    untrained = evaluator.evaluate(model, dataset, split="validation").summary()["nDCG@10"]
    history = Trainer(model, dataset, evaluator, eval_every=every, patience=None,
                      restore_best=False, progress=False).fit()
    return [untrained] + [check["nDCG@10"] for check in history.validation]


def _assert_holds(curve: list[float]) -> None:
    # It learned (well above the untrained model), and the last check keeps (nearly)
    # the best value: the default epochs stop before the model starts to over-train.
    assert max(curve) > 2 * curve[0], curve
    assert curve[-1] >= 0.97 * max(curve), curve


def test_bpr_defaults_do_not_over_train(skewed):
    model = BPR({}, skewed.info(), seed=7)
    _assert_holds(_curve(model, skewed, every=max(1, model.epochs // 6)))


def test_bpr_without_regularisation_over_trains_here(skewed):
    # The negative control: the same check does see a decline (reg_weight 0, many
    # epochs, the kind of default this project had), so the test above can fail.
    model = BPR({"reg_weight": 0.0, "epochs": 120}, skewed.info(), seed=7)
    curve = _curve(model, skewed, every=20)
    assert curve[-1] < 0.97 * max(curve), curve


def test_lightgcn_defaults_do_not_over_train(skewed):
    model = LightGCN({}, skewed.info(), seed=7)
    _assert_holds(_curve(model, skewed, every=max(1, model.epochs // 6)))


def test_neumf_defaults_do_not_over_train(skewed):
    # The fused model (GMF and MLP towers): its default epochs stop before its peak, so
    # the defaults hold without a validation split to stop early on.
    model = NeuMF({}, skewed.info(), seed=7)
    _assert_holds(_curve(model, skewed, every=max(1, model.epochs // 6)))


def test_neumf_past_its_default_epochs_over_trains_here(skewed):
    # The negative control: the fused model over-trains here as on MovieLens-100K after
    # its peak (25 epochs, the old default), so the test above can fail.
    model = NeuMF({"epochs": 25}, skewed.info(), seed=7)
    curve = _curve(model, skewed, every=5)
    assert curve[-1] < 0.97 * max(curve), curve


def test_neumf_with_adam_weight_decay_collapses_here(skewed):
    # The negative control, and why weight_decay is 0: Adam's coupled decay shrinks every
    # embedding row at every step (also the rows not in the batch), and the GMF product
    # collapses below the untrained model (the old default 1e-4).
    model = NeuMF({"weight_decay": 1e-4, "mlp_train": False}, skewed.info(), seed=7)
    curve = _curve(model, skewed, every=max(1, model.epochs // 5))
    assert curve[-1] < curve[0], curve


def test_ngcf_defaults_do_not_over_train(skewed):
    model = NGCF({}, skewed.info(), seed=7)
    _assert_holds(_curve(model, skewed, every=max(1, model.epochs // 5)))


def test_propagation_gradient_is_the_dense_products():
    users = torch.tensor([0, 0, 1, 2, 2, 3])
    items = torch.tensor([0, 2, 1, 0, 1, 2])
    adjacency = normalized_adjacency(users, items, 4, 3, torch.device("cpu"))
    dense = adjacency.to_dense()
    start = torch.randn(7, 5, dtype=torch.float32)
    weights = torch.randn(7, 5)
    ours = start.clone().requires_grad_(True)
    reference = start.clone().requires_grad_(True)
    (propagate(adjacency, propagate(adjacency, ours)) * weights).sum().backward()
    (dense @ (dense @ reference) * weights).sum().backward()
    assert torch.allclose(ours.grad, reference.grad, atol=1e-6)
