"""Splitters: WarpRec's semantics pinned on small tables with hand-worked rows, plus
sizes, disjoint parts, determinism and parameter errors.

The random expectations use the documented draws of numpy's legacy generator:
``RandomState(0).rand(5) = [0.5488, 0.7152, 0.6028, 0.5449, 0.4237]`` and
``RandomState(1).rand(5) = [0.4170, 0.7203, 0.0001, 0.3023, 0.1468]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warprec.data.splitting import (
    ItemColdStart,
    KFold,
    RandomHoldout,
    RandomHoldoutPerUser,
    RandomLeaveKOut,
    Split,
    TemporalHoldout,
    TemporalLeaveKOut,
    TimestampSlicing,
    UserColdStart,
    aligned,
    best_timestamp,
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


def _rows(split: Split) -> tuple[list[int], list[int] | None, list[int]]:
    validation = None if split.validation is None else split.validation.index.tolist()
    return split.train.index.tolist(), validation, split.test.index.tolist()


def _table(users: list[object], timestamps: list[int] | None = None) -> pd.DataFrame:
    table = pd.DataFrame({"user_id": users, "item_id": range(10, 10 + len(users))})
    if timestamps is not None:
        table["timestamp"] = timestamps
    return table


ALL = [
    RandomHoldout(0.2, 0.1, seed=3),
    RandomHoldoutPerUser(0.2, 0.1, seed=3),
    TemporalHoldout(0.2, 0.1),
    RandomLeaveKOut(2, 1, seed=3),
    TemporalLeaveKOut(1, 1),
    TimestampSlicing(test_ratio=0.2, validation_ratio=0.1),
    KFold(4, fold=1, validation_ratio=0.1, seed=3),
    ItemColdStart(0.2, 0.1, seed=3),
    UserColdStart(0.2, 0.1, seed=3),
]


@pytest.mark.parametrize("splitter", ALL, ids=lambda s: type(s).__name__)
def test_parts_are_disjoint_cover_input_and_are_deterministic(
    splitter: object, frame: pd.DataFrame
) -> None:
    first = splitter.split(frame)  # type: ignore[attr-defined]
    _assert_partition(first, frame)  # every synthetic user has more than 3 rows
    assert first.validation is not None and len(first.validation) > 0 and len(first.test) > 0
    for part in _parts(first):  # each part keeps the input order
        assert part.index.equals(frame.index[frame.index.isin(part.index)])
    again = splitter.split(frame)  # type: ignore[attr-defined]
    for a, b in zip(_parts(first), _parts(again), strict=True):
        assert a.index.equals(b.index)


def test_registered_under_their_names() -> None:
    for splitter in ALL:
        assert splitter_registry.get_class(type(splitter).__name__) is type(splitter)


# ----------------------------------------------------------------- WarpRec's semantics


def test_random_holdout_draws_warprec_uniforms_over_the_whole_table() -> None:
    table = _table([1, 1, 2, 2, 3])
    # seed 0 draws 0.549 0.715 0.603 0.545 0.424: ascending rows 4, 3, 0, 2, 1, and the
    # first int(5 * 0.6) = 3 of them stay in training.
    assert _rows(RandomHoldout(0.4, seed=0).split(table)) == ([0, 3, 4], None, [1, 2])
    # int(5 * 0.4) = 2: user 1 loses every row to test (not a per-user split).
    assert _rows(RandomHoldout(0.6, seed=0).split(table)) == ([3, 4], None, [0, 1, 2])
    # seed 1 draws 0.417 0.720 0.0001 0.302 0.147: ascending rows 2, 4, 3, 0, 1.
    assert _rows(RandomHoldout(0.4, seed=1).split(table)) == ([2, 3, 4], None, [0, 1])


def test_random_holdout_validation_draws_again_from_the_seed_over_the_training_rows() -> None:
    table = _table(list(range(12)))
    split = RandomHoldout(0.25, 0.25, seed=7).split(table)
    test_only = RandomHoldout(0.25, seed=7).split(table)
    again = RandomHoldout(0.25, seed=7).split(test_only.train)  # WarpRec: a fresh draw
    assert split.test.index.equals(test_only.test.index)
    assert split.validation.index.equals(again.test.index)
    assert split.train.index.equals(again.train.index)
    assert (len(split.train), len(split.validation), len(split.test)) == (6, 3, 3)


def test_temporal_holdout_keeps_floor_of_n_times_one_minus_ratio_in_training() -> None:
    # User 1 in time order: rows 1 (t 10), 3 and 4 (t 30, a tie kept in file order),
    # 0 (t 40); floor(4 * 0.7) = 2 rows stay. User 2 has one row: it stays.
    # User 3 in time order: rows 5, 7, 6; floor(3 * 0.7) = floor(2.0999...) = 2 stay.
    table = _table([1, 1, 2, 1, 1, 3, 3, 3], [40, 10, 5, 30, 30, 7, 9, 8])
    assert _rows(TemporalHoldout(0.3).split(table)) == ([1, 2, 3, 5, 7], None, [0, 4, 6])
    # The case: 23 rows at ratio 0.1 keep floor(20.7) = 20, so 3 go to test
    # (the former round-half-up rule held out 2).
    many = _table([1] * 23, list(range(23)))
    assert TemporalHoldout(0.1).split(many).test.index.tolist() == [20, 21, 22]


def test_temporal_holdout_validation_and_file_order_without_timestamps() -> None:
    table = _table([1, 1, 1, 1, 1, 1])  # no timestamp column: file order is time order
    # floor(6 * 0.5) = 3 stay, then of those 3, floor(3 * (1 - 1/3)) = 2 stay.
    assert _rows(TemporalHoldout(0.5, 1 / 3).split(table)) == ([0, 1], [2], [3, 4, 5])


def test_random_leave_k_out_drops_small_users_and_draws_over_the_rest() -> None:
    # User 2 (one row) is dropped; the draws go to the remaining rows 0, 2, 3 in file
    # order (0.549, 0.715, 0.603), so user 1's smallest draw is row 0's.
    table = _table([1, 2, 1, 1])
    assert _rows(RandomLeaveKOut(1, seed=0).split(table)) == ([2, 3], None, [0])
    # With validation_k = 1 the training part (rows 2, 3) draws 0.549, 0.715 again.
    assert _rows(RandomLeaveKOut(1, 1, seed=0).split(table)) == ([3], [2], [0])


def test_temporal_leave_k_out_takes_the_latest_and_drops_small_users() -> None:
    table = _table([1, 1, 2, 1, 3, 3], [5, 9, 1, 9, 2, 1])
    # User 1 in time order: rows 0, 1, 3 (a tie at t 9 kept in file order); user 2
    # has one row and is dropped; user 3 in time order: rows 5, 4.
    assert _rows(TemporalLeaveKOut(1).split(table)) == ([0, 1, 5], None, [3, 4])
    # Validation on the training part: user 3 now has one row, so it is dropped too.
    assert _rows(TemporalLeaveKOut(1, 1).split(table)) == ([0], [1], [3, 4])
    untimed = _table([1, 1, 1])
    assert TemporalLeaveKOut(2).split(untimed).test.index.tolist() == [1, 2]


def test_kfold_deals_each_users_rows_in_file_order() -> None:
    table = _table([1, 2, 1, 2, 1, 1])
    folds = [_rows(s) for s in KFold(2).folds(table)]
    assert folds == [([2, 3, 5], None, [0, 1, 4]), ([0, 1, 4], None, [2, 3, 5])]
    shuffled = [s.test.index.tolist() for s in KFold(2, shuffle=True, seed=0).folds(table)]
    assert sorted(shuffled[0] + shuffled[1]) == list(range(6))


def test_timestamp_slicing_fixed_and_best() -> None:
    table = _table([1, 1, 2, 2, 3, 3], [1, 5, 2, 6, 3, 4])
    assert _rows(TimestampSlicing(test_timestamp=5).split(table)) == ([0, 2, 4, 5], None, [1, 3])
    # Users having rows on both sides of t: t=2: 1, t=3: 2, t=4: 3, t=5: 2, t=6: 1.
    assert best_timestamp(table["user_id"], table["timestamp"].to_numpy()) == 4
    assert _rows(TimestampSlicing(test_timestamp="best").split(table)) == ([0, 2, 4], None,
                                                                         [1, 3, 5])
    # Users 1 (t 1, 2) and 2 (t 3, 4) count for t=2 and t=4 alone: the latest wins.
    tie = _table([1, 1, 2, 2], [1, 2, 3, 4])
    assert best_timestamp(tie["user_id"], tie["timestamp"].to_numpy()) == 4


def test_cold_start_holds_out_every_row_of_sampled_entities() -> None:
    table = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 4, 5], "item_id": [9, 8, 9, 7, 6, 9, 8]})
    # round(5 * 0.4) = 2 of the sorted users 1..5: default_rng(0).choice(5, 2) = [3, 4],
    # the users 4 and 5.
    assert _rows(UserColdStart(0.4, seed=0).split(table)) == ([0, 1, 2, 3, 4], None, [5, 6])
    # round(4 * 0.5) = 2 of the sorted items 6, 7, 8, 9: choice(4, 2) = [2, 3], 8 and 9.
    assert _rows(ItemColdStart(0.5, seed=0).split(table)) == ([3, 4], None, [0, 1, 2, 5, 6])
    with pytest.raises(DataError, match="holds out 0 of them"):
        UserColdStart(0.05).split(table)


@pytest.mark.parametrize("splitter_class", [ItemColdStart, UserColdStart])
def test_cold_start_holds_out_whole_entities_reproducibly(splitter_class: type,
                                                          frame: pd.DataFrame) -> None:
    column = splitter_class.column
    split = splitter_class(0.25, 0.1, seed=7).split(frame)
    held = set(split.test[column])
    # Exactly the whole entities: none of them in training or validation, all their rows
    # in test, round(n * 0.25) of them.
    assert held.isdisjoint(split.train[column]) and held.isdisjoint(split.validation[column])
    assert len(split.test) == frame[column].isin(held).sum()
    assert len(held) == round(frame[column].nunique() * 0.25)
    assert set(split.validation[column]).isdisjoint(split.train[column])
    assert splitter_class.holds_out == column.removesuffix("_id")
    again = splitter_class(0.25, 0.1, seed=7).split(frame)
    assert set(again.test[column]) == held
    assert set(splitter_class(0.25, 0.1, seed=8).split(frame).test[column]) != held


def test_aligned_keeps_rows_of_users_and_items_seen_in_training() -> None:
    train = pd.DataFrame({"user_id": [1, 2], "item_id": [7, 8]})
    test = pd.DataFrame({"user_id": [1, 1, 3, 2], "item_id": [8, 9, 7, 7]})
    assert aligned(train, test).index.tolist() == [0, 3]
    # A cold-start split keeps its held-out side whole.
    assert aligned(train, test, "item").index.tolist() == [0, 1, 3]
    assert aligned(train, test, "user").index.tolist() == [0, 2, 3]


# ------------------------------------------------------------------ per-user holdout


def test_random_holdout_per_user_sizes_and_seed(frame: pd.DataFrame) -> None:
    split = RandomHoldoutPerUser(test_ratio=0.25, seed=1).split(frame)
    counts = _per_user(frame, frame)
    expected = np.minimum(np.floor(counts * 0.25 + 0.5), counts - 1)
    assert (_per_user(split.test, frame) == expected).all()
    assert (_per_user(split.train, frame) >= 1).all()
    assert split.validation is None
    other = RandomHoldoutPerUser(test_ratio=0.25, seed=2).split(frame)
    assert not other.test.index.sort_values().equals(split.test.index.sort_values())


def test_temporal_holdout_keeps_time_order(frame: pd.DataFrame) -> None:
    split = TemporalHoldout(test_ratio=0.2, validation_ratio=0.2).split(frame)
    train_last = split.train.groupby("user_id")["timestamp"].max()
    valid_first = split.validation.groupby("user_id")["timestamp"].min()
    test_first = split.test.groupby("user_id")["timestamp"].min()
    assert (train_last.reindex(valid_first.index) <= valid_first).all()
    assert (train_last.reindex(test_first.index) <= test_first).all()
    counts = _per_user(frame, frame)
    kept = np.maximum(np.floor(counts * 0.8), 1)
    assert (_per_user(split.test, frame) == counts - kept).all()


def test_leave_k_out_sizes(frame: pd.DataFrame) -> None:
    split = RandomLeaveKOut(test_k=2, seed=0).split(frame)
    counts = _per_user(frame, frame)
    assert (_per_user(split.test, frame) == np.where(counts > 2, 2, 0)).all()


def test_temporal_ties_keep_input_order() -> None:
    tied = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [7, 8, 9], "timestamp": [5, 5, 5]})
    assert TemporalLeaveKOut(1).split(tied).test["item_id"].tolist() == [9]
    floats = tied.assign(timestamp=[5.5, 5.5, 1.0])  # float times take the lexsort path
    assert TemporalLeaveKOut(1).split(floats).test["item_id"].tolist() == [8]


def test_timestamp_slicing_by_ratio(frame: pd.DataFrame) -> None:
    by_ratio = TimestampSlicing(test_ratio=0.25).split(frame)
    assert len(by_ratio.test) == pytest.approx(0.25 * len(frame), abs=2)
    assert by_ratio.train["timestamp"].max() < by_ratio.test["timestamp"].min()


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"RandomHoldout\.test_ratio must be in \[0, 1\)"):
        RandomHoldout(test_ratio=1.5)
    with pytest.raises(ConfigError, match=r"RandomLeaveKOut\.test_k must be a non-negative"):
        RandomLeaveKOut(test_k=-1)
    with pytest.raises(ConfigError, match="exactly one of test_timestamp and test_ratio"):
        TimestampSlicing()
    with pytest.raises(ConfigError, match="validation_timestamp or validation_ratio, not both"):
        TimestampSlicing(test_ratio=0.1, validation_ratio=0.1, validation_timestamp=3)
    with pytest.raises(ConfigError, match=r"test_timestamp must be a number or 'best'"):
        TimestampSlicing(test_timestamp="latest")
    with pytest.raises(ConfigError, match=r"KFold\.k must be an integer >= 2"):
        KFold(k=1)
    with pytest.raises(ConfigError, match=r"KFold\.fold must be an integer in 0\.\.2"):
        KFold(k=3, fold=3)
    with pytest.raises(ConfigError, match=r"UserColdStart\.test_ratio must be in \(0, 1\)"):
        UserColdStart(test_ratio=0)


def test_parameters_of_the_wrong_type_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"TemporalLeaveKOut\.test_k must be .* got 'one'"):
        TemporalLeaveKOut(test_k="one")
    with pytest.raises(ConfigError, match=r"TemporalHoldout\.validation_ratio .* got None"):
        TemporalHoldout(validation_ratio=None)
    with pytest.raises(ConfigError, match=r"KFold\.k must be an integer >= 2, got 'five'"):
        KFold(k="five")


def test_timestamp_slicing_without_timestamps_is_a_data_error() -> None:
    untimed = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2]})
    with pytest.raises(DataError, match=r"TimestampSlicing \(a temporal splitter\): missing"):
        TimestampSlicing(test_timestamp=3).split(untimed)
