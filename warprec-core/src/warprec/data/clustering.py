"""WarpRec's clustering files (``reader.clustering``): user or item groups for the
fairness metrics.

A clustering file has two columns, the user (item) id and its cluster, tab-separated with
a header by default (WarpRec's ``user_sep``/``item_sep``, ``user_header``/``item_header``;
with a header the columns are found by name: ``user_id``/``item_id`` and ``cluster``;
without one, by position). Parquet files are read by column name.

:func:`group_lookup` turns the assignments into the array the evaluator takes
(``Evaluator(user_groups=..., item_groups=...)``), as WarpRec does: the distinct cluster
values, sorted, become groups ``1..G``; an id the file does not list gets ``0``; ids in the
file but not in the dataset are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from warprec.errors import DataError

__all__ = ["group_lookup", "read_clusters", "read_groups"]

_PARQUET = (".parquet", ".pq")


def read_clusters(
    path: str | Path,
    id_column: str = "user_id",
    cluster_column: str = "cluster",
    sep: str = "\t",
    header: bool = True,
) -> pd.Series:
    """Read a clustering file into a Series ``cluster`` indexed by the original id.

    Args:
        path: the file (delimited text, possibly compressed, or parquet).
        id_column: the id column's name (``"user_id"`` or ``"item_id"``; WarpRec's
            ``reader.labels``), used when the file has a header.
        cluster_column: the cluster column's name (WarpRec's ``labels.cluster_label``).
        sep: the separator of a text file.
        header: whether a text file has a header row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"clustering file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() in _PARQUET:
            frame = pd.read_parquet(path)
        elif header:
            frame = pd.read_csv(path, sep=sep, header=0)
        else:
            frame = pd.read_csv(path, sep=sep, header=None)
    except (ValueError, OSError, ImportError) as exc:
        raise DataError(f"clustering file {str(path)!r} could not be read: {exc}") from exc
    if header or path.suffix.lower() in _PARQUET:
        missing = [c for c in (id_column, cluster_column) if c not in frame.columns]
        if missing:
            raise DataError(
                f"clustering file {str(path)!r} has no column {missing[0]!r}; found "
                f"{', '.join(map(str, frame.columns))} (expected {id_column!r} and "
                f"{cluster_column!r}, or header=False for positional columns)"
            )
        frame = frame[[id_column, cluster_column]]
    elif frame.shape[1] < 2:
        raise DataError(
            f"clustering file {str(path)!r} has {frame.shape[1]} column; expected 2 "
            f"(id, cluster) separated by {sep!r}"
        )
    frame = frame.iloc[:, :2]
    frame.columns = ["id", "cluster"]
    if frame["cluster"].isna().any():
        line = int(frame.index[frame["cluster"].isna()][0]) + (2 if header else 1)
        raise DataError(f"clustering file {str(path)!r}: line {line} has no cluster")
    duplicated = frame["id"].duplicated(keep=False)
    if duplicated.any():
        clashes = frame[duplicated].groupby("id")["cluster"].nunique()
        if (clashes > 1).any():
            raise DataError(
                f"clustering file {str(path)!r} puts id {clashes[clashes > 1].index[0]} "
                "in two clusters; expected one cluster per id"
            )
        frame = frame.drop_duplicates("id")
    return pd.Series(frame["cluster"].to_numpy(), index=pd.Index(frame["id"]), name="cluster")


def group_lookup(assignments: pd.Series | dict[Any, Any], ids: np.ndarray) -> np.ndarray:
    """``[len(ids)]`` int64 group of each id: ``1..G`` (sorted distinct clusters), ``0``
    for an id without one.

    Args:
        assignments: cluster by original id (:func:`read_clusters`, or a dict).
        ids: the dataset's original ids in index order (``Dataset.user_ids`` /
            ``Dataset.item_ids``).
    """
    series = assignments if isinstance(assignments, pd.Series) else pd.Series(assignments)
    ids = np.asarray(ids)
    lookup = pd.Index(series.index)
    if not _same_kind(lookup.to_numpy(), ids):
        # A file read as text against numeric ids (or the reverse): match as strings.
        lookup = pd.Index(lookup.astype(str))
        ids = ids.astype(str)
    if not lookup.is_unique:
        raise DataError("cluster assignments list an id twice; expected one cluster per id")
    present = lookup.get_indexer(ids)
    clusters = series.to_numpy()
    in_dataset = present[present >= 0]
    distinct = np.sort(pd.unique(clusters[in_dataset])) if in_dataset.size else np.array([])
    codes = np.searchsorted(distinct, clusters[in_dataset]) + 1 if distinct.size else []
    groups = np.zeros(len(ids), dtype=np.int64)
    groups[present >= 0] = codes
    return groups


def read_groups(path: str | Path, ids: np.ndarray, kind: str = "user", **options: Any
                ) -> np.ndarray:  # fmt: skip
    """:func:`read_clusters` then :func:`group_lookup`: the evaluator's group array.

    Args:
        path: the clustering file.
        ids: the dataset's original ids (``dataset.user_ids`` or ``dataset.item_ids``).
        kind: ``"user"`` or ``"item"`` (the default id column ``user_id``/``item_id``).
        **options: ``id_column``, ``cluster_column``, ``sep``, ``header`` of
            :func:`read_clusters`.
    """
    if kind not in ("user", "item"):
        raise DataError(f"clustering kind must be 'user' or 'item', got {kind!r}")
    options.setdefault("id_column", f"{kind}_id")
    return group_lookup(read_clusters(path, **options), ids)


def _same_kind(a: np.ndarray, b: np.ndarray) -> bool:
    numeric = (np.issubdtype(a.dtype, np.number), np.issubdtype(b.dtype, np.number))
    return numeric[0] == numeric[1]
