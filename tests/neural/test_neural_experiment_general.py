"""NeuMF, MultiDAE, CDAE, NGCF and SimGCL run from a config with their defaults (only
``epochs`` lowered), found through the plugin's lazy entry point, and ``warprec models
list`` shows their hyperparameters."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from warprec import run_experiment
from warprec.recommenders.base_recommender import hyperparameters
from warprec.utils.registry import model_registry

GENERAL = ["NeuMF", "MultiDAE", "CDAE", "NGCF", "SimGCL"]


@pytest.mark.parametrize("name", GENERAL)
def test_runs_from_a_config_with_its_defaults(tmp_path, name):
    config = {
        "reader": {
            "dataset": "synthetic",
            "dataset_params": {"n_users": 80, "n_items": 40, "n_interactions": 1200},
        },
        "splitter": {
            "test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
            "validation_splitting": {"strategy": "random_holdout", "ratio": 0.1},
        },
        "models": {name: {"epochs": 2}},
        "evaluation": {"top_k": [10], "metrics": ["nDCG"], "validation_metric": "nDCG@10"},
    }
    results = run_experiment(config, tmp_path / "run", quiet=True)
    [entry] = results.models
    assert entry["model"] == name
    assert entry["status"] == "ok", entry["error"]
    assert 0.0 < entry["test"]["nDCG@10"] <= 1.0
    # results.json records every effective value: the defaults, and the epochs given.
    from warprec.utils.registry import model_registry

    cls = model_registry.get_class(name)
    assert entry["params"] == json.loads(json.dumps(cls.validate_params({"epochs": 2})))


def test_models_list_shows_them_with_their_hyperparameters(capsys):
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    models = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    for name in GENERAL:
        assert models[name]["source"] == "warprec-models-neural"
        assert models[name]["reference"].startswith("warprec_models_neural.")
        expected = hyperparameters(model_registry.get_class(name))
        assert set(models[name]["params"]) == set(expected)
        assert all(p["doc"] for p in models[name]["params"].values())
    assert models["SimGCL"]["params"]["lambda_"]["default"] == 0.05
