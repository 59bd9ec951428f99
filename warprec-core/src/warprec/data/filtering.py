"""Filters: callables that take the interaction table and return the rows to keep.

In a config they are written ``filtering: [{strategy: KCore, k: 5}, ...]``: the name is
looked up in ``filter_registry`` and the other keys are constructor arguments. A plugin
filter is any class with ``__call__(df) -> df``; :func:`apply_filters` counts the rows
each filter drops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from warprec.data.schema import ITEM, RATING, USER, require_columns
from warprec.errors import ConfigError

__all__ = [
    "DropIds",
    "ItemMinInteractions",
    "KCore",
    "MinRating",
    "UserMinInteractions",
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


def _min_count(name: str, value: int, owner: str) -> int:
    if int(value) != value or value < 1:
        raise ConfigError(f"{owner}.{name} must be a positive integer, got {value!r}")
    return int(value)


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


class UserMinInteractions:
    """Keep the users with at least ``min_interactions`` rows (one pass).

    Args:
        min_interactions: the fewest rows a kept user has.
    """

    def __init__(self, min_interactions: int):
        self.min_interactions = _min_count(
            "min_interactions", min_interactions, "UserMinInteractions"
        )

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of the users with enough rows."""
        require_columns(df, (USER,), "UserMinInteractions")
        return df[_frequent(df[USER], self.min_interactions)]


class ItemMinInteractions:
    """Keep the items with at least ``min_interactions`` rows (one pass).

    Args:
        min_interactions: the fewest rows a kept item has.
    """

    def __init__(self, min_interactions: int):
        self.min_interactions = _min_count(
            "min_interactions", min_interactions, "ItemMinInteractions"
        )

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of the items with enough rows."""
        require_columns(df, (ITEM,), "ItemMinInteractions")
        return df[_frequent(df[ITEM], self.min_interactions)]


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
        self.user_k = _min_count("user_k", k if user_k is None else user_k, "KCore")
        self.item_k = _min_count("item_k", k if item_k is None else item_k, "KCore")

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


class DropIds:
    """Drop every row of the listed users and items (original ids).

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
        drop = df[USER].isin(self.users).to_numpy() | df[ITEM].isin(self.items).to_numpy()
        return df[~drop]
