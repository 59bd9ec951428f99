"""Every neural model runs from a config through the experiment runner, found through
the plugin's lazy entry point."""

from __future__ import annotations

from warprec import run_experiment
from warprec.utils.registry import model_registry
from warprec_models_neural.plugin import MODELS


def test_models_are_registered_lazily_by_the_plugin():
    names = {name.lower() for name in model_registry.names()}
    assert {name.lower() for name in MODELS} <= names
    for name in MODELS:
        assert model_registry.get_class(name).__name__ == name


def test_all_models_run_from_a_config_with_early_stopping(tmp_path):
    config = {
        "reader": {
            "dataset": "synthetic",
            "dataset_params": {"n_users": 120, "n_items": 60, "n_interactions": 2400},
        },
        "splitter": {
            "test_splitting": {"strategy": "temporal_holdout", "ratio": 0.2},
            "validation_splitting": {"strategy": "temporal_holdout", "ratio": 0.1},
        },
        "models": {
            "BPR": {"epochs": 20, "batch_size": 256,
                    "early_stopping": {"monitor": "score", "patience": 2}},
            "MultVAE": {"epochs": 4, "hidden_dims": [32], "latent_dim": 8},
            "LightGCN": {"epochs": 3, "embedding_size": 16, "n_layers": 2},
            "SASRec": {"epochs": 3, "max_seq_len": 10, "embedding_size": 16, "n_layers": 1},
        },
        "evaluation": {"top_k": [10], "metrics": ["nDCG"], "validation_metric": "nDCG@10"},
    }
    results = run_experiment(config, tmp_path / "run", quiet=True)
    entries = {entry["model"]: entry for entry in results.models}
    assert set(entries) == set(config["models"])
    for name, entry in entries.items():
        assert entry["status"] == "ok", (name, entry["error"])
        assert 0.0 <= entry["test"]["nDCG@10"] <= 1.0
