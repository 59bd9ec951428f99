"""Slim and ADMMSlim: zero diagonals, the feature restriction, and ADMM's EASE limit."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from classic_helpers import info_of, interactions_of, random_ratings
from sklearn.linear_model import ElasticNet
from warprec_models_classic.ease import ease_weights
from warprec_models_classic.slim import ADMMSlim, Slim, admm_slim_weights, slim_weights


def test_slim_weights_equal_a_fit_on_every_other_column():
    X = random_ratings(80, 25, 0.1, seed=0)
    W = slim_weights(X, alpha=0.01, l1_ratio=0.2, max_iter=1000, tol=1e-10, workers=2).toarray()
    assert np.all(np.diag(W) == 0) and np.all(W >= 0)
    dense = X.toarray().astype(np.float64)
    for j in (0, 7, 19):
        others = np.delete(np.arange(25), j)
        model = ElasticNet(alpha=0.01, l1_ratio=0.2, positive=True, fit_intercept=False,
                           max_iter=1000, tol=1e-10)
        model.fit(dense[:, others], dense[:, j])
        np.testing.assert_allclose(W[others, j], model.coef_, atol=1e-5)


def test_slim_model_scores_rows_times_weights():
    X = random_ratings(50, 20, 0.15, seed=1)
    model = Slim({"alpha": 0.01}, info_of(X), interactions_of(X, explicit=True))
    W = model.item_similarity.toarray()
    assert np.all(np.diag(W) == 0) and W.any()
    import torch

    scores = model.predict(torch.arange(5)).numpy()
    np.testing.assert_allclose(scores, X[:5].toarray() @ W, rtol=1e-5, atol=1e-6)


def test_admm_without_l1_converges_to_ease():
    X = random_ratings(120, 30, 0.15, seed=2)
    C = admm_slim_weights(X, lambda_1=0.0, lambda_2=20.0, alpha=0.0, rho=50.0,
                          iterations=300, positive_only=False)
    np.testing.assert_allclose(C, ease_weights(X, 20.0, "float64"), atol=2e-4)


def test_admm_l1_and_positivity_make_sparse_non_negative_weights():
    X = random_ratings(120, 30, 0.15, seed=3)
    dense = admm_slim_weights(X, 0.0, 20.0, 0.0, 50.0, 50, positive_only=False)
    sparse = admm_slim_weights(X, 5.0, 20.0, 0.0, 50.0, 50, positive_only=True)
    assert (sparse >= 0).all() and np.all(np.diag(sparse) == 0)
    assert (sparse != 0).sum() < 0.7 * (dense != 0).sum()


def test_admm_centred_columns_use_the_centred_gram():
    X = random_ratings(60, 12, 0.3, seed=4)
    centred = X.toarray() - X.toarray().mean(axis=0)
    C = admm_slim_weights(sp.csr_matrix(centred + 0.0), 0.0, 5.0, 0.0, 20.0, 300,
                          positive_only=False)
    D = admm_slim_weights(X, 0.0, 5.0, 0.0, 20.0, 300, positive_only=False,
                          center_columns=True)
    # Centring a centred matrix changes nothing: both solve the same problem.
    np.testing.assert_allclose(C, D, atol=1e-3)


def test_admm_model_keeps_a_zero_diagonal():
    X = random_ratings(60, 15, 0.2, seed=5)
    model = ADMMSlim({"it": 5}, info_of(X), interactions_of(X))
    assert np.all(np.diag(model.item_similarity) == 0)
