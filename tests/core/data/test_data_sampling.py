"""The negative sampler: never a known positive (property-based), distribution, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from warprec.data.sampling import NegativeSampler
from warprec.errors import DataError


@st.composite
def matrices(draw: st.DrawFn) -> sp.csr_matrix:
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(2, 12))
    # Every user keeps at least one item free, or no negative exists for them.
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    for user in range(n_users):
        seen = draw(st.lists(st.integers(0, n_items - 1), max_size=n_items - 1, unique=True))
        dense[user, seen] = 1.0
    return sp.csr_matrix(dense)


@settings(max_examples=60, deadline=None)
@given(
    matrix=matrices(),
    strategy=st.sampled_from(["uniform", "popularity"]),
    seed=st.integers(0, 2**16),
)
def test_no_negative_is_a_known_positive(matrix: sp.csr_matrix, strategy: str, seed: int) -> None:
    sampler = NegativeSampler(matrix, strategy, alpha=1.0)
    rng = np.random.default_rng(seed)
    users = rng.integers(0, matrix.shape[0], size=50)
    negatives = sampler.sample(users, 3, rng)
    assert negatives.shape == (50, 3) and negatives.dtype == np.int64
    assert negatives.min() >= 0 and negatives.max() < matrix.shape[1]
    dense = matrix.toarray()
    assert not dense[users[:, None], negatives].any()


def test_uniform_negatives_cover_the_complement_evenly() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]], dtype=np.float32))
    sampler = NegativeSampler(matrix)
    counts = np.bincount(
        sampler.sample(np.zeros(30_000, int), 1, np.random.default_rng(0))[:, 0], minlength=6
    )
    assert counts[[0, 2, 5]].sum() == 0
    assert np.allclose(counts[[1, 3, 4]] / 30_000, 1 / 3, atol=0.02)


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_a_pool_limits_the_negatives_to_its_items(strategy: str) -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0]], dtype=np.float32))
    sampler = NegativeSampler(matrix, strategy, alpha=1.0, pool=np.array([1, 2, 4, 5]))
    draws = sampler.sample(np.array([0, 1] * 5_000), 1, np.random.default_rng(0))[:, 0]
    assert set(draws[::2]) == {1, 4} and set(draws[1::2]) == {2, 5}  # never 0 or 3


def test_popularity_sampling_prefers_popular_items() -> None:
    dense = np.zeros((50, 4), dtype=np.float32)
    dense[:40, 0] = 1  # item 0 popular, item 3 rare
    dense[40:, 1] = 1
    dense[49, 3] = 1
    sampler = NegativeSampler(sp.csr_matrix(dense), "popularity", alpha=1.0)
    draws = sampler.sample(np.full(20_000, 45), 1, np.random.default_rng(1))[:, 0]
    counts = np.bincount(draws, minlength=4)
    assert counts[1] == 0 and counts[0] > 10 * counts[3] > 0


def test_is_positive_matches_matrix() -> None:
    matrix = sp.csr_matrix(np.array([[0, 1], [1, 1]], dtype=np.float32))
    sampler = NegativeSampler(matrix)
    mask = sampler.is_positive(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    assert mask.tolist() == [False, True, True, True]


def test_user_with_every_item_and_bad_strategy_are_errors() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1], [1, 0]], dtype=np.float32))
    sampler = NegativeSampler(matrix)
    assert sampler.sample(np.array([1]), 2, np.random.default_rng(0)).tolist() == [[1, 1]]
    with pytest.raises(DataError, match="user index 0 interacted with all 2 items"):
        sampler.sample(np.array([1, 0]), 1, np.random.default_rng(0))
    with pytest.raises(DataError, match="unknown negative sampling strategy 'zipf'"):
        NegativeSampler(matrix, "zipf")
