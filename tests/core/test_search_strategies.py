"""WarpRec's searches on Ray Tune: searchers (hopt, optuna, bohb), schedulers (asha, bohb,
median) stopping trials from per-epoch reports, trial resources; the plan's checks of
them (missing extras, WarpRec's refused combinations) without running anything.

The Ray tests share one Ray session (module fixture) and run 2-3 trials of 3 epochs."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warprec import run_experiment
from warprec.config import load_config
from warprec.config.search_space import to_tune
from warprec.errors import ConfigError
from warprec.experiment import check_config
from warprec.experiment import plan as plan_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BPR = "my_models:MyBPR"  # the guide's BPR, qualified: other tests may register its name
ASHA = {"max_t": 3, "grace_period": 1, "reduction_factor": 2}


def tiny(script: str, **models: Any) -> dict[str, Any]:
    return {
        # Enough users for a learning rate's effect to show after one epoch.
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 200, "n_items": 60, "n_interactions": 3000}},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
                     "validation_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": models,
        "evaluation": {"top_k": [5], "metrics": ["nDCG", "Recall"]},
        "general": {"custom_modules": [script]},  # imported by each Ray worker
    }


def bpr(learning_rate: Any, **optimization: Any) -> dict[str, Any]:
    return {"embedding_size": 8, "batch_size": 128, "epochs": 3,
            "learning_rate": learning_rate, "optimization": optimization}


@pytest.fixture
def guide(fresh_plugins: None) -> Iterator[str]:
    """The guide's MyEASE/MyBPR script, imported afresh (see test_experiment.py)."""
    script = str(EXAMPLES / "custom_modules" / "my_models.py")
    imported = sys.modules.pop("my_models", None)
    yield script
    sys.modules.pop("my_models", None)
    if imported is not None:
        sys.modules["my_models"] = imported


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray for the module's runs (its start-up is most of their time)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield
    if started:
        ray.shutdown()


def needs(*modules: str) -> Any:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"optional extra absent: {missing}")


def run(config: dict[str, Any], out: Path) -> dict[str, Any]:
    run_experiment(copy.deepcopy(config), out, quiet=True)
    return json.loads((out / "results.json").read_text())


# --- the plan: no Ray run ---------------------------------------------------------------

@needs("ray", "hyperopt", "optuna", "hpbandster", "ConfigSpace")
def test_warprec_style_searches_pass_config_check(guide: str) -> None:
    models = {
        BPR: {"embedding_size": [8, 16, 32], "batch_size": ["grid", 256, 512], "epochs": 50,
              "learning_rate": ["loguniform", 1e-4, 1e-1],
              "optimization": {"strategy": "hopt", "scheduler": "asha", "num_samples": 60,
                               "cpu_per_trial": 2,
                               "properties": {"mode": "max", "time_attr": "completed_epochs",
                                              "max_t": 50, "grace_period": 5,
                                              "reduction_factor": 3, "n_startup_trials": 10}}},
        "my_models:MyEASE": {"l2": ["uniform", 1, 500],
                             "optimization": {"strategy": "optuna", "num_samples": 40}},
    }
    plan = check_config(tiny(guide, **models))
    searched = plan.models[BPR]
    assert searched.ray and searched.searched and len(searched.trials) == 60
    assert {t["embedding_size"] for t in searched.trials} <= {8, 16, 32}
    assert all(1e-4 <= t["learning_rate"] <= 1e-1 for t in searched.trials)
    assert f"models.{BPR}.batch_size: [grid, ...] is sampled as [choice, ...] by strategy " \
           "'hopt'" in "\n".join(plan.warnings)
    bohb = bpr(["uniform", 1e-3, 0.1], strategy="bohb", scheduler="bohb", num_samples=30,
               properties={"max_t": 50, "reduction_factor": 3})
    assert check_config(tiny(guide, **{BPR: bohb})).models[BPR].ray


@pytest.mark.parametrize(("optimization", "expected"), [
    ({"strategy": "hopt", "scheduler": "bohb", "properties": {"max_t": 3,
                                                              "reduction_factor": 2}},
     r"optimization\.scheduler: 'bohb' given with strategy 'hopt'; expected strategy: bohb"),
    ({"strategy": "hopt", "scheduler": "asha", "properties": {"max_t": 3, "grace_period": 1}},
     r"optimization\.properties\.reduction_factor: missing; the 'asha' scheduler needs "
     r"max_t, grace_period, reduction_factor"),
    ({"scheduler": "median"}, r"optimization\.properties\.grace_period: missing"),
    ({"scheduler": "asha", "properties": {**ASHA, "grace_period": 5}},
     r"properties\.grace_period: got 5; expected a number <= properties\.max_t \(3\)"),
    ({"scheduler": "asha", "properties": {**ASHA, "time_attr": "epochs"}},
     r"properties\.time_attr: got 'epochs' \(str\); expected one of 'completed_epochs'"),
    ({"strategy": "hopt", "gpu_per_trial": 1.5},
     r"optimization\.gpu_per_trial: got 1\.5; expected a share in \(0, 1\] or a whole"),
    ({"scheduler": "pbt"}, r"optimization\.scheduler: 'pbt' is not supported"),
])
def test_warprec_refused_combinations(guide: str, optimization: dict[str, Any],
                                      expected: str) -> None:
    config = tiny(guide, **{BPR: bpr(["uniform", 0.01, 0.1], **optimization)})
    with pytest.raises(ConfigError, match=expected):
        check_config(config)


def test_a_searcher_without_its_extra_names_the_extra(guide: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(plan_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "hpbandster" else real(name, *a))
    config = tiny(guide, **{BPR: bpr(["uniform", 0.01, 0.1], strategy="bohb")})
    with pytest.raises(ConfigError) as caught:
        check_config(config)
    assert str(caught.value) == (f"models.{BPR}.optimization.strategy: 'bohb' needs "
                                 "hpbandster, not installed; pip install 'warprec-core[bohb]'")


@needs("ray", "hyperopt", "optuna")
def test_the_plan_checks_a_searched_space(guide: str) -> None:
    # The whole range lies in the domain (learning_rate > 0), as for random search.
    config = tiny(guide, **{BPR: bpr(["uniform", -1, 1], strategy="hopt", num_samples=4)})
    with pytest.raises(ConfigError, match=rf"models\.{BPR}\.learning_rate: .*a bound of the "
                                          r"distribution \['uniform', -1, 1\]"):
        check_config(config)
    # A distribution the library cannot sample is named before anything runs.
    config = tiny(guide, **{BPR: bpr(["qloguniform", 1e-4, 1e-1, 1e-4], strategy="optuna",
                                     num_samples=4)})
    with pytest.raises(ConfigError, match=rf"models\.{BPR}\.learning_rate: strategy 'optuna' "
                                          r"cannot sample \['qloguniform'"):
        check_config(config)
    # A backend set to local contradicts a search that runs on Ray Tune.
    config = tiny(guide, **{BPR: bpr(["uniform", 0.01, 0.1], strategy="hopt")})
    config["general"]["backend"] = "local"
    with pytest.raises(ConfigError, match=rf"models\.{BPR}\.optimization\.strategy: 'hopt' "
                                          r"runs on Ray Tune but general\.backend is 'local'"):
        check_config(config)


def test_warprec_search_properties_are_keys_not_warnings() -> None:
    config = {"reader": {"dataset": "synthetic"},
              "models": {"EASE": {"l2": [1.0, 5.0], "optimization": {
                  "scheduler": "median", "cpu_per_trial": 2, "gpu_per_trial": 0.5,
                  "properties": {"grace_period": 2, "min_samples_required": 3,
                                 "hard_stop": False, "desired_training_it": "median"}}}}}
    loaded = load_config(config)
    opt = loaded.model.models["EASE"].optimization
    assert (opt.cpu_per_trial, opt.gpu_per_trial) == (2, 0.5)
    assert (opt.properties.grace_period, opt.properties.hard_stop) == (2, False)
    assert loaded.warnings == ["models.EASE.optimization.properties.desired_training_it: "
                               "WarpRec key not used by this version, ignored"]


@needs("ray")
def test_search_space_translates_to_ray_tune() -> None:
    from ray.tune.search import sample

    space = to_tune({"a": ["uniform", 0, 1], "b": ["loguniform", 1e-4, 1e-1],
                     "c": ["choice", "x", "y"], "d": [8, 16], "e": ["grid", 1, 2],
                     "f": ["qrandint", 2, 10, 2], "g": 5, "h": [[64, 32], [16]],
                     "i": [64, 32]}, list_params={"h", "i"})
    assert isinstance(space["a"], sample.Float) and (space["a"].lower, space["a"].upper) == (0, 1)
    assert isinstance(space["b"].get_sampler(), sample.LogUniform)
    assert [s.categories for s in (space["c"], space["d"], space["e"], space["h"])] == [
        ["x", "y"], [8, 16], [1, 2], [[64, 32], [16]]]
    assert isinstance(space["f"], sample.Integer) and space["f"].get_sampler().q == 2
    assert space["g"] == 5 and space["i"] == [64, 32]


def test_trainer_reports_each_validation(guide: str) -> None:
    from warprec.experiment.build import build_evaluator
    from warprec.experiment.data import load_data
    from warprec.recommenders.trainer import Trainer
    from warprec.utils.registry import model_registry

    config = load_config(tiny(guide, **{BPR: bpr(0.1)}))
    data = load_data(config)
    cls = model_registry.get_class(BPR)
    params = {k: v for k, v in bpr(0.1).items() if k != "optimization"}
    model = cls(cls.validate_params(params), data.main.info(), seed=1)
    seen: list[tuple[int, list[str]]] = []
    # Monitoring the loss, the trainer still scores validation for the hook every epoch.
    history = Trainer(model, data.main, build_evaluator(config.model.evaluation),
                      monitor="loss", progress=False,
                      on_evaluation=lambda epoch, s: seen.append((epoch, sorted(s)))).fit()
    assert seen == [(epoch, ["Recall@5", "nDCG@5"]) for epoch in (1, 2, 3)]
    assert history.monitor == "loss" and len(history.validation) == 3


# --- runs on Ray Tune -------------------------------------------------------------------

@needs("ray")
def test_asha_stops_a_bad_trial_early(ray_session: None, guide: str, tmp_path: Path) -> None:
    # One trial at a time (2 CPUs each): the good learning rate reaches ASHA's first rung
    # first, and the bad one (barely training) falls below it after one epoch.
    model = bpr([0.3, 1e-6], scheduler="asha", cpu_per_trial=2, properties=ASHA)
    entry = run(tiny(guide, **{BPR: model}), tmp_path / "asha")["models"][0]
    good, bad = entry["trials"]
    assert (good["status"], good["params"]["learning_rate"]) == ("complete", 0.3)
    assert bad["status"] == "stopped" and bad["epochs"] == 1 and bad["best_epoch"] == 1
    assert bad["validation"]["nDCG@5"] < good["validation"]["nDCG@5"]
    assert entry["params"]["learning_rate"] == 0.3 and entry["status"] == "ok"
    log = (tmp_path / "asha" / "run.log").read_text()
    assert "stopped by the scheduler after 1 epochs" in log


@needs("ray", "hyperopt")
def test_hopt_with_asha_runs_as_warprec_writes_it(ray_session: None, guide: str,
                                                  tmp_path: Path) -> None:
    model = bpr(["loguniform", 1e-3, 0.5], strategy="hopt", scheduler="asha", num_samples=3,
                properties={**ASHA, "n_startup_trials": 2})
    model["embedding_size"] = [4, 8]  # a plain list: a choice for a searcher
    entry = run(tiny(guide, **{BPR: model}), tmp_path / "hopt")["models"][0]
    assert entry["status"] == "ok" and len(entry["trials"]) == 3
    for trial in entry["trials"]:
        assert 1e-3 <= trial["params"]["learning_rate"] <= 0.5
        assert trial["params"]["embedding_size"] in (4, 8) and trial["params"]["epochs"] == 3
        assert trial["status"] in ("complete", "stopped") and "nDCG@5" in trial["validation"]
    complete = [t for t in entry["trials"] if t["status"] == "complete"]
    assert complete  # ASHA lets the first trial at each rung through
    best = max(entry["trials"], key=lambda t: t["validation"]["nDCG@5"])
    assert entry["params"] == best["params"]


@needs("ray", "optuna", "hpbandster", "ConfigSpace")
def test_optuna_and_bohb_run(ray_session: None, guide: str, tmp_path: Path) -> None:
    models = {"my_models:MyEASE": {"l2": ["loguniform", 1, 100],
                                   "optimization": {"strategy": "optuna", "num_samples": 2}},
              BPR: bpr(["uniform", 0.01, 0.3], strategy="bohb", scheduler="bohb",
                       num_samples=2, properties={"max_t": 2, "reduction_factor": 2})}
    models[BPR]["epochs"] = 2  # HyperBand pauses and restarts trials: kept short
    results = run(tiny(guide, **models), tmp_path / "two")
    ease, bohb = results["models"]
    assert [m["status"] for m in (ease, bohb)] == ["ok", "ok"]
    assert len(ease["trials"]) == 2 and all(1 <= t["params"]["l2"] <= 100
                                            for t in ease["trials"])
    assert len(bohb["trials"]) == 2
    assert all(0.01 <= t["params"]["learning_rate"] <= 0.3 for t in bohb["trials"])
