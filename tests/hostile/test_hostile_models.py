"""Models that misbehave at run time: a wrong ``predict`` is caught on the first batch
(the model failed, its reason in the conformance kit's words, the others kept), NaN
results are never reported as complete, a failed allocation is one line."""

from __future__ import annotations

import re

import pytest
from hostile_helpers import World, leftovers, results

BAD = """
from typing import Annotated, Any, Literal

import numpy as np
import torch
from annotated_types import Ge, Le

from warprec.recommenders.base_recommender import Recommender
from warprec.utils.registry import model_registry


@model_registry.register(name="Bad")
class Bad(Recommender):
    mode: Literal["ok", "wide", "short", "transposed", "int", "nan", "list", "neginf",
                  "nan_metric", "sampled_wide"] = "ok"

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        n, b = self.n_items, len(user_indices)
        scores = torch.rand(b, n, generator=torch.Generator().manual_seed(0))
        if self.mode == "wide":
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
def test_a_wrong_predict_fails_the_model_with_the_contract_words(cli, world: World,
                                                                 mode: str) -> None:
    config, run = bad_config(world, {"Bad": {"mode": mode}},
                             evaluation={"batch_size": 64})
    before = world.fingerprint()
    result = cli("run", config, "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2
    assert re.fullmatch(r"Error: models\.Bad: Bad \(from hostile_models\w*\) breaks the "
                        r"model contract: " + WRONG[mode], line), line
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
