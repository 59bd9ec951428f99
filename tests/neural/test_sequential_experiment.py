"""Each sequential model runs from a config with its defaults (one epoch, to stay fast),
under temporal leave-one-out, found through the plugin's lazy entry point."""

from __future__ import annotations

import pytest
from warprec import run_experiment

SEQUENTIAL = ["SASRec", "gSASRec", "BERT4Rec", "GRU4Rec", "Caser"]


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_runs_from_a_config_with_its_defaults(tmp_path, name):
    config = {
        "reader": {
            "dataset": "synthetic",
            "dataset_params": {"n_users": 60, "n_items": 40, "n_interactions": 900},
        },
        "splitter": {
            "test_splitting": {"strategy": "temporal_leave_k_out", "k": 1},
            "validation_splitting": {"strategy": "temporal_leave_k_out", "k": 1},
        },
        "models": {name: {"epochs": 1}},
        "evaluation": {"top_k": [10], "metrics": ["nDCG"], "validation_metric": "nDCG@10"},
    }
    results = run_experiment(config, tmp_path / "run", quiet=True)
    (entry,) = results.models
    assert entry["status"] == "ok", entry["error"]
    assert entry["params"]["epochs"] == 1
    assert 0.0 <= entry["test"]["nDCG@10"] <= 1.0
