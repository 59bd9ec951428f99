"""Real processes: termination signals end a run like Ctrl-C (finished models kept, the
running one marked interrupted, results.json final, exit 128 + signal), and of two runs
started on one --output exactly one proceeds."""

from __future__ import annotations

import os
import signal

import pytest
from hostile_helpers import SIGNALS, World, finish, leftovers, results, spawn, wait_for

SLEEPY = """
import time
from pathlib import Path
from typing import Annotated, Any

import torch
from annotated_types import Ge, Le
from torch import nn

from warprec.recommenders.base_recommender import IterativeRecommender, Recommender
from warprec.utils.registry import model_registry


@model_registry.register(name="Sleepy")
class Sleepy(Recommender):
    marker: str = ""
    seconds: Annotated[float, Ge(0), Le(120)] = 0.0

    def __init__(self, params: dict, info: dict, *args: Any, **kwargs: Any) -> None:
        super().__init__(params, info, *args, **kwargs)
        if self.marker:
            Path(self.marker).write_text("building")
        time.sleep(self.seconds)

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        scores = torch.rand(len(user_indices), self.n_items)
        return scores if item_indices is None else scores.gather(1, item_indices)


@model_registry.register(name="SleepyTrainer")
class SleepyTrainer(IterativeRecommender):
    marker: str = ""
    batch_size: Annotated[int, Ge(1), Le(8)] = 1
    epochs: Annotated[int, Ge(1), Le(8)] = 1
    learning_rate: Annotated[float, Ge(0), Le(1)] = 0.1

    def __init__(self, params: dict, info: dict, *args: Any, **kwargs: Any) -> None:
        super().__init__(params, info, *args, **kwargs)
        self.w = nn.Parameter(torch.ones(self.n_items))

    def get_dataloader(self, interactions, sessions, **kwargs):
        return [torch.zeros(1)] * 3

    def train_step(self, batch, *args, **kwargs):
        Path(self.marker).write_text("training")
        time.sleep(60)
        return (self.w ** 2).sum()

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        scores = self.w.detach().expand(len(user_indices), -1).clone()
        return scores if item_indices is None else scores.gather(1, item_indices)
"""


def _sleepy_config(world: World, model: dict) -> tuple:
    module = world.module(SLEEPY)
    # The models sleep where they build and train: so would the smoke check before the run.
    for block in model.values():
        block["meta"] = {"smoke_check": False}
    config = world.config({"Pop": {}, **model}, general={"custom_modules": [module]})
    return config, world.root / "run"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_signal_keeps_finished_models_and_marks_the_running_one(world: World,
                                                                  name: str) -> None:
    marker = world.root / "building"
    config, run = _sleepy_config(world, {"Sleepy": {"marker": str(marker), "seconds": 60}})
    before = world.fingerprint()
    process = spawn(["run", config, "-o", run, "-q"], world.root)
    wait_for(marker, process)
    process.send_signal(SIGNALS[name])
    outcome = finish(process)
    signum = int(SIGNALS[name])
    assert outcome.code == 128 + signum, outcome.err
    assert outcome.err.splitlines()[-1].startswith("Aborted (")
    assert "Traceback" not in outcome.err
    data = results(run)
    assert data["status"] == "interrupted"
    pop, sleepy = data["models"]
    assert pop["status"] == "ok" and pop["test"]["nDCG@5"] > 0
    reason = "Ctrl-C" if name == "SIGINT" else name
    assert sleepy["status"] == "interrupted" and reason in sleepy["error"]
    assert "Pop\t" in (run / "results.tsv").read_text()
    assert leftovers(run) == []
    assert world.fingerprint(skip=run) == {**before, "building": world.fingerprint()[
        "building"]}


def test_sigterm_during_training_is_recorded(world: World) -> None:
    marker = world.root / "training"
    config, run = _sleepy_config(world, {"SleepyTrainer": {"marker": str(marker)}})
    process = spawn(["run", config, "-o", run, "-q"], world.root)
    wait_for(marker, process)
    process.send_signal(signal.SIGTERM)
    outcome = finish(process)
    assert outcome.code == 143, outcome.err
    data = results(run)
    assert data["status"] == "interrupted"
    assert [m["status"] for m in data["models"]] == ["ok", "interrupted"]
    assert data["models"][1]["error"] == "interrupted by SIGTERM"
    assert leftovers(run) == []


def test_two_runs_on_one_output_exactly_one_proceeds(world: World) -> None:
    config, run = _sleepy_config(world, {"Sleepy": {"seconds": 2}})
    before = world.fingerprint()
    processes = [spawn(["run", config, "-o", run, "-q"], world.root) for _ in range(2)]
    outcomes = sorted((finish(p) for p in processes), key=lambda o: o.code)
    assert [o.code for o in outcomes] == [0, 2], [o.err for o in outcomes]
    line = outcomes[1].error_line()
    assert "--output" in line and ("another warprec run" in line or "not an empty" in line)
    data = results(run)
    assert data["status"] == "complete" and [m["model"] for m in data["models"]] == [
        "Pop", "Sleepy"]
    assert leftovers(run) == []
    assert world.fingerprint(skip=run) == before


def test_signals_are_restored_after_a_run(world: World, cli) -> None:
    handlers = {s: signal.getsignal(s) for s in SIGNALS.values()}
    assert cli("run", world.config(), "-o", world.root / "run", "-q").code == 0
    assert {s: signal.getsignal(s) for s in SIGNALS.values()} == handlers
    assert os.environ.get("WARPREC_STRICT_PLUGINS") is None
