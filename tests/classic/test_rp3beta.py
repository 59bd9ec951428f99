"""RP3beta against a dense implementation of the three-step walk."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from classic_helpers import info_of, interactions_of, random_ratings
from warprec.errors import ConfigError
from warprec.testing import ModelChecker
from warprec.testing.params_checks import draws
from warprec_models_classic.rp3beta import RP3beta, rp3beta_similarity


def reference_rp3beta(X: np.ndarray, k: int, alpha: float, beta: float) -> np.ndarray:
    """Dense RP3beta weights, top-k per row by a plain loop."""
    binary = (X != 0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        user_to_item = np.nan_to_num(X / X.sum(axis=1, keepdims=True)) ** alpha
        item_to_user = np.nan_to_num(binary.T / binary.T.sum(axis=1, keepdims=True)) ** alpha
        popularity = binary.sum(axis=0)
        penalty = np.where(popularity > 0, popularity**-beta, 0.0)
    W = item_to_user @ user_to_item * penalty[None, :]
    np.fill_diagonal(W, 0.0)
    out = np.zeros_like(W)
    for row in range(W.shape[0]):
        best = np.argsort(-W[row], kind="stable")[:k]
        best = best[W[row, best] != 0]
        out[row, best] = W[row, best]
    return out


@pytest.fixture(scope="module")
def ratings() -> sp.csr_matrix:
    X = random_ratings(150, 50, 0.1, seed=2).tolil()
    X[:, 7] = 0  # an item nobody interacted with
    X = X.tocsr()
    X.eliminate_zeros()
    return X


@pytest.mark.parametrize(("alpha", "beta", "k"), [(1.0, 0.6, 10), (0.7, 0.0, 5), (1.3, 1.0, 100)])
def test_weights_equal_the_reference(ratings, alpha, beta, k):
    W = rp3beta_similarity(ratings, k, alpha, beta).toarray()
    expected = reference_rp3beta(ratings.toarray().astype(np.float64), k, alpha, beta)
    np.testing.assert_allclose(W, expected, rtol=1e-5, atol=1e-9)
    assert not W[:, 7].any() and not W[7].any()


def test_normalized_rows_sum_to_one(ratings):
    W = rp3beta_similarity(ratings, 10, normalize=True)
    sums = np.asarray(W.sum(axis=1)).ravel()
    np.testing.assert_allclose(sums[sums != 0], 1.0, rtol=1e-5)


def test_model_scores_and_sampled_predict(ratings):
    model = RP3beta({"k": 10, "beta": 0.5, "normalize": False}, info_of(ratings),
                    interactions_of(ratings, True))
    X = ratings.toarray().astype(np.float64)
    users = torch.arange(ratings.shape[0])
    expected = X @ reference_rp3beta(X, 10, 1.0, 0.5)
    np.testing.assert_allclose(model.predict(users).numpy(), expected, rtol=1e-5, atol=1e-7)
    items = torch.randint(0, ratings.shape[1], (ratings.shape[0], 4))
    np.testing.assert_array_equal(
        model.predict(users, item_indices=items).numpy(),
        model.predict(users).gather(1, items).numpy(),
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, r"\.k: got 0 \(int\); expected a number >= 1"),
        ({"alpha": 0.0}, r"\.alpha: got 0.0 \(float\); expected a number > 0$"),
        ({"beta": "x"}, "beta"),
        ({"beta": -0.5}, r"\.beta: got -0.5 \(float\); expected a number >= 0"),
    ],
)
def test_bad_params_are_config_errors(ratings, params, message):
    with pytest.raises(ConfigError, match=message):
        RP3beta(params, info_of(ratings), interactions_of(ratings))


def test_every_draw_of_the_kit_scores_finite():
    """The conformance kit draws each domain's low end (and mixtures): every accepted draw
    builds without a numeric warning and scores finite numbers on the kit's data."""
    checker = ModelChecker(RP3beta)
    tried = []
    for trial in draws(RP3beta, {}):
        try:
            RP3beta.validate_params(trial)
        except ValueError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            scores = checker.build(trial).predict(checker.users())
        assert torch.isfinite(scores).all(), trial
        tried.append(trial)
    assert any(trial.get("beta") == 0.0 for trial in tried)  # the domain's low end
