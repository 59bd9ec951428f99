"""Every neural model runs from a config through the experiment runner, found through
the plugin's lazy entry point."""

from __future__ import annotations

import pytest
from warprec import run_experiment
from warprec.errors import ConfigError
from warprec.testing.data import toy_frame, toy_item_features
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


CONTEXT_AWARE = ["FM", "NFM", "AFM", "DeepFM", "WideAndDeep", "DCN", "DCNv2", "xDeepFM"]


def _side_config(tmp_path, with_side: bool = True) -> dict:
    toy_frame().to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    toy_item_features().to_csv(tmp_path / "items.tsv", sep="\t", index=False)
    reader = {"local_path": str(tmp_path / "data.tsv"), "sep": "\t",
              "rating_type": "implicit"}
    if with_side:
        reader["side"] = {"local_path": str(tmp_path / "items.tsv"), "sep": "\t"}
    return {
        "reader": reader,
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": {name: {"epochs": 2, "embedding_size": 8, "batch_size": 64}
                   for name in CONTEXT_AWARE},
        "evaluation": {"top_k": [10], "metrics": ["nDCG"]},
    }


def test_context_aware_models_run_from_a_config_with_item_features(tmp_path):
    results = run_experiment(_side_config(tmp_path), tmp_path / "run", quiet=True)
    entries = {entry["model"]: entry for entry in results.models}
    assert set(entries) == set(CONTEXT_AWARE)
    for name, entry in entries.items():
        assert entry["status"] == "ok", (name, entry["error"])
        assert 0.0 <= entry["test"]["nDCG@10"] <= 1.0


def test_context_aware_models_without_reader_side_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"reader\.side"):
        run_experiment(_side_config(tmp_path, with_side=False), tmp_path / "run", quiet=True)
