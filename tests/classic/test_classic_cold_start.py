"""Item cold start (``item_cold_start``) from a config: the held-out items stay in the
catalogue, are ranked with the others, and only the models that read item features
reach them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from classic_helpers import interactions_of
from warprec import run_experiment
from warprec.testing.data import toy_frame, toy_item_features
from warprec_models_classic.ease import EASE
from warprec_models_classic.hybrid import CEASE, AddEASE, AttributeItemKNN, AttributeUserKNN
from warprec_models_classic.vsm import VSM

FEATURE_MODELS = {"AttributeItemKNN": AttributeItemKNN, "VSM": VSM, "CEASE": CEASE,
                  "AddEASE": AddEASE}


def _config(tmp_path) -> dict:
    toy_frame(n_users=96, n_items=48).to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    toy_item_features(n_items=48).to_csv(tmp_path / "items.tsv", sep="\t", index=False)
    return {
        "reader": {"local_path": str(tmp_path / "data.tsv"), "sep": "\t",
                   "rating_type": "implicit",
                   "side": {"local_path": str(tmp_path / "items.tsv"), "sep": "\t"}},
        "splitter": {"test_splitting": {"strategy": "item_cold_start", "ratio": 0.25,
                                        "seed": 3}},
        # AddEASE's default alpha (0.9) ranks every cold item below the warm ones (the
        # classic README's side-information section says why); 0.5 lets features count.
        "models": {"AttributeItemKNN": {}, "VSM": {}, "CEASE": {}, "AddEASE": {"alpha": 0.1},
                   "Pop": {}},
        "evaluation": {"top_k": [10], "metrics": ["nDCG", "Recall"]},
        "writer": {"save_split": True},
    }


def test_item_cold_start_ranks_the_held_out_items_and_feature_models_reach_them(tmp_path):
    results = run_experiment(_config(tmp_path), tmp_path / "run", quiet=True)
    data = results.data["data"]
    # All 48 items in the catalogue, 12 of them held out; no test row dropped as cold.
    assert data["n_items"] == 48 and data["cold_start"] == {"cold_items": 12}
    assert "test_cold_rows" not in data["dropped"]
    assert data["test"] == len(toy_frame(n_users=96, n_items=48)) - data["train"]
    # The written split keeps the held-out items' rows (WarpRec's save_split does too).
    written = pd.read_csv(results.path / "split" / "test.tsv", sep="\t")
    assert len(written) == data["test"] and written["item_id"].nunique() == 12
    recall = {entry["model"]: entry["test"]["Recall@10"] for entry in results.models}
    assert recall["Pop"] == 0.0  # held-out items have no popularity: ranked last
    assert all(recall[name] > recall["Pop"] for name in FEATURE_MODELS), recall
    # The content models rank by features alone, warm and cold items alike.
    assert min(recall["AttributeItemKNN"], recall["VSM"], recall["AddEASE"]) > 0.5, recall


def _problem():
    """Users 0-3 like items 0-2 (feature 0), users 4-7 items 3-5 (feature 1); items 6
    (feature 0) and 7 (feature 1) are cold: no training interaction."""
    X = np.zeros((8, 8), dtype=np.float32)
    X[:4, :3] = 1
    X[4:, 3:6] = 1
    F = np.zeros((8, 2), dtype=np.float32)
    F[[0, 1, 2, 6], 0] = 1
    F[[3, 4, 5, 7], 1] = 1
    interactions = interactions_of(sp.csr_matrix(X))
    interactions.item_features = sp.csr_matrix(F)
    return interactions


def _cold_scores(model) -> np.ndarray:
    return model.predict(torch.arange(8)).numpy()[:, [6, 7]]


def test_each_feature_model_scores_a_cold_item_from_its_features():
    interactions = _problem()
    info = {"n_users": 8, "n_items": 8}
    for name, cls in FEATURE_MODELS.items():
        scores = _cold_scores(cls({}, info, interactions))
        # Each group prefers the cold item that shares its items' feature.
        assert (scores[:4, 0] > scores[:4, 1]).all(), (name, scores)
        assert (scores[4:, 1] > scores[4:, 0]).all(), (name, scores)


def test_models_without_item_side_features_score_a_cold_item_zero():
    interactions = _problem()
    info = {"n_users": 8, "n_items": 8}
    for cls in (EASE, AttributeUserKNN):
        assert not _cold_scores(cls({}, info, interactions)).any(), cls.__name__
