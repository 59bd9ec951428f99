"""ItemKNN / UserKNN and the blockwise top-k product against dense reference code."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from classic_helpers import info_of, interactions_of, random_ratings
from warprec.errors import ConfigError
from warprec_models_classic._topk import topk_product
from warprec_models_classic.knn import ItemKNN, UserKNN, knn_similarity


def reference_similarity(A: np.ndarray, similarity: str, shrink: float, alpha: float) -> np.ndarray:
    """Dense similarity between the rows of ``A`` (row = target), diagonal zero."""
    if similarity == "jaccard":
        A = (A != 0).astype(np.float64)
    dot = A @ A.T
    squared = (A * A).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if similarity == "jaccard":
            S = dot / (squared[:, None] + squared[None, :] - dot + shrink)
        else:
            a = 0.5 if similarity == "cosine" else alpha
            S = dot / (squared[:, None] ** a * squared[None, :] ** (1 - a) + shrink)
    S = np.nan_to_num(S)
    np.fill_diagonal(S, 0.0)
    return S


def reference_topk(S: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest non-zero entries of each row, one row at a time."""
    out = np.zeros_like(S)
    for row in range(S.shape[0]):
        best = np.argsort(-S[row], kind="stable")[:k]
        best = best[S[row, best] != 0]
        out[row, best] = S[row, best]
    return out


@pytest.fixture(scope="module")
def ratings() -> sp.csr_matrix:
    return random_ratings(120, 60, 0.12, seed=1)


@pytest.mark.parametrize("similarity", ["cosine", "jaccard", "asymmetric"])
@pytest.mark.parametrize("k", [1, 7, 100])
def test_similarity_keeps_the_reference_top_k(ratings, similarity, k):
    A = ratings.T.tocsr()  # items x users
    W = knn_similarity(A, k, similarity, shrink=3.0, asymmetric_alpha=0.2).toarray()
    S = reference_similarity(A.toarray().astype(np.float64), similarity, 3.0, 0.2)
    expected = reference_topk(S, k)
    assert np.all((W != 0).sum(axis=1) == (expected != 0).sum(axis=1))
    # Every kept entry is the true similarity, and the kept values are the top ones
    # (jaccard has ties on binary data, so which tied neighbour is kept may differ).
    kept = W != 0
    np.testing.assert_allclose(W[kept], S[kept], rtol=1e-5)
    np.testing.assert_allclose(np.sort(W, axis=1), np.sort(expected, axis=1), rtol=1e-5)


def test_topk_product_is_the_same_in_small_blocks(ratings):
    left, right = ratings.T.tocsr(), ratings.tocsr()
    whole = topk_product(left, right, 5).toarray()
    blocks = topk_product(left, right, 5, block_bytes=4 * 60 * 7).toarray()
    np.testing.assert_array_equal(whole, blocks)
    dense = (left @ right).toarray()
    np.fill_diagonal(dense, 0.0)
    np.testing.assert_allclose(whole, reference_topk(dense, 5), rtol=1e-6)


def test_topk_product_ranks_negative_values_correctly():
    left = sp.csr_matrix(np.array([[1.0, -2.0, -3.0, -0.5, 0.0]], dtype=np.float32))
    right = sp.identity(5, format="csr", dtype=np.float32)
    kept = topk_product(left, right, 2, exclude_diagonal=False).toarray()
    np.testing.assert_array_equal(kept, [[1.0, 0.0, 0.0, -0.5, 0.0]])


def test_item_knn_scores_equal_the_reference(ratings):
    model = ItemKNN({"k": 10, "shrink": 1.0, "similarity": "cosine"}, info_of(ratings),
                    interactions_of(ratings, True))
    X = ratings.toarray().astype(np.float64)
    # neighbours of target j in row j; score(u, j) = sum_i x_ui s(j, i)
    S = reference_topk(reference_similarity(X.T, "cosine", 1.0, 0.5), 10)
    users = torch.arange(ratings.shape[0])
    np.testing.assert_allclose(model.predict(users).numpy(), X @ S.T, rtol=1e-5, atol=1e-6)
    items = torch.randint(0, ratings.shape[1], (ratings.shape[0], 5))
    np.testing.assert_array_equal(
        model.predict(users, item_indices=items).numpy(),
        model.predict(users).gather(1, items).numpy(),
    )


def test_user_knn_scores_equal_the_reference(ratings):
    params = {"k": 8, "similarity": "asymmetric", "asymmetric_alpha": 0.7}
    model = UserKNN(params, info_of(ratings), interactions_of(ratings, True))
    X = ratings.toarray().astype(np.float64)
    S = reference_topk(reference_similarity(X, "asymmetric", 0.0, 0.7), 8)
    users = torch.tensor([0, 5, 17, 99])
    expected = S[users.numpy()] @ X
    np.testing.assert_allclose(model.predict(users).numpy(), expected, rtol=1e-5, atol=1e-6)
    items = torch.randint(0, ratings.shape[1], (4, 6))
    sampled = model.predict(users, item_indices=items).numpy()
    np.testing.assert_allclose(
        sampled, np.take_along_axis(expected, items.numpy(), 1), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, r"\.k: got 0 \(int\); expected a number >= 1"),
        ({"shrink": -1.0}, r"\.shrink: got -1.0 \(float\); expected a number >= 0$"),
        (
            {"asymmetric_alpha": 1.5},
            r"\.asymmetric_alpha: got 1.5 \(float\); expected a number <= 1$",
        ),
        ({"similarity": "pearson"}, "similarity"),
    ],
)
def test_bad_params_are_config_errors(ratings, model_class, params, message):
    with pytest.raises(ConfigError, match=message):
        model_class(params, info_of(ratings), interactions_of(ratings))


def test_kernel_rejects_an_unknown_similarity(ratings):
    with pytest.raises(ConfigError, match="unknown value 'pearson'"):
        knn_similarity(ratings, 5, "pearson")
