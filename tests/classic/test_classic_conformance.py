"""The core's conformance kit on every classic model."""

from __future__ import annotations

from warprec.testing import ModelConformance
from warprec_models_classic.baselines import Pop, Random
from warprec_models_classic.ease import EASE
from warprec_models_classic.knn import ItemKNN, UserKNN
from warprec_models_classic.rp3beta import RP3beta


class TestEASE(ModelConformance):
    model_class = EASE
    params = [{"l2": 10.0}, {"l2": 10.0, "dtype": "float64"}]


class TestItemKNN(ModelConformance):
    model_class = ItemKNN
    params = [{"k": 5}, {"k": 5, "similarity": "jaccard", "shrink": 2.0}]


class TestUserKNN(ModelConformance):
    model_class = UserKNN
    params = [{"k": 5, "similarity": "asymmetric", "asymmetric_alpha": 0.3}]


class TestRP3beta(ModelConformance):
    model_class = RP3beta
    params = [{"k": 5, "alpha": 0.8, "beta": 0.4, "normalize": True}]


class TestPop(ModelConformance):
    model_class = Pop


class TestRandom(ModelConformance):
    model_class = Random
