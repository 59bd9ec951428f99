"""The new models' declared hyperparameter domains reject out-of-range values.

Needs the core's annotation-aware validation (``warprec.recommenders.hyperparameters``);
skipped on a core that predates it.
"""

from __future__ import annotations

import pytest
from classic_helpers import info_of, interactions_of, random_ratings
from warprec.errors import ConfigError
from warprec_models_classic.als import iALS, iALS2008
from warprec_models_classic.knn import ItemKNNTD, UserKNNTD
from warprec_models_classic.sansa import SANSA
from warprec_models_classic.slim import ADMMSlim, Slim

pytest.importorskip("warprec.recommenders.hyperparameters")


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (iALS, "factors", 0),
        (iALS, "alpha0", -1.0),
        (iALS2008, "epsilon", 0.0),
        (iALS2008, "confidence_type", "square"),
        (Slim, "l1", 1.5),
        (ADMMSlim, "rho", 0.0),
        (SANSA, "target_density", 0.0),
        (SANSA, "target_density", 2.0),
        (ItemKNNTD, "beta", 0.0),
        (UserKNNTD, "beta", -0.5),
    ],
)
def test_out_of_domain_values_are_config_errors(cls, name, value):
    X = random_ratings(20, 10, 0.3, seed=0)
    with pytest.raises(ConfigError, match=name):
        cls({name: value}, info_of(X), interactions_of(X))
