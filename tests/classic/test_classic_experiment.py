"""Every classic model runs from a config through the experiment runner."""

from __future__ import annotations

from warprec import run_experiment
from warprec_models_classic.plugin import MODELS

NEW_MODELS = ("iALS", "iALS2008", "Slim", "ADMMSlim", "SANSA", "ItemKNNTD", "UserKNNTD")


def test_all_models_run_from_a_config(tmp_path):
    config = {
        "reader": {
            "dataset": "synthetic",
            "dataset_params": {"n_users": 200, "n_items": 100, "n_interactions": 4000},
        },
        "splitter": {
            "test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
            "validation_splitting": {"strategy": "random_holdout", "ratio": 0.1},
        },
        "models": {
            "EASE": {"l2": [10.0, 100.0]},
            "ItemKNN": {"k": 20, "similarity": "jaccard"},
            "UserKNN": {"k": 20, "shrink": 2.0},
            "RP3beta": {"k": 20, "beta": 0.3},
            "Pop": {},
            "Random": {},
        },
        "evaluation": {"top_k": [10], "metrics": ["nDCG"], "validation_metric": "nDCG@10"},
    }
    results = run_experiment(config, tmp_path / "run", quiet=True)
    assert {entry["model"] for entry in results.models} == set(config["models"])
    assert all(entry["status"] == "ok" for entry in results.models)
    ndcg = {entry["model"]: entry["test"]["nDCG@10"] for entry in results.models}
    for name in ("EASE", "ItemKNN", "UserKNN", "RP3beta"):
        assert ndcg[name] > ndcg["Pop"] > ndcg["Random"], ndcg


def test_new_models_run_from_a_config_with_their_defaults(tmp_path):
    config = {
        "reader": {
            "dataset": "synthetic",
            "dataset_params": {"n_users": 150, "n_items": 60, "n_interactions": 2500},
        },
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": {name: {} for name in (*NEW_MODELS, "Random")},
        "evaluation": {"top_k": [10], "metrics": ["nDCG"]},
    }
    results = run_experiment(config, tmp_path / "run", quiet=True)
    assert all(entry["status"] == "ok" for entry in results.models), results.models
    assert set(NEW_MODELS) <= set(MODELS)  # registered by the plugin
    ndcg = {entry["model"]: entry["test"]["nDCG@10"] for entry in results.models}
    for name in NEW_MODELS:
        # Tuned on MovieLens-100K, the defaults need not beat Pop on 60 items, but each
        # learns: well above chance.
        assert ndcg[name] > 2 * ndcg["Random"], ndcg
