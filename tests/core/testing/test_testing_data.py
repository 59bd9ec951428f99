"""The kit's toy data: clustered, seeded, split temporally, no cold rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warprec.testing import toy_dataset, toy_frame, toy_splits


def test_frame_shape_columns_and_cluster_structure() -> None:
    frame = toy_frame(n_users=20, n_items=12, n_clusters=3, per_user=3, noise=1, seed=1)
    assert list(frame.columns) == ["user_id", "item_id", "timestamp"]
    assert len(frame) == 20 * 4
    in_cluster = frame.item_id % 3 == frame.user_id % 3
    assert in_cluster.groupby(frame.user_id).sum().eq(3).all()
    assert not frame.duplicated(["user_id", "item_id"]).any()
    assert frame.groupby("user_id").timestamp.apply(lambda t: t.is_unique).all()


def test_frame_is_reproducible_and_seed_dependent() -> None:
    pd.testing.assert_frame_equal(toy_frame(seed=3), toy_frame(seed=3))
    assert not toy_frame(seed=3).equals(toy_frame(seed=4))


def test_explicit_ratings_reward_the_cluster() -> None:
    frame = toy_frame(explicit=True)
    in_cluster = frame.item_id % 4 == frame.user_id % 4
    assert set(frame.rating[in_cluster]) == {5.0} and set(frame.rating[~in_cluster]) == {1.0}


@pytest.mark.parametrize(
    "kwargs", [{"n_items": 30}, {"per_user": 9}, {"per_user": 0}, {"noise": -1}, {"n_clusters": 1}]
)
def test_impossible_shapes_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="toy_frame: need"):
        toy_frame(**kwargs)


def test_splits_hold_out_each_users_latest_interactions() -> None:
    frame = toy_frame()
    train, validation, test = toy_splits(frame)
    assert validation is not None
    assert len(train) + len(validation) + len(test) == len(frame)
    assert test.user_id.is_unique and validation.user_id.is_unique
    last = frame.groupby("user_id").timestamp.max()
    assert (test.set_index("user_id").timestamp == last[test.user_id].to_numpy()).all()
    assert (validation.groupby("user_id").timestamp.max()
            < test.groupby("user_id").timestamp.max()).all()
    assert (train.groupby("user_id").timestamp.max()
            < validation.groupby("user_id").timestamp.min()).all()
    train_only, none, _ = toy_splits(frame, validation=False)
    assert none is None and len(train_only) == len(train) + len(validation)


def test_dataset_covers_every_user_and_item_without_cold_rows() -> None:
    dataset = toy_dataset()
    assert (dataset.n_users, dataset.n_items) == (48, 32)
    assert dataset.report == {"validation_cold_rows": 0, "test_cold_rows": 0}
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (240, 48, 48)
    assert np.diff(dataset.train.get_sparse().indptr).min() == 5
    assert toy_dataset(validation=False).validation is None


def test_toy_dataset_with_context_repeats_pairs_in_other_contexts() -> None:
    plain, data = toy_dataset(), toy_dataset(context=True)
    assert "context_dims" not in plain.info()
    assert data.info()["context_dims"] == {"daytime": 4, "weekend": 3}
    rows = data.train.transactions
    # One pair of every user seen twice in training, in two daytimes; the matrix view
    # (what models without context read) is the plain toy data's.
    assert len(rows) == len(data.train) + data.n_users
    assert (data.train.get_sparse() != plain.train.get_sparse()).nnz == 0
    assert data.test.transactions.contexts.min() >= 1  # every test context seen in training
