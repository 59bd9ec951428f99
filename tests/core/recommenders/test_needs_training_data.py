"""Whether the runner passes the training data to a model's constructor: the
``needs_training_data`` class attribute, and the deprecated guess from the signature."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import (
    ItemSimRecommender,
    IterativeRecommender,
    Recommender,
    hyperparameters,
    needs_interactions,
)
from warprec.testing import check_model, toy_dataset
from warprec.utils.registry import model_registry
from warprec_models_classic.baselines import Pop, Random
from warprec_models_classic.knn import UserKNN

try:
    from warprec.custom_modules import import_custom_modules
except ImportError:  # before the config rewrite, the importer lived in warprec.config
    from warprec.config import import_custom_modules  # type: ignore[no-redef]

GUIDE_SCRIPT = Path(__file__).parents[3] / "examples" / "custom_modules" / "my_models.py"


class Popularity(Recommender):
    """A plain Recommender that states it needs the data and keeps its state in a buffer."""

    needs_training_data = True

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        counts = torch.as_tensor(interactions.get_sparse().sum(axis=0), dtype=torch.float32)
        self.register_buffer("popularity", counts.reshape(-1))

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        scores = self.popularity.expand(len(user_indices), -1)
        return scores if item_indices is None else scores.gather(1, item_indices)


class Unstated(Recommender):
    """Takes the data positionally but does not say so."""

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        return torch.zeros(len(user_indices), self.n_items)


class OptionalData(Unstated):
    """``interactions=None``: the runner passes nothing."""

    def __init__(self, params: dict, info: dict, interactions: Any = None, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)


class StatedFalse(Unstated):
    """The attribute wins over the signature."""

    needs_training_data = False


def no_warning(cls: type) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return needs_interactions(cls)


def test_the_base_classes_state_it() -> None:
    assert Recommender.needs_training_data is False
    assert ItemSimRecommender.needs_training_data is True
    assert IterativeRecommender.needs_training_data is False


def test_a_stated_attribute_is_read_without_a_warning() -> None:
    assert no_warning(Popularity) is True
    assert no_warning(StatedFalse) is False
    assert no_warning(OptionalData) is False


def test_it_is_not_a_hyperparameter() -> None:
    assert "needs_training_data" not in hyperparameters(Popularity)
    assert "needs_training_data" not in hyperparameters(ItemSimRecommender)
    with pytest.raises(ConfigError, match="needs_training_data"):
        Popularity({"needs_training_data": False}, {"n_users": 2, "n_items": 3},
                   toy_dataset().train)


def test_guessing_from_the_signature_still_works_but_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match=r"\.Unstated: .*declare "
                                                r"'needs_training_data = True'"):
        assert needs_interactions(Unstated) is True


def test_a_subclass_inherits_the_statement() -> None:
    class Smoothed(Popularity):
        def __init__(self, params: dict, info: dict, interactions: Any, *args: Any,
                     seed: int = 42, **kwargs: Any) -> None:
            super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
            self.popularity += 1.0

    assert no_warning(Smoothed) is True


def test_official_and_guide_models_need_no_guess() -> None:
    (module,) = import_custom_modules([GUIDE_SCRIPT.name], GUIDE_SCRIPT.parent)
    guide = {n: model_registry.get_class(f"{module}:{n}") for n in ("MyEASE", "MyBPR")}
    assert no_warning(guide["MyEASE"]) is True
    assert no_warning(guide["MyBPR"]) is False
    assert no_warning(Pop) is True
    assert no_warning(UserKNN) is True
    assert no_warning(Random) is False


def test_a_stated_plain_model_keeps_the_contract_and_loads_without_data() -> None:
    report = check_model(Popularity, {}, dataset=toy_dataset())
    assert "save_load" in {r.name for r in report.with_status("passed")}, str(report)
