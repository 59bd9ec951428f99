"""Models that misbehave at run time: a wrong ``predict`` of a model that is not official
is caught by the contract smoke check before anything trains or is written, and one
wrong only on the run's own batches on the first such batch (the model failed, its
reason in the conformance kit's words, the others kept); NaN results are never reported
as complete; a failed allocation is one line."""

from __future__ import annotations

import re

import pytest
from hostile_helpers import World, leftovers, results

BAD = """
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from annotated_types import Ge, Le

from warprec.recommenders.base_recommender import IterativeRecommender, Recommender
from warprec.utils.registry import model_registry


@model_registry.register(name="Bad")
class Bad(Recommender):
    mode: Literal["ok", "wide", "short", "transposed", "int", "nan", "list", "neginf",
                  "nan_metric", "sampled_wide", "wide_in_batches_of_7"] = "ok"

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        n, b = self.n_items, len(user_indices)
        scores = torch.rand(b, n, generator=torch.Generator().manual_seed(0))
        if self.mode == "wide" or (self.mode == "wide_in_batches_of_7" and b == 7):
            scores = torch.rand(b, n + 1)
        elif self.mode == "short":
            scores = scores[:, : n - 1]
        elif self.mode == "transposed":
            scores = torch.rand(n, b)
        elif self.mode == "int":
            scores = (scores * 10).long()
        elif self.mode == "nan":
            scores[0, 0] = float("nan")
        elif self.mode == "list":
            return scores.tolist()
        elif self.mode == "neginf":
            scores[:, 0] = float("-inf")  # allowed: an excluded item
        elif self.mode == "sampled_wide" and item_indices is not None:
            return torch.rand(b, item_indices.shape[1] + 2)
        if item_indices is not None and scores.dim() == 2 and scores.shape[1] == n:
            return scores.gather(1, item_indices)
        return scores


@model_registry.register(name="Slow")
class Slow(IterativeRecommender):
    # Trains for many epochs, then scores one item too few.

    epochs = 200
    batch_size = 16
    learning_rate = 0.01

    def __init__(self, params, info, *args, **kwargs):
        super().__init__(params, info, *args, **kwargs)
        self.user = torch.nn.Embedding(self.n_users, 4)
        self.item = torch.nn.Embedding(self.n_items, 4)

    def get_dataloader(self, interactions, sessions=None, **kwargs):
        return interactions.get_contrastive_dataloader(batch_size=16, seed=self.seed)

    def train_step(self, batch, *args, **kwargs):
        user, positive, negative = batch
        gap = self.item(positive) - self.item(negative)
        return -torch.nn.functional.logsigmoid((self.user(user) * gap).sum(-1)).mean()

    def on_epoch_end(self, epoch):
        with open(Path(__file__).with_name("epochs.txt"), "a") as log:
            log.write(f"{epoch}\\n")

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        scores = self.user(user_indices) @ self.item.weight[:-1].T
        return scores if item_indices is None else scores.gather(1, item_indices)


@model_registry.register(name="Greedy")
class Greedy(Recommender):
    kind: Literal["torch", "numpy", "memory", "bug"] = "torch"
    size: Annotated[int, Ge(1), Le(10**30)] = 1

    def __init__(self, params, info, *args, **kwargs):
        super().__init__(params, info, *args, **kwargs)
        if self.kind == "torch":
            self.table = torch.nn.Embedding(self.n_items, self.size)
        elif self.kind == "numpy":
            self.table = np.empty((self.n_items, self.size))
        elif self.kind == "memory":
            raise MemoryError()
        else:
            raise RuntimeError("a bug in the model")

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        return torch.zeros(len(user_indices), self.n_items)
"""

WRONG = {
    "wide": r"full predict has shape \(\d+, 21\), expected \(\d+, 20\)",
    "short": r"full predict has shape \(\d+, 19\), expected \(\d+, 20\)",
    "transposed": r"full predict has shape \(20, \d+\), expected \(\d+, 20\)",
    "int": r"full predict has dtype torch.int64, expected a floating dtype",
    "nan": r"full predict contains NaN \(1 of \d+ scores\)",
    "list": r"full predict returned list, expected a torch.Tensor",
}


def bad_config(world: World, model: dict, **sections) -> tuple:
    module = world.module(BAD)
    config = world.config({"Pop": {}, **model}, general={"custom_modules": [module]},
                          **sections)
    return config, world.root / "run"


@pytest.mark.parametrize("mode", list(WRONG))
def test_a_wrong_predict_fails_the_run_before_training(cli, world: World, mode: str) -> None:
    config, run = bad_config(world, {"Bad": {"mode": mode}})
    before = world.fingerprint()
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2
    assert re.fullmatch(r"Error: models\.Bad: Bad \(from hostile_models\w*\) breaks the "
                        r"model contract: predict_shapes: " + WRONG[mode] + r" \(the contract "
                        r"smoke check on a sample of the data, before training; .*\)", line), line
    assert not run.exists() and world.fingerprint() == before


def test_a_wrong_iterative_model_fails_before_its_first_epoch(cli, world: World) -> None:
    config, run = bad_config(world, {"Slow": {}})
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2 and "models.Slow: Slow (from hostile_models" in line
    assert "breaks the model contract: predict_shapes: raised RuntimeError" in line, line
    # The smoke check's one step ran the epoch hooks once; the trainer, which starts
    # after the run folder exists, never did.
    assert (world.root / "epochs.txt").read_text().split() == ["1"] and not run.exists()


def test_a_predict_wrong_only_on_the_runs_batches_fails_the_model(cli, world: World) -> None:
    # The smoke check scores its whole sample at once: the evaluator's per-batch check
    # catches what only some batch sizes break.
    config, run = bad_config(world, {"Bad": {"mode": "wide_in_batches_of_7"}},
                             evaluation={"batch_size": 7})
    before = world.fingerprint()
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2
    assert re.fullmatch(r"Error: models\.Bad: Bad \(from hostile_models\w*\) breaks the "
                        r"model contract: full predict has shape \(7, 21\), expected \(7, 20\)",
                        line), line
    data = results(run)
    assert data["status"] == "failed"
    pop, bad = data["models"]
    assert pop["status"] == "ok" and bad["status"] == "failed" and "contract" in bad["error"]
    assert leftovers(run) == [] and world.fingerprint(skip=run) == before


def test_a_wrong_sampled_predict_is_caught(cli, world: World) -> None:
    config, run = bad_config(world, {"Bad": {"mode": "sampled_wide"}},
                             evaluation={"strategy": "sampled", "num_negatives": 5})
    result = cli("run", config, "-o", run, "-q")
    assert result.code == 2 and "sampled predict has shape" in result.error_line()


def test_minus_infinity_scores_are_allowed(cli, world: World) -> None:
    config, run = bad_config(world, {"Bad": {"mode": "neginf"}})
    result = cli("run", config, "-o", run, "-q")
    assert result.code == 0, result.err
    assert results(run)["status"] == "complete"


def test_a_good_model_of_the_same_module_runs(cli, world: World) -> None:
    config, run = bad_config(world, {"Bad": {"mode": "ok"}})
    assert cli("run", config, "-o", run, "-q").code == 0


@pytest.mark.parametrize(("kind", "size"), [("torch", 10**30), ("numpy", 10**17),
                                            ("memory", 1)])
def test_a_failed_allocation_is_one_line_naming_model_and_params(cli, world: World, kind: str,
                                                                  size: int) -> None:
    config, run = bad_config(world, {"Greedy": {"kind": kind, "size": size}})
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2, line
    assert "models.Greedy: building Greedy with {" in line and f"size={size}" in line
    assert "needs more memory than there is" in line and len(line) < 600
    assert results(run)["models"][1]["status"] == "failed"


def test_a_bug_in_a_model_is_unexpected_but_recorded(cli, world: World) -> None:
    config, run = bad_config(world, {"Greedy": {"kind": "bug"}})
    result = cli("run", config, "-o", run, "-q")
    assert result.code == 1 and "unexpected RuntimeError: a bug in the model" in result.err
    data = results(run)
    assert data["status"] == "failed" and data["models"][0]["status"] == "ok"


def test_nan_metrics_fail_the_model(cli, world: World, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    import torch
    from warprec.evaluation.metrics import accuracy

    # A per-user metric that comes out NaN (as scores or ratings overflowing would make it).
    monkeypatch.setattr(accuracy.nDCG, "user_values", lambda self, batch: torch.full(
        (len(batch.users),), float("nan"), dtype=torch.float64, device=batch.users.device))
    config, run = bad_config(world, {})
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2 and "models.Pop: test nDCG@5 is NaN over" in line, line
    assert "cannot be trusted" in line
    data = results(run)
    assert data["status"] == "failed" and data["models"][0]["status"] == "failed"
