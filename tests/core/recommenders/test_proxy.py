"""ProxyRecommender: another framework's recommendation file, scored by our evaluator."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor
from warprec import run_experiment
from warprec.data.dataset import Dataset
from warprec.errors import ConfigError, DataError
from warprec.evaluation.evaluator import Evaluator
from warprec.io_formats import recommendation_frame, write_table
from warprec.recommenders.base_recommender import Recommender
from warprec.recommenders.proxy import ProxyRecommender
from warprec.utils.registry import model_registry


@pytest.fixture
def dataset() -> Dataset:
    # Users 10, 20, 30 and items 'a'..'e' (string ids: the file's text must match them).
    train = pd.DataFrame({"user_id": [10, 10, 20, 20, 30, 30],
                          "item_id": ["a", "b", "b", "c", "d", "e"]})
    test = pd.DataFrame({"user_id": [10, 20, 30], "item_id": ["c", "e", "a"]})
    return Dataset(train, test)


def _proxy(dataset: Dataset, path: Path, **params: Any) -> ProxyRecommender:
    return ProxyRecommender({"recommendation_file": str(path), **params}, dataset.info())


def test_registered_as_a_core_model() -> None:
    assert model_registry.get_class("ProxyRecommender") is ProxyRecommender


def test_serves_the_files_scores_and_minus_infinity_elsewhere(
    dataset: Dataset, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "recs.tsv"
    path.write_text("user_id\titem_id\trating\n"
                    "10\tc\t0.9\n10\td\t0.0\n"   # a score of 0 is a listed item
                    "20\te\t-1.5\n20\te\t7.0\n"  # a repeated pair keeps its first score
                    "99\ta\t1.0\n30\tzz\t1.0\n30\tyy\t0.5\n")  # unknown user, items
    with caplog.at_level(logging.WARNING, logger="warprec"):
        model = _proxy(dataset, path)
    assert "dropped 3 rows of 1 unknown users and 2 unknown items" in caplog.text
    assert model.dropped == {"unknown_users": 1, "unknown_items": 2, "unknown_rows": 3,
                             "duplicate_rows": 1}
    user, item = dataset.info()["user_mapping"], dataset.info()["item_mapping"]
    scores = model.predict(torch.tensor([user[10], user[20], user[30]]))
    expected = torch.full((3, 5), -torch.inf)
    expected[0, item["c"]], expected[0, item["d"]], expected[1, item["e"]] = 0.9, 0.0, -1.5
    torch.testing.assert_close(scores, expected)
    sampled = model.predict(torch.tensor([user[10]]),
                            item_indices=torch.tensor([[item["d"], item["c"], item["a"]]]))
    torch.testing.assert_close(sampled, torch.tensor([[0.0, 0.9, -torch.inf]]))


def test_reads_our_format_with_rank_and_files_without_header(
    dataset: Dataset, tmp_path: Path
) -> None:
    ours = tmp_path / "ours.csv"
    ours.write_text("user_id,item_id,score,rank\n10,c,0.7,1\n20,e,0.3,1\n")
    bare = tmp_path / "bare.tsv"
    bare.write_text("10\tc\t0.7\t1\n20\te\t0.3\t1\n")
    users = torch.tensor([0, 1])
    first = _proxy(dataset, ours, separator=",").predict(users)
    second = _proxy(dataset, bare, header=False).predict(users)
    torch.testing.assert_close(first, second)
    assert first[0, dataset.info()["item_mapping"]["c"]] == pytest.approx(0.7)


def test_checkpoint_keeps_the_scores_without_the_file(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "recs.tsv"
    path.write_text("user_id\titem_id\trating\n10\tc\t0.9\n30\ta\t0.0\n")
    model = _proxy(dataset, path)
    model.save(tmp_path / "proxy.pt")
    path.unlink()
    loaded = Recommender.load(tmp_path / "proxy.pt")
    users = torch.arange(3)
    torch.testing.assert_close(loaded.predict(users), model.predict(users))
    assert loaded.get_params()["recommendation_file"] == str(path)


def test_bad_files_and_missing_maps(dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        _proxy(dataset, tmp_path / "missing.tsv")
    with pytest.raises(ConfigError, match="recommendation_file"):  # required, no default
        ProxyRecommender({}, dataset.info())
    with pytest.raises(ConfigError, match="lacks 'user_mapping' and 'item_mapping'"):
        ProxyRecommender({"recommendation_file": "x"}, {"n_users": 3, "n_items": 5})


class _Fixed(Recommender):
    """Seeded random scores: a stand-in for another framework's model."""

    def __init__(self, params: dict | None, info: dict, *args: Any, **kwargs: Any) -> None:
        super().__init__(params, info, *args, **kwargs)
        self.table = torch.rand(self.n_users, self.n_items,
                                generator=torch.Generator().manual_seed(3))

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        scores = self.table[user_indices]
        return scores if item_indices is None else scores.gather(1, item_indices)


def test_evaluator_scores_a_written_file_as_the_model_itself(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": rng.integers(0, 30, 600), "item_id": rng.integers(0, 40, 600)})
    frame = frame.drop_duplicates()
    train = frame.sample(frac=0.8, random_state=1)
    dataset = Dataset(train, frame.drop(train.index))
    model = _Fixed(None, dataset.info())
    users = np.arange(dataset.n_users)
    items, scores = model.recommend(users, 10, exclude=dataset.train.get_sparse())
    path = tmp_path / "recs.tsv"
    table = recommendation_frame(dataset.user_ids[users], dataset.item_ids[items.numpy()],
                                 scores.numpy(), rank=True)
    with path.open("w") as handle:
        write_table(handle, table)
    evaluator = Evaluator(["nDCG", "Precision", "Recall", "HitRate", "MRR"], top_k=[5, 10])
    direct = evaluator.evaluate(model, dataset, split="test").summary()
    proxied = evaluator.evaluate(_proxy(dataset, path), dataset, split="test").summary()
    assert proxied == pytest.approx(direct)
    assert direct["nDCG@10"] > 0


def test_runs_in_an_experiment_and_writes_warprecs_format(tmp_path: Path) -> None:
    placeholder = tmp_path / "placeholder.tsv"
    placeholder.write_text("user_id\titem_id\trating\n0\t0\t1.0\n")
    config: dict[str, Any] = {
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 40, "n_items": 30, "n_interactions": 500}},
        "splitter": {"test_splitting": {"strategy": "temporal_holdout", "ratio": 0.2}},
        "models": {"ProxyRecommender": {"recommendation_file": str(placeholder),
                                        "meta": {"save_recs": True}}},
        "evaluation": {"top_k": [5], "metrics": ["Precision"]},
        "writer": {"recommendation": {"k": 2}, "save_split": True},
    }
    run_experiment(copy.deepcopy(config), tmp_path / "a", quiet=True)
    # Another framework's "perfect" file: every user's test items, read from the split.
    test = pd.read_csv(tmp_path / "a" / "split" / "test.tsv", sep="\t")
    test.assign(rating=1.0)[["user_id", "item_id", "rating"]].to_csv(
        tmp_path / "recs.tsv", sep="\t", index=False)
    config["models"]["ProxyRecommender"]["recommendation_file"] = str(tmp_path / "recs.tsv")
    entry = run_experiment(copy.deepcopy(config), tmp_path / "b", quiet=True).models[0]
    per_user = test.groupby("user_id").size()
    assert entry["test"]["Precision@5"] == pytest.approx((per_user.clip(upper=5) / 5).mean())
    written = pd.read_csv(tmp_path / "b" / "recommendations" / "ProxyRecommender.tsv",
                          sep="\t")
    assert list(written.columns) == ["user_id", "item_id", "rating"]  # WarpRec's columns
    assert set(written["user_id"]) == set(per_user.index)
    assert (written["rating"] == 1.0).all()
    config["writer"]["recommendation"]["rank"] = True
    run_experiment(copy.deepcopy(config), tmp_path / "c", quiet=True)
    ranked = pd.read_csv(tmp_path / "c" / "recommendations" / "ProxyRecommender.tsv", sep="\t")
    assert list(ranked.columns) == ["user_id", "item_id", "rating", "rank"]
    assert ranked.groupby("user_id")["rank"].min().eq(1).all()
