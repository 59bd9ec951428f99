"""The training loop: optimizers, schedulers, early stopping, best weights, bad losses."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.recommenders.trainer import Trainer, TrainingError, build_optimizer

INFO = {"n_users": 2, "n_items": 3}
PARAMS = {"batch_size": 2, "epochs": 6, "learning_rate": 0.1}
DATA = SimpleNamespace(
    train="train-data", train_validation="all", train_sessions=None, validation="validation-data"
)


class Toy(IterativeRecommender):
    """Fits w to 3.0 by least squares; hooks let tests inject failures."""

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42, **kwargs: Any):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.w = nn.Parameter(torch.zeros(1))
        self.step_result: Any = None
        self.fail_at: int | None = None
        self.seen_data: Any = None

    def get_dataloader(self, interactions: Any, sessions: Any, **kwargs: Any) -> list:
        self.seen_data = (interactions, kwargs)
        return [(torch.ones(2), torch.full((2,), 3.0))] * 2

    def forward(self, x: Tensor) -> Tensor:
        return self.w * x

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        if self.step_result is not None:
            return self.step_result
        x, y = batch
        return ((self.forward(x) - y) ** 2).mean()

    def on_epoch_start(self, epoch: int) -> None:
        if epoch == self.fail_at:
            raise KeyboardInterrupt

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        return self.w.expand(len(user_indices), self.n_items)


class ScriptedEvaluator:
    """Returns the given validation values in turn and records the weights it saw."""

    keys = ["nDCG@10"]

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.weights: list[float] = []

    def evaluate(self, model: Toy, dataset: Any, split: str) -> Any:
        assert split == "validation" and not model.training
        self.weights.append(model.w.item())
        value = self.values.pop(0)
        return SimpleNamespace(summary=lambda: {"nDCG@10": value})


def test_trains_with_named_optimizer_and_reports_losses() -> None:
    model = Toy(PARAMS, INFO)
    history = Trainer(model, DATA, optimizer="sgd", dataloader_kwargs={"seed": 1}).fit()
    assert model.seen_data == ("train-data", {"seed": 1})
    assert history.epochs_run == 6 and history.monitor == "loss"
    assert history.losses == sorted(history.losses, reverse=True)
    assert model.w.item() == pytest.approx(3.0 * (1 - 0.8**12), rel=1e-5)  # 12 SGD steps
    assert not model.training


def test_sgd_step_size_and_weight_decay() -> None:
    model = Toy({**PARAMS, "epochs": 1, "weight_decay": 0.5}, INFO)
    model.w.data.fill_(1.0)
    Trainer(model, DATA, optimizer="SGD").fit()
    # Two steps of w -= lr * (2 (w - 3) + 0.5 w).
    w = 1.0
    for _ in range(2):
        w -= 0.1 * (2 * (w - 3.0) + 0.5 * w)
    assert model.w.item() == pytest.approx(w, rel=1e-6)


def test_lr_scheduler_steps_each_epoch() -> None:
    model = Toy({**PARAMS, "epochs": 2}, INFO)
    trainer = Trainer(model, DATA, lr_scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5})
    optimizers: list[torch.optim.Optimizer] = []
    original = trainer.configure_optimizer
    trainer.configure_optimizer = lambda: optimizers.append(original()) or optimizers[0]
    trainer.fit()
    assert optimizers[0].param_groups[0]["lr"] == pytest.approx(0.025)


def test_custom_optimizer_from_model() -> None:
    model = Toy({**PARAMS, "epochs": 1}, INFO)
    model.configure_optimizer = lambda: torch.optim.SGD(model.parameters(), lr=0.0)
    Trainer(model, DATA, optimizer="Adam").fit()
    assert model.w.item() == 0.0


def test_optimizer_errors() -> None:
    with pytest.raises(ConfigError, match="unknown optimizer 'Adamm'; expected one of Adam"):
        Trainer(Toy(PARAMS, INFO), DATA, optimizer="Adamm").fit()
    with pytest.raises(ConfigError, match="'SparseAdam' does not support weight_decay"):
        Trainer(Toy(PARAMS, INFO), DATA, optimizer="SparseAdam", weight_decay=0.1).fit()
    with pytest.raises(ConfigError, match="unknown lr_scheduler 'Nope'"):
        Trainer(Toy(PARAMS, INFO), DATA, lr_scheduler="Nope").fit()


def test_bad_optimizer_arguments_are_config_errors() -> None:
    model = Toy(PARAMS, INFO)
    with pytest.raises(ConfigError, match=r"^optimizer 'Adam': .*'momentum'.*torch\.optim\.Adam$"):
        Trainer(model, DATA, optimizer_kwargs={"momentum": 0.9}).fit()
    with pytest.raises(ConfigError, match=r"^optimizer 'SGD': Invalid learning rate: -1\.0"):
        build_optimizer("SGD", model.parameters(), -1.0)


def test_early_stopping_restores_best_weights() -> None:
    model = Toy(PARAMS, INFO)
    evaluator = ScriptedEvaluator([0.1, 0.3, 0.2, 0.25, 0.9, 0.9])
    history = Trainer(model, DATA, evaluator, optimizer="SGD", patience=2).fit()
    assert history.monitor == "nDCG@10"
    assert history.stopped_early and history.epochs_run == 4
    assert (history.best_epoch, history.best_value) == (2, 0.3)
    assert [v["nDCG@10"] for v in history.validation] == [0.1, 0.3, 0.2, 0.25]
    assert model.w.item() == evaluator.weights[1] and history.weights_epoch == 2


class RisingLoss(Toy):
    """Toy whose loss grows by a constant each epoch (no effect on the gradients), as a
    VAE's does while its KL weight grows: the lowest loss is the first epoch's."""

    def on_epoch_start(self, epoch: int) -> None:
        self.offset = 10.0 * epoch

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return super().train_step(batch) + self.offset


def test_loss_monitor_keeps_last_weights() -> None:
    model = RisingLoss(PARAMS, INFO)
    history = Trainer(model, DATA, optimizer="SGD").fit()
    assert history.monitor == "loss" and history.best_epoch == 1
    assert history.losses == sorted(history.losses)  # rising: epoch 1 is the lowest
    # The last epoch's weights (12 SGD steps), not the lowest-loss epoch's (2 steps).
    assert model.w.item() == pytest.approx(3.0 * (1 - 0.8**12), rel=1e-5)
    assert history.weights_epoch == 6


def test_loss_monitor_early_stopping_keeps_last_weights() -> None:
    model = RisingLoss(PARAMS, INFO)
    history = Trainer(model, DATA, optimizer="SGD", patience=2).fit()
    assert history.stopped_early and history.epochs_run == 3 and history.best_epoch == 1
    assert model.w.item() == pytest.approx(3.0 * (1 - 0.8**6), rel=1e-5)
    assert history.weights_epoch == 3


def test_min_delta_and_eval_every() -> None:
    model = Toy(PARAMS, INFO)
    evaluator = ScriptedEvaluator([0.30, 0.32, 0.34])
    trainer = Trainer(model, DATA, evaluator, eval_every=2, patience=2, min_delta=0.05)
    history = trainer.fit()
    assert [v["epoch"] for v in history.validation] == [2, 4, 6]
    assert history.best_epoch == 2 and history.stopped_early


def test_keyboard_interrupt_keeps_best_weights() -> None:
    model = Toy(PARAMS, INFO)
    model.fail_at = 4
    evaluator = ScriptedEvaluator([0.5, 0.1, 0.2])
    history = Trainer(model, DATA, evaluator, optimizer="SGD").fit()
    assert history.interrupted and history.epochs_run == 3
    assert model.w.item() == evaluator.weights[0]


def test_float_loss_is_rejected() -> None:
    model = Toy(PARAMS, INFO)
    model.step_result = 1.5
    with pytest.raises(TrainingError) as info:
        Trainer(model, DATA).fit()
    assert str(info.value) == "Toy.train_step must return a scalar loss tensor, got float 1.5"


def test_non_scalar_loss_is_rejected() -> None:
    model = Toy(PARAMS, INFO)
    model.step_result = torch.ones(3, requires_grad=True)
    with pytest.raises(TrainingError, match=r"scalar loss tensor, got a tensor of shape \(3,\)"):
        Trainer(model, DATA).fit()


def test_nan_loss_reports_epoch() -> None:
    model = Toy(PARAMS, INFO)
    model.train_step = _nan_from_epoch(model, 3)  # type: ignore[method-assign]
    with pytest.raises(TrainingError, match="the training loss is nan at epoch 3"):
        Trainer(model, DATA, optimizer="SGD").fit()
    assert torch.isfinite(model.w).all()  # best weights (epoch 2) restored


def _nan_from_epoch(model: Toy, epoch: int) -> Any:
    calls = {"n": 0}

    def step(batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        calls["n"] += 1
        x, y = batch
        loss = ((model.forward(x) - y) ** 2).mean()
        return loss * float("nan") if calls["n"] > 2 * (epoch - 1) else loss

    return step


def test_progress_bar_and_refit_without_validation_checks(capsys: Any) -> None:
    model = Toy({**PARAMS, "epochs": 2}, INFO)
    evaluator = ScriptedEvaluator([])
    history = Trainer(
        model, DATA, evaluator, split="train_validation", progress=True, refresh=1
    ).fit()
    assert history.monitor == "loss" and history.validation == []
    assert "Toy epoch 2/2" in capsys.readouterr().err


def test_metric_monitor_needs_validation() -> None:
    data = SimpleNamespace(train="t", train_sessions=None, validation=None)
    with pytest.raises(ConfigError, match="needs an evaluator and a validation split"):
        Trainer(Toy(PARAMS, INFO), data, ScriptedEvaluator([]), monitor="nDCG@10")
    assert Trainer(Toy(PARAMS, INFO), data, ScriptedEvaluator([])).monitor == "loss"
