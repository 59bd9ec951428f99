"""The feature-reading models (AttributeItemKNN, AttributeUserKNN, CEASE, AddEASE, VSM)
against dense reference code written from WarpRec's definitions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from classic_helpers import info_of, interactions_of
from warprec.errors import DataError
from warprec_models_classic.ease import EASE
from warprec_models_classic.hybrid import CEASE, AddEASE, AttributeItemKNN, AttributeUserKNN
from warprec_models_classic.vsm import VSM

N_USERS, N_ITEMS, N_FEATURES = 30, 20, 6


def problem(seed: int = 0):
    """Binary interactions and continuous features (no ties between similarities)."""
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix((rng.random((N_USERS, N_ITEMS)) < 0.25).astype(np.float32))
    F = (rng.random((N_ITEMS, N_FEATURES)) * (rng.random((N_ITEMS, N_FEATURES)) < 0.6))
    F[:, 0] += 0.1  # every item has a feature
    interactions = interactions_of(X)
    interactions.item_features = sp.csr_matrix(F.astype(np.float32))
    return X.toarray().astype(np.float64), F.astype(np.float32).astype(np.float64), interactions


def scores(model) -> np.ndarray:
    return model.predict(torch.arange(N_USERS)).numpy()


def cosine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(A, axis=1, keepdims=True)
    nb = np.linalg.norm(B, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num((A / na) @ (B / nb).T)


def keep_topk(S: np.ndarray, k: int) -> np.ndarray:
    kept = np.zeros_like(S)
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    np.put_along_axis(kept, top, np.take_along_axis(S, top, axis=1), axis=1)
    return kept


def ease(G: np.ndarray, l2: float) -> np.ndarray:
    P = np.linalg.inv(G + l2 * np.eye(len(G)))
    B = P / -np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def tfidf(P: np.ndarray, normalize_tf: bool) -> np.ndarray:
    idf = np.log((len(P) + 1) / ((P != 0).sum(axis=0) + 1)) + 1
    if normalize_tf:
        sums = P.sum(axis=1, keepdims=True)
        P = P / np.where(sums == 0, 1, sums)
    W = P * idf
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return W / np.where(norms == 0, 1, norms)


def test_attribute_item_knn_keeps_each_items_k_most_similar_items_by_features():
    X, F, interactions = problem()
    model = AttributeItemKNN({"k": 4}, info_of(X), interactions)
    expected = X @ keep_topk(cosine(F, F), 4)
    np.testing.assert_allclose(scores(model), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("profile", ["binary", "tfidf"])
def test_attribute_user_knn_compares_users_by_the_features_of_their_items(profile):
    X, F, interactions = problem(1)
    model = AttributeUserKNN({"k": 5, "user_profile": profile}, info_of(X), interactions)
    P = X @ F
    if profile == "tfidf":
        P = tfidf(P, normalize_tf=True)
    expected = keep_topk(cosine(P, P), 5) @ X
    np.testing.assert_allclose(scores(model), expected, rtol=1e-4, atol=1e-5)


def test_cease_is_ease_on_the_interactions_stacked_over_the_weighted_features():
    X, F, interactions = problem(2)
    model = CEASE({"l2": 5.0, "alpha": 0.7, "dtype": "float64"}, info_of(X), interactions)
    expected = X @ ease(X.T @ X + 0.7**2 * F @ F.T, 5.0)
    np.testing.assert_allclose(scores(model), expected, rtol=1e-4, atol=1e-5)


def test_cease_without_features_weight_is_ease():
    X, _, interactions = problem(3)
    cease = CEASE({"l2": 5.0, "alpha": 0.0}, info_of(X), interactions)
    plain = EASE({"l2": 5.0}, info_of(X), interactions)
    np.testing.assert_allclose(scores(cease), scores(plain), rtol=1e-5, atol=1e-6)


def test_addease_weighs_the_collaborative_and_the_feature_solutions():
    X, F, interactions = problem(4)
    model = AddEASE({"l2": 5.0, "alpha": 0.3, "dtype": "float64"}, info_of(X), interactions)
    expected = X @ (0.3 * ease(X.T @ X, 5.0) + 0.7 * ease(F @ F.T, 5.0))
    np.testing.assert_allclose(scores(model), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("user_profile", "item_profile"), [("binary", "binary"),
                                                            ("tfidf", "tfidf")])
def test_vsm_scores_the_similarity_of_user_and_item_profiles(user_profile, item_profile):
    X, F, interactions = problem(5)
    model = VSM({"user_profile": user_profile, "item_profile": item_profile}, info_of(X),
                interactions)
    items = tfidf(F, normalize_tf=False) if item_profile == "tfidf" else F
    users = X @ items
    if user_profile == "tfidf":
        users = tfidf(users, normalize_tf=True)
    np.testing.assert_allclose(scores(model), cosine(users, items), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_class", [AttributeItemKNN, AttributeUserKNN, CEASE, AddEASE,
                                         VSM])
def test_a_model_given_no_item_features_says_so(model_class):
    X, _, _ = problem()
    with pytest.raises(DataError, match=f"{model_class.__name__}: .*no item features.*"
                                        "reader.side"):
        model_class({}, info_of(X), interactions_of(sp.csr_matrix(X)))
