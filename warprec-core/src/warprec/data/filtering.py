"""Filters: callables that take the interaction table and return the rows to keep.

In a config they are written ``filtering: [{strategy: KCore, k: 5}, ...]``: the name is
looked up in ``filter_registry`` and the other keys are constructor arguments. A plugin
filter is any class with ``__call__(df) -> df``; :func:`apply_filters` counts the rows
each filter drops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER, require_columns
from warprec.utils.checks import check_integer

__all__ = [
    "DropIds",
    "ItemAverage",
    "ItemMax",
    "ItemMinInteractions",
    "KCore",
    "MinRating",
    "NRoundsKCore",
    "UserAverage",
    "UserHeadN",
    "UserMax",
    "UserMinInteractions",
    "UserTailN",
    "apply_filters",
]


def apply_filters(
    df: pd.DataFrame, filters: Sequence[Any], report: dict[str, int] | None = None
) -> pd.DataFrame:
    """Apply ``filters`` in order; ``report`` (if given) gets ``filter_<Name>`` counts of
    the rows each one dropped."""
    for step in filters:
        before = len(df)
        df = step(df)
        if report is not None:
            key = f"filter_{type(step).__name__}"
            report[key] = report.get(key, 0) + before - len(df)
    return df


def _frequent(column: pd.Series, minimum: int) -> np.ndarray:
    codes, _ = pd.factorize(column, sort=False)
    counts = np.bincount(codes) if codes.size else np.zeros(0, dtype=np.int64)
    return counts[codes] >= minimum


class MinRating:
    """Keep the rows whose rating is at least ``min_rating``.

    Args:
        min_rating: the smallest rating kept.
    """

    def __init__(self, min_rating: float):
        self.min_rating = float(min_rating)

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows with ``rating >= min_rating``."""
        require_columns(df, (RATING,), "MinRating")
        return df[df[RATING].to_numpy() >= self.min_rating]


class _MinInteractions:
    """Keep the ids of ``column`` with at least ``min_interactions`` rows (one pass)."""

    column: ClassVar[str]

    def __init__(self, min_interactions: int):
        owner = type(self).__name__
        self.min_interactions = check_integer(min_interactions, 1, f"{owner}.min_interactions")

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of the ids with enough rows."""
        require_columns(df, (self.column,), type(self).__name__)
        return df[_frequent(df[self.column], self.min_interactions)]


class UserMinInteractions(_MinInteractions):
    """Keep the users with at least ``min_interactions`` rows (one pass).

    Args:
        min_interactions: the fewest rows a kept user has.
    """

    column = USER


class ItemMinInteractions(_MinInteractions):
    """Keep the items with at least ``min_interactions`` rows (one pass).

    Args:
        min_interactions: the fewest rows a kept item has.
    """

    column = ITEM


class KCore:
    """Iterative k-core: drop users and items with fewer than ``k`` rows, and repeat
    until every remaining user and item has at least ``k`` (or, if given, at least
    ``user_k`` / ``item_k``) rows.

    Args:
        k: the minimum rows per user and per item.
        user_k: overrides ``k`` for users.
        item_k: overrides ``k`` for items.
    """

    def __init__(self, k: int = 5, user_k: int | None = None, item_k: int | None = None):
        self.user_k = _k_or(k, user_k, "user_k")
        self.item_k = _k_or(k, item_k, "item_k")

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """The largest sub-table where every user and item meets its minimum."""
        require_columns(df, (USER, ITEM), "KCore")
        users, _ = pd.factorize(df[USER], sort=False)
        items, _ = pd.factorize(df[ITEM], sort=False)
        keep = np.ones(users.size, dtype=bool)
        while True:
            user_counts = np.bincount(users[keep], minlength=users.max(initial=-1) + 1)
            item_counts = np.bincount(items[keep], minlength=items.max(initial=-1) + 1)
            still = keep & (user_counts[users] >= self.user_k) & (item_counts[items] >= self.item_k)
            if still.sum() == keep.sum():
                return df[keep]
            keep = still


def _k_or(k: int, override: int | None, name: str) -> int:
    """``override`` when given, else ``k``; the error names the parameter that was used."""
    if override is None:
        return check_integer(k, 1, "KCore.k")
    return check_integer(override, 1, f"KCore.{name}")


class DropIds:
    """Drop every row of the listed users and items (original ids).

    An id matches whether it is written as a number or as a string (``7`` and ``"7"``):
    ids from a config and ids read from a file often differ in type.

    Args:
        users: user ids to drop.
        items: item ids to drop.
    """

    def __init__(self, users: Iterable[Any] = (), items: Iterable[Any] = ()):
        self.users = list(users)
        self.items = list(items)

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of neither a listed user nor a listed item."""
        require_columns(df, (USER, ITEM), "DropIds")
        drop = _listed(df[USER], self.users) | _listed(df[ITEM], self.items)
        return df[~drop]


def _listed(column: pd.Series, ids: list[Any]) -> np.ndarray:
    """Mask of the rows whose id is in ``ids``, compared in the column's type."""
    if not ids:
        return np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        # Ids that are no number cannot match a numeric column.
        numbers = pd.to_numeric(pd.Series(ids, dtype=object), errors="coerce").dropna()
        return column.isin(numbers).to_numpy()
    texts = {str(i) for i in ids}
    texts |= {str(int(i)) for i in ids if isinstance(i, float) and i.is_integer()}
    return column.astype(str).isin(texts).to_numpy()


# ------------------------------------------------------- WarpRec's other filters, its names


class _AboveAverage:
    """Keep the rows rated strictly above the mean rating of their ``column``'s id."""

    column: ClassVar[str]

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows with ``rating > mean rating of the row's id``."""
        require_columns(df, (self.column, RATING), type(self).__name__)
        mean = df.groupby(self.column, sort=False)[RATING].transform("mean")
        return df[(df[RATING] > mean).to_numpy()]


class UserAverage(_AboveAverage):
    """WarpRec's ``UserAverage``: keep the rows rated strictly above their user's mean."""

    column = USER


class ItemAverage(_AboveAverage):
    """WarpRec's ``ItemAverage``: keep the rows rated strictly above their item's mean."""

    column = ITEM


class _MaxInteractions:
    """Keep the ids of ``column`` with at most ``max_interactions`` rows (one pass)."""

    column: ClassVar[str]

    def __init__(self, max_interactions: int):
        owner = type(self).__name__
        self.max_interactions = check_integer(max_interactions, 1, f"{owner}.max_interactions")

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of the ids with few enough rows."""
        require_columns(df, (self.column,), type(self).__name__)
        return df[~_frequent(df[self.column], self.max_interactions + 1)]


class UserMax(_MaxInteractions):
    """WarpRec's ``UserMax``: keep the users with at most ``max_interactions`` rows.

    Args:
        max_interactions: the most rows a kept user has.
    """

    column = USER


class ItemMax(_MaxInteractions):
    """WarpRec's ``ItemMax``: keep the items with at most ``max_interactions`` rows.

    Args:
        max_interactions: the most rows a kept item has.
    """

    column = ITEM


class NRoundsKCore:
    """WarpRec's ``NRoundsKCore``: at most ``rounds`` rounds of dropping the users with
    fewer than ``min_interactions`` rows, then (counted again) the items with fewer; it
    stops early when a round drops nothing. Unlike :class:`KCore` the result need not be
    a k-core.

    Args:
        rounds: the most rounds.
        min_interactions: the fewest rows a kept user or item has, in each round.
    """

    def __init__(self, rounds: int, min_interactions: int):
        self.rounds = check_integer(rounds, 1, "NRoundsKCore.rounds")
        self.min_interactions = check_integer(min_interactions, 1,
                                              "NRoundsKCore.min_interactions")

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table after the rounds."""
        require_columns(df, (USER, ITEM), "NRoundsKCore")
        for _ in range(self.rounds):
            before = len(df)
            df = df[_frequent(df[USER], self.min_interactions)]
            df = df[_frequent(df[ITEM], self.min_interactions)]
            if len(df) == before:
                break
        return df


class _UserEnds:
    """Keep each user's first or last ``num_interactions`` rows in time order (timestamp,
    ties in input order; without a timestamp column, input order)."""

    last: ClassVar[bool]

    def __init__(self, num_interactions: int):
        owner = type(self).__name__
        self.num_interactions = check_integer(num_interactions, 1, f"{owner}.num_interactions")

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Each user's first (or last) rows, in input order."""
        require_columns(df, (USER,), type(self).__name__)
        key = df[TIMESTAMP].to_numpy() if TIMESTAMP in df.columns else np.arange(len(df))
        codes, _ = pd.factorize(df[USER], sort=False)
        order = np.lexsort((np.arange(len(df)), key, codes))
        counts = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        place = np.empty(len(df), dtype=np.int64)
        place[order] = np.arange(len(df)) - np.repeat(starts, counts)
        if self.last:
            return df[place >= counts[codes] - self.num_interactions]
        return df[place < self.num_interactions]


class UserHeadN(_UserEnds):
    """WarpRec's ``UserHeadN``: keep each user's first ``num_interactions`` rows in time
    order.

    Args:
        num_interactions: rows kept per user.
    """

    last = False


class UserTailN(_UserEnds):
    """WarpRec's ``UserTailN``: keep each user's last ``num_interactions`` rows in time
    order.

    Args:
        num_interactions: rows kept per user.
    """

    last = True
