"""Splitters: sizes, disjoint parts covering the input, determinism, temporal order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warprec.data.splitting import (
    KFold,
    RandomHoldout,
    RandomLeaveKOut,
    Split,
    TemporalHoldout,
    TemporalLeaveKOut,
    TimestampSlicing,
)
from warprec.data.synthetic import synthetic
from warprec.errors import ConfigError, DataError
from warprec.utils.registry import splitter_registry


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    # Shuffled, so that no splitter can lean on the generator's row order.
    data = synthetic(n_users=60, n_items=80, n_interactions=1200, seed=5)
    return data.sample(frac=1.0, random_state=0)


def _parts(split: Split) -> list[pd.DataFrame]:
    return [p for p in (split.train, split.validation, split.test) if p is not None]


def _assert_partition(split: Split, frame: pd.DataFrame) -> None:
    indices = np.concatenate([p.index.to_numpy() for p in _parts(split)])
    assert len(indices) == len(set(indices)) == len(frame)  # disjoint, and nothing lost


def _per_user(part: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    return part.groupby("user_id").size().reindex(frame["user_id"].unique(), fill_value=0)


ALL = [
    RandomHoldout(0.2, 0.1, seed=3),
    TemporalHoldout(0.2, 0.1),
    RandomLeaveKOut(2, 1, seed=3),
    TemporalLeaveKOut(1, 1),
    TimestampSlicing(test_ratio=0.2, validation_ratio=0.1),
    KFold(4, fold=1, validation_ratio=0.1, seed=3),
]


@pytest.mark.parametrize("splitter", ALL, ids=lambda s: type(s).__name__)
def test_parts_are_disjoint_cover_input_and_are_deterministic(
    splitter: object, frame: pd.DataFrame
) -> None:
    first = splitter.split(frame)  # type: ignore[attr-defined]
    _assert_partition(first, frame)
    assert first.validation is not None and len(first.validation) > 0 and len(first.test) > 0
    again = splitter.split(frame)  # type: ignore[attr-defined]
    for a, b in zip(_parts(first), _parts(again), strict=True):
        assert a.index.equals(b.index)


def test_registered_under_their_names() -> None:
    for splitter in ALL:
        assert splitter_registry.get_class(type(splitter).__name__) is type(splitter)


def test_random_holdout_sizes_and_seed(frame: pd.DataFrame) -> None:
    split = RandomHoldout(test_ratio=0.25, seed=1).split(frame)
    counts = _per_user(frame, frame)
    expected = np.minimum(np.floor(counts * 0.25 + 0.5), counts - 1)
    assert (_per_user(split.test, frame) == expected).all()
    assert (_per_user(split.train, frame) >= 1).all()
    assert split.validation is None
    other = RandomHoldout(test_ratio=0.25, seed=2).split(frame)
    assert not other.test.index.sort_values().equals(split.test.index.sort_values())


def test_temporal_holdout_keeps_time_order(frame: pd.DataFrame) -> None:
    split = TemporalHoldout(test_ratio=0.2, validation_ratio=0.2).split(frame)
    train_last = split.train.groupby("user_id")["timestamp"].max()
    valid_first = split.validation.groupby("user_id")["timestamp"].min()
    valid_last = split.validation.groupby("user_id")["timestamp"].max()
    test_first = split.test.groupby("user_id")["timestamp"].min()
    assert (train_last.reindex(valid_first.index) <= valid_first).all()
    assert (
        valid_last.reindex(test_first.index).dropna()
        <= test_first.reindex(valid_last.index).dropna()
    ).all()
    assert (train_last.reindex(test_first.index) <= test_first).all()


def test_leave_k_out_sizes(frame: pd.DataFrame) -> None:
    split = RandomLeaveKOut(test_k=2, seed=0).split(frame)
    counts = _per_user(frame, frame)
    assert (_per_user(split.test, frame) == np.where(counts > 2, 2, 0)).all()
    small = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "timestamp": [1, 2, 3]})
    loo = TemporalLeaveKOut(test_k=1).split(small)
    assert loo.test.to_dict("list") == {"user_id": [1], "item_id": [2], "timestamp": [2]}


def test_temporal_leave_one_out_takes_the_latest(frame: pd.DataFrame) -> None:
    split = TemporalLeaveKOut(test_k=1).split(frame)
    latest = frame.groupby("user_id")["timestamp"].max()
    assert (
        split.test.set_index("user_id")["timestamp"]
        == latest.reindex(split.test["user_id"]).to_numpy()
    ).all()


def test_temporal_ties_keep_input_order() -> None:
    tied = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [7, 8, 9], "timestamp": [5, 5, 5]})
    assert TemporalLeaveKOut(1).split(tied).test["item_id"].tolist() == [9]
    floats = tied.assign(timestamp=[5.5, 5.5, 1.0])  # float times take the lexsort path
    assert TemporalLeaveKOut(1).split(floats).test["item_id"].tolist() == [8]


def test_timestamp_slicing_by_cutoff_and_ratio(frame: pd.DataFrame) -> None:
    cutoff = int(frame["timestamp"].quantile(0.7))
    split = TimestampSlicing(test_timestamp=cutoff).split(frame)
    assert (split.test["timestamp"] >= cutoff).all() and (split.train["timestamp"] < cutoff).all()
    by_ratio = TimestampSlicing(test_ratio=0.25).split(frame)
    assert len(by_ratio.test) == pytest.approx(0.25 * len(frame), abs=2)
    assert by_ratio.train["timestamp"].max() < by_ratio.test["timestamp"].min()


def test_kfold_test_parts_partition_the_data(frame: pd.DataFrame) -> None:
    folds = list(KFold(k=3, seed=9).folds(frame))
    assert len(folds) == 3
    tests = np.concatenate([f.test.index.to_numpy() for f in folds])
    assert sorted(tests) == sorted(frame.index)
    for fold in folds:
        _assert_partition(fold, frame)
        assert len(fold.test) == pytest.approx(len(frame) / 3, rel=0.1)


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"RandomHoldout\.test_ratio must be in \[0, 1\)"):
        RandomHoldout(test_ratio=1.5)
    with pytest.raises(ConfigError, match=r"RandomLeaveKOut\.test_k must be a non-negative"):
        RandomLeaveKOut(test_k=-1)
    with pytest.raises(ConfigError, match="exactly one of test_timestamp and test_ratio"):
        TimestampSlicing()
    with pytest.raises(ConfigError, match="validation_timestamp or validation_ratio, not both"):
        TimestampSlicing(test_ratio=0.1, validation_ratio=0.1, validation_timestamp=3)
    with pytest.raises(ConfigError, match=r"KFold\.k must be an integer >= 2"):
        KFold(k=1)
    with pytest.raises(ConfigError, match=r"KFold\.fold must be an integer in 0\.\.2"):
        KFold(k=3, fold=3)


def test_parameters_of_the_wrong_type_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"TemporalLeaveKOut\.test_k must be .* got 'one'"):
        TemporalLeaveKOut(test_k="one")
    with pytest.raises(ConfigError, match=r"TemporalHoldout\.validation_ratio .* got None"):
        TemporalHoldout(validation_ratio=None)
    with pytest.raises(ConfigError, match=r"KFold\.k must be an integer >= 2, got 'five'"):
        KFold(k="five")


def test_temporal_splitter_without_timestamps_is_a_data_error() -> None:
    untimed = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2]})
    with pytest.raises(DataError, match=r"TemporalHoldout \(a temporal splitter\): missing column"):
        TemporalHoldout().split(untimed)
