"""The file formats WarpRec writes and reads: recommendation lists and split parts.

WarpRec 2.2.8 writes a recommendation file as ``user_id<TAB>item_id<TAB>rating`` (header
row first, original ids, the score in the third column, each user's items best first)
and the split parts as the interaction table with the reader's column labels. The
functions here take plain arrays and frames, so the experiment runner, the
:class:`~warprec.recommenders.proxy.ProxyRecommender` and tests share one definition.
Our ``rank`` column (1 = best) is written only when asked, as the last column, so a
reader taking the first three columns (WarpRec's) still reads the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from warprec.errors import ConfigError, DataError

__all__ = [
    "RANK",
    "read_recommendations",
    "recommendation_frame",
    "write_split_part",
    "write_table",
]

RANK = "rank"


def recommendation_frame(
    users: np.ndarray,
    items: np.ndarray,
    scores: np.ndarray,
    *,
    user_label: str = "user_id",
    item_label: str = "item_id",
    rating_label: str = "rating",
    rank: bool = False,
) -> pd.DataFrame:
    """The long table of top-k lists: one row per (user, recommended item).

    Args:
        users: ``[B]`` original user ids.
        items: ``[B, k]`` original item ids, best first.
        scores: ``[B, k]`` their scores; non-finite entries (masked items a user had
            too few candidates to replace) are left out.
        user_label, item_label, rating_label: the column names (WarpRec's defaults).
        rank: add a ``rank`` column (1 = best) after the score.

    Returns:
        Columns ``user_label, item_label, rating_label`` (``, rank``), users in the
        given order, each user's items best first.
    """
    items, scores = np.asarray(items), np.asarray(scores)
    if items.shape != scores.shape or items.ndim != 2 or items.shape[0] != len(users):
        raise DataError(f"recommendation_frame: items {items.shape} and scores "
                        f"{scores.shape} must both be [len(users)={len(users)}, k]")
    labels = [user_label, item_label, rating_label] + ([RANK] if rank else [])
    if len(set(labels)) != len(labels):
        raise ConfigError(f"writer.recommendation: column labels {labels} must be distinct")
    keep = np.isfinite(scores)
    rows = np.repeat(np.arange(len(users)), items.shape[1]).reshape(items.shape)
    columns: dict[str, Any] = {
        user_label: np.asarray(users)[rows[keep]],
        item_label: items[keep],
        rating_label: scores[keep],
    }
    if rank:
        columns[RANK] = np.tile(np.arange(1, items.shape[1] + 1), (len(users), 1))[keep]
    return pd.DataFrame(columns)


def write_table(handle: IO[str], frame: pd.DataFrame, *, sep: str = "\t",
                header: bool = True) -> None:
    """Write ``frame`` as delimited text (no index), WarpRec's layout for every table."""
    frame.to_csv(handle, sep=sep, header=header, index=False)


def write_split_part(handle: IO[str], frame: pd.DataFrame, labels: Mapping[str, str], *,
                     sep: str = "\t", header: bool = True) -> None:
    """Write one split part (train, validation, test) as WarpRec does: the interaction
    columns renamed to the reader's labels (``labels``: standard name -> file label), so
    ``reader.loading_strategy: split`` reads the folder back."""
    write_table(handle, frame.rename(columns=dict(labels)), sep=sep, header=header)


def read_recommendations(
    source: str | PathLike[str] | IO[str], *, sep: str = "\t", header: bool = True
) -> pd.DataFrame:
    """Read a recommendation file of any framework: ``user, item, score`` and optional
    further columns (our ``rank``).

    With a header, a column named ``rank`` is ignored wherever it stands and the first
    three remaining columns are user, item and score (WarpRec's ``user_id, item_id,
    rating``; ours, any labels). Without one, the first three columns are. Ids are read
    as text (``"7"``), so they can be matched against ids of any type.

    Returns:
        Columns ``user``, ``item`` (strings) and ``score`` (float64), in file order.

    Raises:
        DataError: the file is missing, empty, has fewer than three columns, or a score
            is not a number.
    """
    name = getattr(source, "name", source)
    try:
        with _bounded(source) as handle:
            frame = pd.read_csv(handle, sep=sep, header=0 if header else None, dtype=str,
                                keep_default_na=False,
                                engine="c" if len(sep) == 1 else "python")
    except FileNotFoundError:
        raise DataError(f"recommendation file {name}: not found") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"recommendation file {name}: empty; expected rows of "
                        "user, item, score") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"recommendation file {name}: malformed ({first})") from None
    if header:
        frame = frame.loc[:, [c for c in frame.columns if str(c).strip().lower() != RANK]]
    if frame.shape[1] < 3:
        raise DataError(f"recommendation file {name}: {frame.shape[1]} column(s) with "
                        f"separator {sep!r}; expected user, item, score[, rank]")
    frame = frame.iloc[:, :3]
    frame.columns = ["user", "item", "score"]
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = scores.isna() & (frame["score"].str.strip().str.lower() != "nan")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + (2 if header else 1)
        raise DataError(f"recommendation file {name}, line {row}: score "
                        f"{frame['score'].iloc[row - (2 if header else 1)]!r} is not a number")
    return frame.assign(score=scores.astype(np.float64))


def _bounded(source: str | PathLike[str] | IO[str]) -> Any:
    """A file named by path, opened with the reader's bound on the length of a line."""
    if not isinstance(source, str | PathLike):
        return nullcontext(source)
    from warprec.data.bounded import open_bounded

    return open_bounded(Path(source)) or nullcontext(source)
