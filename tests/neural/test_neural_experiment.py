"""Every neural model runs from a config through the experiment runner, found through
the plugin's lazy entry point."""

from __future__ import annotations

import torch
from warprec import run_experiment
from warprec.recommenders.base_recommender import Recommender
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


def test_context_aware_models_run_without_reader_side_and_restore(tmp_path):
    # As in WarpRec, the side file only adds fields: without it the fields are the user
    # and the item. Each model's checkpoint is rebuilt without training data and scores
    # as the trained model did.
    config = _side_config(tmp_path, with_side=False)
    config["models"] = {name: {**block, "meta": {"save_model": True}}
                        for name, block in config["models"].items()}
    results = run_experiment(config, tmp_path / "run", quiet=True)
    assert {entry["model"] for entry in results.models} == set(CONTEXT_AWARE)
    for entry in results.models:
        assert entry["status"] == "ok", (entry["model"], entry["error"])
        restored = Recommender.load(tmp_path / "run" / entry["checkpoint"])
        assert restored.reads_item_features and not restored.needs_item_features
        scores = restored.predict(torch.arange(3))
        assert scores.shape == (3, restored.n_items) and torch.isfinite(scores).all()


