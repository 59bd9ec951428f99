"""Every model of the two official plugins passes the conformance kit (tiny data, few
epochs): the same checks third-party plugins run in their own tests."""

from __future__ import annotations

import pytest
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.testing import check_model, toy_dataset
from warprec.utils.registry import model_registry
from warprec_models_classic.plugin import MODELS as CLASSIC
from warprec_models_neural.plugin import MODELS as NEURAL

OFFICIAL = [("warprec-models-classic", n) for n in CLASSIC] + [
    ("warprec-models-neural", n) for n in NEURAL
]


@pytest.fixture(scope="module")
def dataset():
    return toy_dataset()


@pytest.mark.parametrize(("plugin", "name"), OFFICIAL, ids=[n for _, n in OFFICIAL])
def test_official_model_keeps_the_model_contract(dataset, plugin: str, name: str) -> None:
    model_class = model_registry.get_class(f"{plugin}:{name}")
    params = {"epochs": 2} if issubclass(model_class, IterativeRecommender) else {}
    report = check_model(model_class, params, dataset=dataset)
    applicable = {"train_step_loss", "loss_decreases"} if params else set()
    assert applicable <= {r.name for r in report.with_status("passed")}, str(report)
