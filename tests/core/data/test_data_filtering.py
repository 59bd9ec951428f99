"""Filters: what each keeps, k-core to a fixed point, counted drops, bad parameters."""

from __future__ import annotations

import pandas as pd
import pytest
from warprec.data.filtering import (
    DropIds,
    ItemMinInteractions,
    KCore,
    MinRating,
    UserMinInteractions,
    apply_filters,
)
from warprec.errors import ConfigError, DataError
from warprec.utils.registry import filter_registry


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = [
        (1, "a", 5),
        (1, "b", 4),
        (1, "c", 1),
        (2, "a", 3),
        (2, "b", 2),
        (3, "a", 5),
        (4, "d", 4),
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_min_rating(frame: pd.DataFrame) -> None:
    assert MinRating(4)(frame)["rating"].tolist() == [5, 4, 5, 4]
    with pytest.raises(DataError, match="MinRating: missing column 'rating'"):
        MinRating(4)(frame.drop(columns="rating"))


def test_user_and_item_min_interactions(frame: pd.DataFrame) -> None:
    assert sorted(set(UserMinInteractions(2)(frame)["user_id"])) == [1, 2]
    assert sorted(set(ItemMinInteractions(2)(frame)["item_id"])) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"UserMinInteractions\.min_interactions must be a pos"):
        UserMinInteractions(0)


def test_counts_that_are_no_integer_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"KCore\.k must be a positive integer, got 'five'"):
        KCore("five")
    with pytest.raises(ConfigError, match=r"KCore\.item_k must be a positive integer, got 0"):
        KCore(2, item_k=0)
    with pytest.raises(ConfigError, match=r"ItemMinInteractions\.min_interactions .* got None"):
        ItemMinInteractions(None)
    assert KCore(2.0).user_k == 2


def test_kcore_iterates_to_a_fixed_point(frame: pd.DataFrame) -> None:
    # Users 3, 4 and items c, d have one row each: the 2-core is users 1, 2 x items a, b.
    core = KCore(2)(frame)
    assert sorted(zip(core["user_id"], core["item_id"], strict=True)) == [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
    ]
    assert (core.groupby("user_id").size() >= 2).all()
    assert (core.groupby("item_id").size() >= 2).all()
    assert len(KCore(3)(frame)) == 0
    assert len(KCore(1, user_k=3)(frame)) == 3


def test_kcore_needs_more_than_one_pass() -> None:
    # Dropping item z (1 row) leaves user 2 with 1 row, which then drops item y to 1.
    rows = [(1, "x"), (1, "y"), (2, "y"), (2, "z"), (3, "x"), (3, "w"), (4, "x"), (4, "w")]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    core = KCore(2)(frame)
    assert sorted(set(core["item_id"])) == ["w", "x"] and 2 not in set(core["user_id"])


def test_drop_ids(frame: pd.DataFrame) -> None:
    kept = DropIds(users=[1], items=["d"])(frame)
    assert sorted(set(kept["user_id"])) == [2, 3]


def test_drop_ids_match_numbers_and_strings_alike() -> None:
    # Integer ids from YAML against string ids read from a file, and the other way round.
    frame = pd.DataFrame({"user_id": [1, 2, 3, 4], "item_id": ["10", "20", "x", "30"]})
    assert DropIds(users=["2", "nope"])(frame)["user_id"].tolist() == [1, 3, 4]
    assert DropIds(items=[10, 30.0])(frame)["item_id"].tolist() == ["20", "x"]
    assert DropIds(users=[2.0], items=["x"])(frame)["user_id"].tolist() == [1, 4]


def test_apply_filters_counts_each_drop(frame: pd.DataFrame) -> None:
    report: dict[str, int] = {}
    result = apply_filters(frame, [MinRating(3), UserMinInteractions(2)], report)
    assert report == {"filter_MinRating": 2, "filter_UserMinInteractions": 3}
    assert result["user_id"].tolist() == [1, 1]


def test_every_builtin_filter_is_registered() -> None:
    for name in ("MinRating", "UserMinInteractions", "ItemMinInteractions", "KCore", "DropIds"):
        assert filter_registry.get_class(name).__name__ == name
