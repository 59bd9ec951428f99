"""The standard column names every reader, filter and splitter works with."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from warprec.errors import DataError

__all__ = ["ITEM", "RATING", "TIMESTAMP", "USER", "require_columns"]

USER = "user_id"
ITEM = "item_id"
RATING = "rating"
TIMESTAMP = "timestamp"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise :class:`DataError` naming the first of ``columns`` missing from ``frame``."""
    for column in columns:
        if column not in frame.columns:
            raise DataError(
                f"{where}: missing column {column!r} (columns present: {list(frame.columns)})"
            )
