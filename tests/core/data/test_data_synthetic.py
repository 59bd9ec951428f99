"""The synthetic generator: shape, determinism, popularity skew, learnable tastes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warprec.data.synthetic import synthetic
from warprec.errors import ConfigError
from warprec.utils.registry import dataset_registry


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return synthetic(n_users=300, n_items=200, n_interactions=6000, seed=11)


def test_shape_columns_and_uniqueness(data: pd.DataFrame) -> None:
    assert list(data.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(data) == 6000
    assert not data.duplicated(["user_id", "item_id"]).any()
    assert data["user_id"].between(1, 300).all() and data["item_id"].between(1, 200).all()
    assert set(data["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert (data.groupby("user_id").size() >= 5).all() and data["user_id"].nunique() == 300


def test_deterministic_under_seed(data: pd.DataFrame) -> None:
    assert data.equals(synthetic(n_users=300, n_items=200, n_interactions=6000, seed=11))
    assert not data.equals(synthetic(n_users=300, n_items=200, n_interactions=6000, seed=12))


def test_item_popularity_is_skewed(data: pd.DataFrame) -> None:
    counts = np.sort(data.groupby("item_id").size().to_numpy())[::-1]
    top_share = counts[: len(counts) // 10].sum() / counts.sum()
    assert top_share > 0.25  # the top 10% of items hold far more than 10% of the rows


def test_timestamps_increase_within_each_user(data: pd.DataFrame) -> None:
    assert data.groupby("user_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()


def test_users_have_learnable_tastes(data: pd.DataFrame) -> None:
    # Item-item cosine scores find a held-out item far more often than
    # popularity does: there is personal taste to learn, not only popularity.
    matrix = np.zeros((300, 200))
    matrix[data["user_id"] - 1, data["item_id"] - 1] = 1.0
    rng = np.random.default_rng(0)
    held = np.array([rng.choice(np.flatnonzero(row)) for row in matrix])
    train = matrix.copy()
    train[np.arange(300), held] = 0.0
    cooccurrence = train.T @ train
    norms = np.sqrt(np.diag(cooccurrence)) + 1e-9
    cosine = cooccurrence / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0.0)

    def hit_rate(scores: np.ndarray) -> float:
        scores = np.where(train > 0, -np.inf, scores)
        top = np.argsort(-scores, axis=1)[:, :10]
        return float((top == held[:, None]).any(axis=1).mean())

    popularity = np.broadcast_to(train.sum(axis=0), train.shape)
    assert hit_rate(train @ cosine) > 1.5 * hit_rate(popularity)


def test_bad_sizes_and_registry() -> None:
    with pytest.raises(ConfigError, match="synthetic: n_items must be a positive integer"):
        synthetic(n_items=0)
    with pytest.raises(ConfigError, match="more than half of all 10 x 10"):
        synthetic(n_users=10, n_items=10, n_interactions=60)
    assert dataset_registry.get_class("synthetic") is synthetic
