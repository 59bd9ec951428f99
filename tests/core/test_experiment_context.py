"""A run on data with context columns (WarpRec's test_context.yml layout: pre-split files,
one 0/1 column per context value, sampled evaluation): the contract smoke check, the
training on rows with their contexts and the evaluation of a context-aware model, beside
a model without context (the protocol itself: tests/core/evaluation/test_eval_context.py)."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from warprec import run_experiment
from warprec.testing.data import toy_contexts, toy_frame

MODULE = Path(__file__).parent / "testing" / "context_models.py"


@pytest.fixture
def context_models(fresh_plugins: None) -> Iterator[str]:
    imported = sys.modules.pop("context_models", None)
    yield str(MODULE)
    sys.modules.pop("context_models", None)
    if imported is not None:
        sys.modules["context_models"] = imported


def frappe_like_folder(folder: Path) -> list[str]:
    """train.tsv/test.tsv of the toy data with one-hot daytime columns; the labels."""
    frame = toy_contexts(toy_frame(explicit=True))
    daytime = frame.pop("daytime")
    for value in ("am", "night", "pm"):
        frame[f"daytime_{value}"] = (daytime == value).astype(int)
    labels = ["daytime_am", "daytime_night", "daytime_pm", "weekend"]
    last = frame.groupby("user_id")["timestamp"].transform("max") == frame["timestamp"]
    folder.mkdir()
    for name, part in (("train", frame[~last]), ("test", frame[last])):
        part.drop(columns="timestamp").to_csv(folder / f"{name}.tsv", sep="\t", index=False)
    return labels


def test_a_context_config_runs_a_context_model_beside_a_plain_one(tmp_path: Path,
                                                     context_models: str) -> None:
    labels = frappe_like_folder(tmp_path / "frappe")
    config: dict[str, Any] = {
        "reader": {"loading_strategy": "split", "rating_type": "explicit",
                   "labels": {"context_labels": labels},
                   "split": {"local_path": str(tmp_path / "frappe"), "ext": ".tsv"}},
        "general": {"custom_modules": [context_models]},
        "writer": {"save_split": True},
        "models": {"context_models:TinyContext": {"epochs": 1}, "Pop": {}},
        "evaluation": {"top_k": [5], "metrics": ["HitRate", "nDCG"], "strategy": "sampled",
                       "num_negatives": 9},
    }
    results = run_experiment(copy.deepcopy(config), tmp_path / "run", quiet=True)
    tiny, pop = results.data["models"]
    assert 0.0 <= tiny["test"]["HitRate@5"] <= 1.0 and 0.0 <= pop["test"]["HitRate@5"] <= 1.0
    assert results.data["data"]["train"] > results.data["data"]["test"] > 0
    assert np.isfinite(tiny["test"]["nDCG@5"])
    # The written split keeps the context columns: loading_strategy: split reads it back.
    written = pd.read_csv(tmp_path / "run" / "split" / "train.tsv", sep="\t")
    assert set(labels) <= set(written.columns)
    assert len(written) == results.data["data"]["train"]
