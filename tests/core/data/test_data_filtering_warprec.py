"""WarpRec's filters that the core had no counterpart for, on hand-worked tables."""

from __future__ import annotations

import pandas as pd
import pytest
from warprec.data.filtering import (
    ItemAverage,
    ItemMax,
    KCore,
    NRoundsKCore,
    UserAverage,
    UserHeadN,
    UserMax,
    UserTailN,
)
from warprec.errors import ConfigError
from warprec.utils.registry import filter_registry


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3],
                         "item_id": ["a", "b", "c", "a", "b", "a"],
                         "rating": [5.0, 3.0, 1.0, 4.0, 4.0, 2.0],
                         "timestamp": [3, 1, 2, 5, 5, 9]})


def _kept(step: object, table: pd.DataFrame) -> list[int]:
    return step(table).index.tolist()  # type: ignore[operator]


def test_average_filters_keep_ratings_strictly_above_the_mean(table: pd.DataFrame) -> None:
    # User means 3, 4, 2: only user 1's 5 is above (user 2's 4s equal their mean).
    assert _kept(UserAverage(), table) == [0]
    # Item means: a 11/3, b 3.5, c 1.
    assert _kept(ItemAverage(), table) == [0, 3, 4]


def test_max_filters(table: pd.DataFrame) -> None:
    assert _kept(UserMax(2), table) == [3, 4, 5]
    assert _kept(ItemMax(1), table) == [2]


def test_head_and_tail_in_time_order_ties_in_input_order(table: pd.DataFrame) -> None:
    # User 1 in time order: rows 1, 2, 0; user 2: rows 3, 4 (a tie, input order).
    assert _kept(UserHeadN(2), table) == [1, 2, 3, 4, 5]
    assert _kept(UserTailN(1), table) == [0, 4, 5]
    assert _kept(UserTailN(1), table.drop(columns="timestamp")) == [2, 4, 5]


def test_n_rounds_k_core_stops_after_its_rounds() -> None:
    chain = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "c", "a"]})
    # Round 1: user 3 goes, then items b and c (one row each): rows 0 and 2 are left,
    # whose users now have one row each; a second round (and the k-core) empties it.
    assert _kept(NRoundsKCore(1, 2), chain) == [0, 2]
    assert _kept(NRoundsKCore(2, 2), chain) == []
    assert _kept(KCore(2), chain) == []


def test_registered_under_warprecs_names_and_checked() -> None:
    for name in ("UserAverage", "ItemAverage", "UserMax", "ItemMax", "NRoundsKCore",
                 "UserHeadN", "UserTailN"):
        assert filter_registry.get_class(name).__name__ == name
    with pytest.raises(ConfigError, match=r"UserHeadN\.num_interactions must be a positive"):
        UserHeadN(0)
    with pytest.raises(ConfigError, match=r"NRoundsKCore\.rounds must be a positive"):
        NRoundsKCore(0, 2)
