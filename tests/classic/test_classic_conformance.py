"""The core's conformance kit on every classic model."""

from __future__ import annotations

from warprec.testing import ModelConformance
from warprec_models_classic.als import iALS, iALS2008
from warprec_models_classic.baselines import Pop, Random
from warprec_models_classic.ease import EASE
from warprec_models_classic.hybrid import CEASE, AddEASE, AttributeItemKNN, AttributeUserKNN
from warprec_models_classic.knn import ItemKNN, ItemKNNTD, UserKNN, UserKNNTD
from warprec_models_classic.rp3beta import RP3beta
from warprec_models_classic.sansa import SANSA
from warprec_models_classic.slim import ADMMSlim, Slim
from warprec_models_classic.vsm import VSM


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


class TestIALS(ModelConformance):
    model_class = iALS
    params = [{"factors": 8, "n_iterations": 3}]


class TestIALS2008(ModelConformance):
    model_class = iALS2008
    params = [{"factors": 8, "n_iterations": 3, "confidence_type": "log"}]


class TestSlim(ModelConformance):
    model_class = Slim
    params = [{"alpha": 0.01}]


class TestADMMSlim(ModelConformance):
    model_class = ADMMSlim
    params = [{"it": 5}]


class TestSANSA(ModelConformance):
    model_class = SANSA
    params = [{"l2": 5.0, "target_density": 0.2}]


class TestItemKNNTD(ModelConformance):
    model_class = ItemKNNTD
    params = [{"k": 5, "beta": 0.5}]


class TestUserKNNTD(ModelConformance):
    model_class = UserKNNTD
    params = [{"k": 5, "beta": 0.5}]


class TestAttributeItemKNN(ModelConformance):
    model_class = AttributeItemKNN
    params = [{"k": 5}, {"k": 5, "similarity": "euclidean"}]


class TestAttributeUserKNN(ModelConformance):
    model_class = AttributeUserKNN
    params = [{"k": 5}, {"k": 5, "similarity": "dot", "user_profile": "binary"}]


class TestCEASE(ModelConformance):
    model_class = CEASE
    params = [{"l2": 10.0, "alpha": 0.5}]


class TestAddEASE(ModelConformance):
    model_class = AddEASE
    params = [{"l2": 10.0, "alpha": 0.5}]


class TestVSM(ModelConformance):
    model_class = VSM
    params = [{}, {"similarity": "manhattan", "user_profile": "binary", "item_profile": "binary"}]
