"""SANSA: the FSAI factor against a dense inverse, the EASE limit, and sparsity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from classic_helpers import info_of, interactions_of, random_ratings
from warprec.errors import ConfigError
from warprec_models_classic import sansa
from warprec_models_classic.ease import ease_weights
from warprec_models_classic.sansa import SANSA, fsai_factor, sansa_factors


@pytest.fixture(scope="module")
def ratings() -> sp.csr_matrix:
    X = random_ratings(150, 40, 0.4, seed=0)
    # Every pair of items co-occurs: the full pattern is then the whole lower triangle.
    assert (X.T @ X).nnz == 40 * 40
    return X


def test_full_pattern_fsai_is_the_exact_inverse(ratings, monkeypatch):
    monkeypatch.setattr(sansa, "_CHUNK_ENTRIES", 200)  # many small batches
    A = (ratings.T @ ratings).astype(np.float64) + 5.0 * sp.identity(40)
    G, order = fsai_factor(A, 40)
    assert sp.tril(G).nnz == G.nnz  # lower triangular
    dense = A.toarray()[order][:, order]
    np.testing.assert_allclose((G.T @ G).toarray(), np.linalg.inv(dense), rtol=1e-8, atol=1e-10)


def test_sparse_pattern_keeps_m_entries_per_row_and_unit_diagonal(ratings):
    A = (ratings.T @ ratings).astype(np.float64) + 5.0 * sp.identity(40)
    G, order = fsai_factor(A, 4)
    assert np.diff(G.indptr).max() <= 4
    product = G @ A.toarray()[order][:, order] @ G.T
    np.testing.assert_allclose(np.diag(product), 1.0, rtol=1e-8)


def test_full_density_scores_equal_ease(ratings):
    encoder, decoder = sansa_factors(ratings, 20.0, 1.0)
    B = np.eye(40) - (encoder @ decoder).toarray()
    np.testing.assert_allclose(B, ease_weights(ratings, 20.0, "float64"), atol=1e-5)


def test_model_predicts_like_its_factors_and_ranks_close_to_ease(ratings):
    model = SANSA({"l2": 20.0, "target_density": 0.25}, info_of(ratings),
                  interactions_of(ratings, explicit=True))
    assert model.encoder.nnz <= 10 * 40  # m = 10 entries per item
    users = torch.arange(20)
    scores = model.predict(users).numpy()
    x = ratings[:20].toarray()
    B = np.eye(40) - (model.encoder @ model.decoder).toarray()
    np.testing.assert_allclose(scores, x @ B, rtol=1e-4, atol=1e-5)
    exact = (x @ ease_weights(ratings, 20.0, "float64")).ravel()
    # A denser factor is closer to EASE (0.59, 0.81, 0.96 at densities 0.1, 0.25, 0.75).
    correlations = []
    for density in (0.1, 0.25, 0.75):
        encoder, decoder = sansa_factors(ratings, 20.0, density)
        approximate = x - ((ratings[:20] @ encoder) @ decoder).toarray()
        correlations.append(np.corrcoef(approximate.ravel(), exact)[0, 1])
    assert correlations[0] < correlations[1] < correlations[2]
    assert correlations[2] > 0.9


def test_bad_diagonal_is_a_config_error():
    A = sp.csr_matrix(np.diag([1.0, 0.0, 2.0]))
    with pytest.raises(ConfigError, match="l2"):
        fsai_factor(A, 2)
