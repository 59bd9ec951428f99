"""EASE: the in-place Cholesky kernel against a generic inverse, and the guide's MyEASE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from classic_helpers import info_of, interactions_of, random_ratings
from warprec.custom_modules import import_custom_modules
from warprec.errors import ConfigError
from warprec.evaluation import Evaluator
from warprec.utils.registry import model_registry
from warprec_models_classic import ease
from warprec_models_classic.ease import EASE, ease_weights, gram_upper

# The guide's code verbatim lives once, in the example script that configs load.
GUIDE_SCRIPT = Path(__file__).parents[2] / "examples" / "custom_modules" / "my_models.py"
(GUIDE_MODULE,) = import_custom_modules([GUIDE_SCRIPT.name], GUIDE_SCRIPT.parent)
MyEASE = model_registry.get_class(f"{GUIDE_MODULE}:MyEASE")


def reference_weights(X: sp.spmatrix, l2: float) -> np.ndarray:
    """EASE weights with a float64 generic inverse."""
    X = X.astype(np.float64)
    G = (X.T @ X).toarray() + l2 * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = P / -np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


@pytest.fixture(scope="module")
def ratings() -> sp.csr_matrix:
    return random_ratings(200, 70, 0.1, seed=0)


def test_gram_upper_blocks_equal_the_sparse_product(ratings, monkeypatch):
    monkeypatch.setattr(ease, "_BLOCK_BYTES", 12 * 70 * 8)  # 8 rows per block
    G = gram_upper(ratings)
    assert G.dtype == np.float32 and G.flags.c_contiguous
    np.testing.assert_allclose(np.triu(G), np.triu((ratings.T @ ratings).toarray()), rtol=1e-6)


def test_fill_lower_from_upper_mirrors_every_block():
    A = np.arange(49, dtype=np.float64).reshape(7, 7)
    ease._fill_lower_from_upper(A, block=3)
    upper = np.triu(np.arange(49, dtype=np.float64).reshape(7, 7))
    np.testing.assert_array_equal(A, upper + np.triu(upper, 1).T)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("float64", 1e-12)])
def test_weights_equal_a_generic_inverse(ratings, dtype, tolerance):
    B = ease_weights(ratings, 30.0, dtype)
    assert B.dtype == np.dtype(dtype)
    np.testing.assert_allclose(B, reference_weights(ratings, 30.0), atol=tolerance)
    assert np.all(np.diag(B) == 0)


def test_torch_path_equals_the_lapack_path(ratings):
    G = gram_upper(ratings, np.float64)
    G.ravel()[:: G.shape[0] + 1] += 30.0
    ease._fill_lower_from_upper(G)
    B = ease._ease_torch(G, 30.0, torch.device("cpu"))
    assert isinstance(B, torch.Tensor)
    np.testing.assert_allclose(B.numpy(), ease_weights(ratings, 30.0, "float64"), atol=1e-12)


def _with_empty_item(X: sp.csr_matrix) -> sp.csr_matrix:
    X = X.tolil()
    X[:, 5] = 0
    X = X.tocsr()
    X.eliminate_zeros()
    return X


def test_not_positive_definite_suggests_a_larger_l2(ratings):
    X = _with_empty_item(ratings)
    with pytest.raises(ConfigError, match=r"not positive definite.*larger l2"):
        ease_weights(X, 0.0)
    G = gram_upper(X, np.float64)
    ease._fill_lower_from_upper(G)
    with pytest.raises(ConfigError, match="larger l2"):
        ease._ease_torch(G, 0.0, torch.device("cpu"))
    # The same data is fine once regularised.
    assert np.isfinite(ease_weights(X, 1.0)).all()


def test_model_rejects_negative_l2_and_unknown_dtype(ratings):
    interactions = interactions_of(ratings, explicit=True)
    expected = r"^EASE\.l2: got -1.0 \(float\); expected a number >= 0$"
    with pytest.raises(ConfigError, match=expected):
        EASE({"l2": -1.0}, info_of(ratings), interactions)
    with pytest.raises(ConfigError, match="dtype"):
        EASE({"dtype": "float16"}, info_of(ratings), interactions)


def test_model_scores_equal_the_reference(ratings):
    interactions = interactions_of(ratings, explicit=True)
    model = EASE({"l2": 30.0}, info_of(ratings), interactions)
    assert model.get_params() == {"l2": 30.0, "dtype": "float32"}
    users = torch.arange(ratings.shape[0])
    expected = ratings.toarray().astype(np.float64) @ reference_weights(ratings, 30.0)
    np.testing.assert_allclose(model.predict(users).numpy(), expected, atol=1e-4)
    items = torch.randint(0, ratings.shape[1], (ratings.shape[0], 9))
    sampled = model.predict(users, item_indices=items)
    np.testing.assert_array_equal(sampled.numpy(), model.predict(users).gather(1, items).numpy())


@pytest.mark.parametrize("strategy", ["full", "sampled"])
def test_metrics_equal_the_guide_myease(small_dataset, strategy):
    info, train = small_dataset.info(), small_dataset.train
    ours = EASE({"l2": 50.0}, info, train)
    guide = MyEASE({"l2": 50.0}, info, train)
    users = torch.arange(small_dataset.n_users)
    np.testing.assert_allclose(ours.predict(users), guide.predict(users), atol=1e-4)
    evaluator = Evaluator(["nDCG", "Recall", "MRR"], top_k=[5, 10], strategy=strategy)
    mine = evaluator.evaluate(ours, small_dataset, split="test").summary()
    theirs = evaluator.evaluate(guide, small_dataset, split="test").summary()
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        assert mine[key] == pytest.approx(value, abs=1e-4), key
