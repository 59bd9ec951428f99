"""The contract smoke check: the kit's checks on a sample of the run's data, run before
a model that is not official trains (``warprec run`` and ``config check --data``)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import kit_models as km
import numpy as np
import pytest
import torch
from warprec.errors import ConfigError, ModelError
from warprec.experiment import check_config
from warprec.testing import ConformanceError, toy_dataset
from warprec.testing.conformance import CheckSkipped
from warprec.testing.smoke import data_sample, smoke_check

DATA = toy_dataset()


class CountsSteps(km.GoodBPR):
    """Asks for a million epochs; counts the training steps it is given."""

    epochs = 10**6

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps = 0

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.steps += 1
        return super().train_step(batch)


class CrashesInPredict(km.GoodEASE):
    def predict(self, user_indices: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise IndexError("index 32 is out of bounds")


class RefusesSmallData(km.GoodEASE):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError("factors: 50 is more than the 32 items")


def test_the_sample_keeps_ids_feedback_and_time_and_leaves_unseen_items() -> None:
    data = toy_dataset(n_users=200, n_items=160, per_user=30, explicit=True)
    sample = data_sample(data, users=20, items=40)
    assert sample.n_users == 20 and sample.n_items <= 40
    assert not sample.implicit and sample.train.timestamps is not None
    popularity = np.bincount(data.train.items, minlength=data.n_items)
    top = set(data.item_ids[np.argsort(-popularity, kind="stable")[:40]].tolist())
    assert set(sample.item_ids.tolist()) <= top
    # Every row of the sample is a training row of the data (original ids, same rating).
    rows = data.train.get_sparse()
    users = data.user_index(sample.user_ids[sample.train.users])
    items = data.item_index(sample.item_ids[sample.train.items])
    assert np.array_equal(np.asarray(rows[users, items]).ravel(), sample.train.ratings)
    seen = np.diff(sample.train.get_sparse().indptr)
    assert seen.min() >= 1 and seen.max() <= 20  # at most half of the 40 items
    again = data_sample(data, users=20, items=40)
    assert np.array_equal(again.user_ids, sample.user_ids)


@pytest.mark.parametrize("model", [km.GoodEASE, km.GoodBPR])
def test_models_keeping_the_contract_pass(model: type) -> None:
    smoke_check(model, {}, data_sample(DATA))


@pytest.mark.parametrize(("model", "message"), [
    (km.WrongFullShape, r"^predict_shapes: full predict has shape \(\d+, 31\), expected "
                        r"\(\d+, 32\)$"),
    (km.VectorLoss, r"^train_step_loss: train_step returned a tensor of shape \(64,\)"),
    (km.IgnoresExclude, r"^topk_masks_seen: recommend returned \d+ seen items$"),
    (CrashesInPredict, r"^predict_shapes: raised IndexError: index 32 is out of bounds$"),
])
def test_a_broken_rule_is_the_kits_message(model: type, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        smoke_check(model, {}, data_sample(DATA))


def test_an_iterative_model_is_trained_one_step_not_its_epochs(monkeypatch) -> None:
    built: list[CountsSteps] = []
    monkeypatch.setattr(CountsSteps, "on_epoch_end", lambda self, epoch: built.append(self))
    smoke_check(CountsSteps, {}, data_sample(DATA))
    [model] = built
    assert model.steps == 1


def test_a_model_that_cannot_be_built_on_the_sample_is_skipped() -> None:
    with pytest.raises(CheckSkipped, match="RefusesSmallData cannot be built on the sample: "
                                           "raised ConfigError: factors: 50 is more"):
        smoke_check(RefusesSmallData, {}, data_sample(DATA))


def custom_config(tmp_path: Path, source: str, model: str) -> dict[str, Any]:
    (tmp_path / "mine.py").write_text(textwrap.dedent(source))
    return {"reader": {"dataset": "synthetic",
                       "dataset_params": {"n_users": 40, "n_items": 30, "n_interactions": 400}},
            "general": {"custom_modules": [str(tmp_path / "mine.py")]},
            "evaluation": {"top_k": [5], "metrics": ["nDCG"]}, "models": {model: {}}}


SHORT = """
import torch
from warprec.recommenders.base_recommender import Recommender
from warprec.utils.registry import model_registry


@model_registry.register(name="Short")
class Short(Recommender):
    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        return torch.zeros(len(user_indices), self.n_items - 1)
"""


def test_config_check_with_data_runs_the_smoke_check(tmp_path: Path,
                                                      fresh_plugins: None) -> None:
    config = custom_config(tmp_path, SHORT, "Short")
    check_config(config)  # without the data, nothing to check it on
    # A module name another test imported already gets a suffix (mine_<hash>).
    with pytest.raises(ModelError, match=r"^models\.Short: Short \(from mine(_\d+)?\) breaks the "
                       r"model contract: predict_shapes: full predict has shape \(\d+, 29\), "
                       r"expected \(\d+, 30\) \(the contract smoke check on a sample of the "
                       r"data, before training; "):
        check_config(config, read_data=True)
    config["models"]["Short"]["meta"] = {"smoke_check": False}
    check_config(config, read_data=True)


def test_official_models_skip_it(tmp_path: Path, fresh_plugins: None,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from warprec.testing import smoke

    checked: list[str] = []
    monkeypatch.setattr(smoke, "smoke_check", lambda cls, *a, **k: checked.append(cls.__name__))
    config = custom_config(tmp_path, SHORT, "Short")
    config["models"] = {"EASE": {}, "Short": {}, "Pop": {}}
    check_config(config, read_data=True)
    assert checked == ["Short"]
