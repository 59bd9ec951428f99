"""Side information (``reader.side``): item attributes, read as WarpRec reads them.

A side file is a table whose id column (``reader.labels.item_id_label`` when the file has
a header, else its first column) holds the item ids of the interactions and whose other
columns are features. As in WarpRec:

- a numeric column is one feature whose value is kept (empty cells count 0);
- any other column is categorical: one indicator feature per distinct value;
- an item may take several rows (the long layout), one per value of a multi-valued
  attribute; ``list_sep`` (this project's addition) also splits a cell such as
  ``Action|Comedy`` into its values;
- after the split, interactions of items that have no side row are dropped from every
  part (counted as ``<part>_without_features``), and side rows of items the data does not
  hold are ignored.

What WarpRec accepts silently and this module refuses, each with one line naming the
file and line: an empty file, a row without id, an id without any feature value, a
column mixing numbers and text, a repeated identical row, a numeric attribute given two
values for one item, and ids that match none of the interactions' (e.g. text ids beside
numeric ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from warprec.errors import DataError
from warprec.utils.checks import shorten

__all__ = ["SideInformation", "read_side", "side_information"]

_PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class SideInformation:
    """A checked side table: ``ids`` (one per row), ``columns`` (name -> values per row:
    floats for numeric columns, strings for categorical ones) and where it came from."""

    source: str
    ids: pd.Series
    columns: dict[str, pd.Series]

    def restrict(self, frames: dict[str, pd.DataFrame | None], item_column: str,
                 report: dict[str, int]) -> dict[str, pd.DataFrame | None]:
        """``frames`` without the rows of items that have no side row (WarpRec drops
        them after the split); the dropped rows are counted in ``report``."""
        described = pd.Index(self.ids.unique())
        kept: dict[str, pd.DataFrame | None] = {}
        for part, frame in frames.items():
            if frame is None:
                kept[part] = None
                continue
            mask = frame[item_column].isin(described).to_numpy()
            if part == "train" and not mask.any():
                raise self._no_match(frame[item_column])
            if not mask.all():
                report[f"{part}_without_features"] = int((~mask).sum())
            kept[part] = frame[mask].reset_index(drop=True) if not mask.all() else frame
        return kept

    def _no_match(self, item_ids: pd.Series) -> DataError:
        side_id, data_id = self.ids.iloc[0], item_ids.iloc[0]
        return DataError(
            f"{self.source}: none of its ids is an item id of the interactions (side id "
            f"{_show(side_id)} ({type(side_id).__name__}), interaction item id {_show(data_id)} "
            f"({type(data_id).__name__})); expected its id column to hold the item ids")

    def matrix(self, item_ids: np.ndarray) -> tuple[sp.csr_matrix, list[str]]:
        """The ``(len(item_ids), n_features)`` float32 feature matrix, rows in the order
        of ``item_ids`` (items without a side row: zeros), and the feature names
        (``column`` for a numeric column, ``column=value`` for an indicator)."""
        rows_of = pd.Index(item_ids).get_indexer(self.ids)
        known = rows_of >= 0
        rows, cols, data, names = [], [], [], []
        numeric_columns: list[int] = []
        for name, values in self.columns.items():
            values = values[known]
            item_rows = rows_of[known]
            if _is_numeric(values):
                # One value per item (checked on reading); empty cells count 0.
                numbers = values.to_numpy()
                given = np.flatnonzero(~np.isnan(numbers) & (numbers != 0))
                given = given[~pd.Series(item_rows[given]).duplicated().to_numpy()]
                rows.append(item_rows[given])
                cols.append(np.full(given.size, len(names)))
                data.append(numbers[given])
                numeric_columns.append(len(names))
                names.append(name)
                continue
            present = values.notna().to_numpy()
            uniques, codes = np.unique(values[present].to_numpy(dtype=str), return_inverse=True)
            rows.append(item_rows[present])
            cols.append(codes + len(names))
            data.append(np.ones(codes.size))
            names.extend(f"{name}={value}" for value in uniques)
        shape = (len(item_ids), len(names))
        if not names:
            return sp.csr_matrix(shape, dtype=np.float32), names
        matrix = sp.csr_matrix((np.concatenate(data), (np.concatenate(rows),
                                np.concatenate(cols))), shape=shape, dtype=np.float32)
        # A long layout with several categorical columns repeats an item's values across
        # its rows; each value counts once (WarpRec adds the repeats up).
        matrix.sum_duplicates()
        matrix.data[~np.isin(matrix.indices, numeric_columns)] = 1.0
        return matrix, names


def read_side(
    path: str | Path,
    *,
    id_column: str,
    id_dtype: Any,
    sep: str = "\t",
    header: bool = True,
    column_names: Sequence[str] | None = None,
    list_sep: str | None = None,
) -> SideInformation:
    """Read and check one side file.

    Args:
        path: a delimited text file (optionally compressed) or a ``.parquet``/``.pq`` file.
        id_column: the id column's name (WarpRec's ``labels.item_id_label``) in a file
            with a header; without one the first column is the id.
        id_dtype: the dtype of the interactions' item ids: the side ids are read as it.
        sep: field separator of a text file.
        header: whether a text file's first line names the columns.
        column_names: the column names of a headerless file (the first is the id);
            default: the id, then ``feature_1``, ``feature_2``...
        list_sep: splits the cells of categorical columns into several values.
    """
    path = Path(path)
    source = f"side file {str(path)!r}"
    frame = _read_frame(path, source, sep, header, column_names)
    first_line = 2 if header and path.suffix.lower() not in _PARQUET else 1
    if frame.empty:
        raise DataError(f"{source}: has no rows; expected an id column and feature columns")
    if header or path.suffix.lower() in _PARQUET:
        if id_column not in frame.columns:
            hint = (f"; is {sep!r} its separator (reader.side.sep)?"
                    if frame.shape[1] == 1 else "")
            raise DataError(f"{source}: no id column {id_column!r}; found "
                            f"{shorten(', '.join(map(str, frame.columns)))} (expected the "
                            f"item id column of reader.labels){hint}")
        frame = frame[[id_column, *[c for c in frame.columns if c != id_column]]]
    if frame.shape[1] < 2:
        raise DataError(f"{source}: has only the id column; expected feature columns "
                        f"after it (separated by {sep!r})")
    frame.index = pd.RangeIndex(first_line, first_line + len(frame))  # file line numbers
    return side_information(frame, id_dtype, source, list_sep)


def side_information(frame: pd.DataFrame, id_dtype: Any, source: str = "side table",
                     list_sep: str | None = None) -> SideInformation:
    """Check a side table (the id column first; the index numbers its lines in the
    messages) and read its columns as :func:`read_side` does."""
    if frame.empty or frame.shape[1] < 2:
        raise DataError(f"{source}: has no rows or no feature column; expected an id "
                        "column and feature columns")
    ids = _ids(frame.iloc[:, 0], id_dtype, source)
    features = {str(name): _feature(frame[name], str(name), source)
                for name in frame.columns[1:]}
    _check_rows(ids, features, source)
    if list_sep:
        ids, features = _split_lists(ids, features, list_sep)
    return SideInformation(source, ids, features)


def _read_frame(path: Path, source: str, sep: str, header: bool,
                column_names: Sequence[str] | None) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{source} does not exist")
    try:
        if path.suffix.lower() in _PARQUET:
            frame = pd.read_parquet(path)
            return frame.astype(object).where(frame.notna(), None)
        frame = pd.read_csv(path, sep=sep, header=0 if header else None, dtype=str,
                            keep_default_na=False, engine="python" if len(sep) > 1 else "c")
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: is empty; expected an id column and feature "
                        "columns") from None
    except (ValueError, OSError, ImportError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: could not be read: {shorten(str(exc))}") from exc
    if not header:
        names = list(column_names or [])
        if names and len(names) != frame.shape[1]:
            raise DataError(f"{source}: reader.side.column_names names {len(names)} "
                            f"columns, the file has {frame.shape[1]}")
        frame.columns = names or ["id", *(f"feature_{i}" for i in range(1, frame.shape[1]))]
    return frame.replace("", None)


def _ids(values: pd.Series, id_dtype: Any, source: str) -> pd.Series:
    missing = values.isna()
    if missing.any():
        raise DataError(f"{source}: line {values.index[missing][0]} has features but no "
                        "id; expected an item id in the first column")
    if not pd.api.types.is_numeric_dtype(id_dtype):
        return values.astype(object).map(str)
    numbers = pd.to_numeric(values, errors="coerce")
    wrong = numbers.isna()
    if wrong.any():
        line = values.index[wrong][0]
        raise DataError(f"{source}: line {line} has the id {values[line]!r}; expected a "
                        "number, like the item ids of the interactions")
    if pd.api.types.is_integer_dtype(id_dtype) and (numbers % 1 != 0).any():
        line = values.index[numbers % 1 != 0][0]
        raise DataError(f"{source}: line {line} has the id {values[line]!r}; expected an "
                        "integer, like the item ids of the interactions")
    return numbers.astype(id_dtype)


def _feature(values: pd.Series, name: str, source: str) -> pd.Series:
    """A column as floats (every value a number) or strings (none is); mixed: an error."""
    present = values.notna()
    numbers = pd.to_numeric(values, errors="coerce")
    is_number = numbers.notna() & present
    if is_number[present].all():
        return numbers.astype(np.float64)
    if is_number.any():
        number_line, text_line = values.index[is_number][0], values.index[present & ~is_number][0]
        raise DataError(f"{source}: column {name!r} mixes numbers (line {number_line}: "
                        f"{values[number_line]!r}) and text (line {text_line}: "
                        f"{values[text_line]!r}); expected one kind per column")
    return values.astype(object).where(present, None).map(
        lambda v: v if v is None else str(v))


def _check_rows(ids: pd.Series, features: dict[str, pd.Series], source: str) -> None:
    table = pd.DataFrame({"__id__": ids, **features})
    empty = table.drop(columns="__id__").isna().all(axis=1)
    if empty.any():
        line = table.index[empty][0]
        raise DataError(f"{source}: line {line} has the id {_show(ids[line])} but no feature "
                        "value; expected at least one")
    repeated = table.duplicated(keep=False)
    if repeated.any():
        first, second = table.index[repeated][:2]
        raise DataError(f"{source}: lines {first} and {second} are the same row (id "
                        f"{_show(ids[first])}); expected each row once")
    for name, values in features.items():
        if not _is_numeric(values):
            continue
        per_item = pd.DataFrame({"id": ids, "v": values.fillna(0.0)}).drop_duplicates()
        clash = per_item["id"].duplicated(keep=False)
        if clash.any():
            first, second = per_item.index[clash][:2]
            raise DataError(f"{source}: numeric column {name!r} gives the id "
                            f"{_show(ids[first])} two values (lines {first} and {second}); "
                            "expected one value per id")


def _split_lists(ids: pd.Series, features: dict[str, pd.Series],
                 list_sep: str) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Each categorical cell ``a|b`` becomes values ``a`` and ``b`` of the same item (one
    row per value, the other columns empty there, as in the long layout)."""
    parts = []
    for name, values in features.items():
        if not _is_numeric(values):
            values = values.map(lambda v: [p.strip() for p in v.split(list_sep) if p.strip()]
                                or None if v is not None else None).explode()
        parts.append(pd.DataFrame({"id": ids[values.index].to_numpy(), name: values.to_numpy()}))
    long = pd.concat(parts, ignore_index=True)
    columns = {name: long[name].astype(np.float64) if _is_numeric(features[name])
               else long[name].astype(object).where(long[name].notna(), None)
               for name in features}
    return long["id"], columns


def _show(value: Any) -> str:
    """A value as the file shows it (numpy scalars without their type)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(values.dtype)
