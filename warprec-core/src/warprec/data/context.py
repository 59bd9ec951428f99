"""Context columns (``reader.labels.context_labels``): the situation of each interaction.

A context column is categorical, as WarpRec's ``token`` fields: each distinct value of
the training part is a category, indexed ``1..n`` in sorted order; ``0`` is reserved
for a value never seen in training (and for padding), so a column has ``n + 1``
categories (WarpRec's ``context_dims``). Values are read as integers (numeric columns,
and the ``int*`` context types) or as text (``str``); a column with missing values,
non-integer numbers or values of several kinds is refused with one line naming the
column and the first offending row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from warprec.errors import DataError

__all__ = ["ContextEncoder", "Transactions", "check_context_columns"]

RowNamer = Callable[[pd.Series, np.ndarray], str]


def check_context_columns(frame: pd.DataFrame, labels: Sequence[str],
                          types: Mapping[str, str], row: RowNamer) -> pd.DataFrame:
    """``frame`` with each context column checked and read as its type; ``row(values,
    mask)`` names the first row of ``mask`` in messages."""
    columns = {label: _checked(frame[label], label, types.get(label), row) for label in labels}
    return frame.assign(**columns)


def _checked(values: pd.Series, label: str, kind: str | None, row: RowNamer) -> pd.Series:
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{row(values, missing)}: empty value in context column {label!r}; "
                        "expected a category for every row")
    if kind == "str":
        return values.astype(str)
    if pd.api.types.is_bool_dtype(values):
        return values.astype(np.int64)
    if pd.api.types.is_numeric_dtype(values):
        return _integers(values, label, row)
    if kind is not None:  # an integer type: text must read as integers
        parsed = pd.to_numeric(values, errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            first = values.iloc[int(np.flatnonzero(bad)[0])]
            raise DataError(f"{row(values, bad)}: context column {label!r} has {first!r}; "
                            f"expected an integer (reader.dtypes.context_types: {kind})")
        return _integers(parsed, label, row)
    kinds = values.map(type)
    mixed = (kinds != kinds.iloc[0]).to_numpy()
    if mixed.any():
        raise DataError(f"{row(values, mixed)}: context column {label!r} mixes "
                        f"{kinds.iloc[0].__name__} and {kinds[mixed].iloc[0].__name__} "
                        "values; expected one kind (set reader.dtypes.context_types)")
    return values


def _integers(values: pd.Series, label: str, row: RowNamer) -> pd.Series:
    numbers = values.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if bad.any():
        first = numbers[int(np.flatnonzero(bad)[0])].item()
        raise DataError(f"{row(values, bad)}: context column {label!r} has {first!r}; "
                        "expected a category (an integer or text: float context fields "
                        "are not supported)")
    return values.astype(np.int64)


class ContextEncoder:
    """The category index of each context value, fitted on the training rows.

    Args:
        train: the training rows, holding every column of ``labels``.
        labels: the context columns, in the order of the index columns.
    """

    def __init__(self, train: pd.DataFrame, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.categories: dict[str, pd.Index] = {}
        for label in self.labels:
            try:
                self.categories[label] = pd.Index(pd.unique(train[label])).sort_values()
            except TypeError:
                raise DataError(f"train data: context column {label!r} mixes values that "
                                "cannot be ordered; expected one kind of value") from None

    @property
    def dims(self) -> dict[str, int]:
        """``{column: number of categories}``, index ``0`` (unknown) included."""
        return {label: len(values) + 1 for label, values in self.categories.items()}

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """``[rows, n_columns]`` int64 category indices; a value not in training is ``0``."""
        encoded = np.zeros((len(frame), len(self.labels)), dtype=np.int64)
        for column, label in enumerate(self.labels):
            encoded[:, column] = self.categories[label].get_indexer(frame[label]) + 1
        return encoded



class Transactions:
    """Every row of a part with its context, repeated (user, item) pairs included.

    The matrix view (:class:`~warprec.data.dataset.Interactions`) holds one cell per
    pair, so it cannot hold the same pair seen in several contexts: the context-aware
    models train on these rows, and their evaluation ranks one list per row, under the
    row's context (WarpRec's ``Transactions``).

    Args:
        users / items: index of each row's user and item.
        contexts: ``[rows, n_columns]`` int64 category indices (see :class:`ContextEncoder`).
        ratings: each row's rating, ``None`` for implicit feedback (1.0).
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, contexts: np.ndarray,
                 ratings: np.ndarray | None = None) -> None:
        self.users = np.asarray(users, dtype=np.int64)
        self.items = np.asarray(items, dtype=np.int64)
        self.contexts = np.asarray(contexts, dtype=np.int64)
        if self.contexts.ndim != 2 or len(self.contexts) != len(self.users):
            raise DataError(f"Transactions: contexts must be [rows, columns] with one row "
                            f"per user, got shape {self.contexts.shape} for "
                            f"{len(self.users)} rows")
        self.ratings = None if ratings is None else np.asarray(ratings, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.users.size)

    def __repr__(self) -> str:
        return f"Transactions(n={len(self)}, n_context_columns={self.contexts.shape[1]})"

    def subset(self, keep: np.ndarray) -> Transactions:
        """The rows where ``keep`` is True."""
        ratings = None if self.ratings is None else self.ratings[keep]
        return Transactions(self.users[keep], self.items[keep], self.contexts[keep], ratings)

    def concat(self, other: Transactions) -> Transactions:
        """These rows, then ``other``'s."""
        ratings = None
        if self.ratings is not None and other.ratings is not None:
            ratings = np.concatenate([self.ratings, other.ratings])
        return Transactions(np.concatenate([self.users, other.users]),
                            np.concatenate([self.items, other.items]),
                            np.concatenate([self.contexts, other.contexts]), ratings)

    def seen_in_context(self, users: np.ndarray, contexts: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """``(query, item)`` pairs: the items each query's user had in these rows under
        exactly the query's context (query ``q`` is ``(users[q], contexts[q])``)."""
        if not len(self) or not users.size:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        _, ids = np.unique(np.vstack([self.contexts, contexts]), axis=0, return_inverse=True)
        ids = ids.ravel()
        n_contexts = int(ids.max()) + 1
        row_keys = self.users * n_contexts + ids[: len(self)]
        query_keys = users.astype(np.int64) * n_contexts + ids[len(self):]
        order = np.argsort(row_keys, kind="stable")
        sorted_keys = row_keys[order]
        start = np.searchsorted(sorted_keys, query_keys, side="left")
        stop = np.searchsorted(sorted_keys, query_keys, side="right")
        counts = stop - start
        queries = np.repeat(np.arange(users.size), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        items = self.items[order[np.repeat(start, counts) + offsets]]
        return queries, items

