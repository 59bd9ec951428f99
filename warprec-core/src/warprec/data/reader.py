"""Readers: delimited text and parquet files into the standard interaction table.

The result has the columns ``user_id``, ``item_id`` and, when the file has them,
``rating`` and ``timestamp`` (numeric; date strings become Unix seconds). Every problem
is one :class:`DataError` line naming the file, the column and, where there is one, the
first offending line; every row a policy drops is counted in ``ReadResult.dropped``.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from warprec.data.bounded import MAX_FIELD_CHARS, open_bounded
from warprec.data.context import check_context_columns
from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
from warprec.errors import DataError
from warprec.utils.checks import shorten

__all__ = ["DUPLICATE_POLICIES", "ReadResult", "SplitData", "merge_duplicates",
           "read_interactions", "read_split"]

DUPLICATE_POLICIES = ("first", "last", "max", "mean", "sum")
_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".dat": "\t", ".inter": "\t"}
_PARQUET = (".parquet", ".pq")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst")
_SPLIT_PARTS = ("train", "validation", "test")


@dataclass
class ReadResult:
    """A read table (standard columns), its feedback kind, and the rows dropped by
    policy (``{"missing_rating": 3, "duplicates": 10}``)."""

    data: pd.DataFrame
    implicit: bool
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class SplitData:
    """The parts of a pre-split folder; ``dropped`` counts per part, e.g.
    ``{"test_duplicates": 2}``."""

    train: pd.DataFrame
    validation: pd.DataFrame | None
    test: pd.DataFrame
    implicit: bool
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Options:
    sep: str | None
    header: bool
    names: Sequence[str] | None
    columns: dict[str, str | None]  # standard name -> name in the file
    implicit: bool
    duplicates: str
    missing: str
    context: tuple[str, ...] = ()
    context_types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.duplicates not in DUPLICATE_POLICIES:
            raise DataError(
                f"unknown duplicates policy {self.duplicates!r}: expected one of "
                f"{DUPLICATE_POLICIES}"
            )
        if self.missing not in ("error", "drop"):
            raise DataError(
                f"unknown missing-value policy {self.missing!r}: expected 'error' or 'drop'"
            )


def read_interactions(
    path: str | Path,
    *,
    sep: str | None = None,
    header: bool = True,
    names: Sequence[str] | None = None,
    user_col: str = USER,
    item_col: str = ITEM,
    rating_col: str | None = RATING,
    timestamp_col: str | None = TIMESTAMP,
    implicit: bool = False,
    duplicates: str = "last",
    missing: str = "error",
    context_cols: Sequence[str] = (),
    context_types: Mapping[str, str] | None = None,
) -> ReadResult:
    """Read one interaction file.

    Args:
        path: a delimited text file (optionally compressed: ``.gz``, ``.bz2``, ``.xz``,
            ``.zip``, ``.zst``), or a ``.parquet``/``.pq`` file (needs pyarrow).
        sep: field separator; by default from the extension (``.csv``: comma, else tab).
            A separator longer than one character is read by the slower Python parser.
        header: whether the first line names the columns (text files).
        names: column names of a headerless file; default: user, item, rating,
            timestamp column names, in that order, for as many columns as the file has.
        user_col: name of the user id column in the file.
        item_col: name of the item id column in the file.
        rating_col: name of the rating column (required unless ``implicit``; ``None``:
            no rating column).
        timestamp_col: name of the timestamp column, read when present (``None``: never).
        implicit: implicit feedback: the rating column is optional.
        duplicates: how repeated (user, item) rows merge: ``first``/``last`` (file order),
            ``max`` (the row with the highest rating), ``mean``/``sum`` (of the ratings,
            latest timestamp).
        missing: ``error`` (default) or ``drop`` rows with an empty user, item, rating
            or timestamp value; dropped rows are counted per column.
        context_cols: context columns kept under their own names (categories, see
            :mod:`warprec.data.context`); with them every row is kept, repeated (user,
            item) pairs included (the dataset merges them for its matrix view only).
        context_types: how context columns are read (``int16``/``int32``/``int64``:
            integers only; ``str``: text).

    Returns:
        A :class:`ReadResult`.
    """
    columns = {USER: user_col, ITEM: item_col, RATING: rating_col, TIMESTAMP: timestamp_col}
    options = _Options(sep, header, names, columns, implicit, duplicates, missing,
                       tuple(context_cols), dict(context_types or {}))
    data, dropped = _read_one(Path(path), options)
    return ReadResult(data, implicit or RATING not in data.columns, dropped)


def read_split(
    folder: str | Path,
    **options: Any,
) -> SplitData:
    """Read a pre-split folder holding ``train.<ext>``, optional ``validation.<ext>`` and
    ``test.<ext>`` (any extension :func:`read_interactions` reads); ``options`` are those
    of :func:`read_interactions`, applied to every part."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected train, validation, test files)")
    parts: dict[str, pd.DataFrame | None] = {}
    dropped: dict[str, int] = {}
    implicit = False
    for part in _SPLIT_PARTS:
        path = _part_file(folder, part)
        if path is None:
            parts[part] = None
            continue
        result = read_interactions(path, **options)
        parts[part] = result.data
        implicit = implicit or result.implicit
        dropped.update({f"{part}_{key}": value for key, value in result.dropped.items()})
    train, test = parts["train"], parts["test"]
    assert train is not None and test is not None  # _part_file raises for these
    return SplitData(train, parts["validation"], test, implicit, dropped)


def _part_file(folder: Path, part: str) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name.split(".")[0] == part)
    if len(found) > 1:
        raise DataError(f"{folder}: several {part} files ({', '.join(p.name for p in found)})")
    if not found and part != "validation":
        raise DataError(f"{folder}: no {part} file (expected e.g. {part}.tsv or {part}.csv)")
    return found[0] if found else None


def _read_one(path: Path, options: _Options) -> tuple[pd.DataFrame, dict[str, int]]:
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected an interaction file")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    parquet = _format_suffix(path) in _PARQUET
    raw = _read_parquet(path) if parquet else _read_text(path, options)
    where = _Where(path, 1, "row") if parquet else _Where(path, 2 if options.header else 1, "line")
    if raw.empty:
        raise DataError(f"{path}: no data rows")
    frame = _select(raw, path, options)
    _check_id_lengths(frame, where, options)
    dropped: dict[str, int] = {}
    frame = _numeric(frame, where, RATING, dropped, options)
    frame = _numeric(frame, where, TIMESTAMP, dropped, options)
    frame = _ids(frame, where, dropped, options)
    if frame.empty:
        raise DataError(f"{path}: no rows left after dropping rows with missing values")
    if options.context:
        # Every row is an event in its own context: nothing to merge here.
        return check_context_columns(frame, options.context, options.context_types,
                                     where.row), dropped
    before = len(frame)
    frame = merge_duplicates(frame, options.duplicates)
    if len(frame) < before:
        dropped["duplicates"] = before - len(frame)
    if len(frame) < len(raw):
        frame = frame.reset_index(drop=True)
    return frame, dropped


def _format_suffix(path: Path) -> str:
    """The extension that names the format: ``data.csv.gz`` -> ``.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _read_text(path: Path, options: _Options) -> pd.DataFrame:
    sep = options.sep or _SEPARATORS.get(_format_suffix(path), "\t")
    raw = _read_text_with(path, sep, options)
    if options.sep is None and sep != "\t" and _tab_separated(raw, options.header):
        # WarpRec's default separator is a tab whatever the extension (its Frappe
        # files are tab-separated .csv): a default-separated read that found one
        # column holding tabs is read again with tabs.
        raw = _read_text_with(path, "\t", options)
    return raw


def _tab_separated(raw: pd.DataFrame, header: bool) -> bool:
    if raw.shape[1] != 1:
        return False
    first = str(raw.columns[0]) if header else str(raw.iloc[0, 0]) if len(raw) else ""
    return "\t" in first


def _read_text_with(path: Path, sep: str, options: _Options) -> pd.DataFrame:
    try:
        source = open_bounded(path)
        if source is None:  # an archive pandas decompresses itself
            return _parse_text(path, sep, options)
        with source:
            return _parse_text(source, sep, options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except DataError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        detail = str(error).strip().splitlines()[-1]
        raise DataError(f"{path}: cannot parse as {sep!r}-separated text: {detail}") from None
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile
            ) as error:
        # A truncated or mislabelled archive (.gz that is not gzip), an unreadable file.
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"{path}: cannot be read: {shorten(reason, 160)}") from None


def _parse_text(source: Any, sep: str, options: _Options) -> pd.DataFrame:
    # A 'str' context column is read as text: '007' stays '007'.
    text = {name: str for name, kind in options.context_types.items() if kind == "str"}
    return pd.read_csv(
        source,
        sep=sep,
        dtype=text or None,
        header=0 if options.header else None,
        names=None if options.header else options.names,
        engine="c" if len(sep) == 1 else "python",
        skipinitialspace=sep != "\t" and len(sep) == 1,
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"{path}: reading parquet needs pyarrow; install it with "
            "pip install 'warprec-core[parquet]'"
        ) from None
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types
        raise DataError(f"{path}: cannot read as parquet: {error}") from None


def _select(raw: pd.DataFrame, path: Path, options: _Options) -> pd.DataFrame:
    if not options.header and options.names is None:
        labels = [label for label in options.columns.values() if label is not None]
        labels += [f"column_{i}" for i in range(len(labels), raw.shape[1])]
        raw.columns = labels[: raw.shape[1]]
    present = {str(c) for c in raw.columns}
    required = [USER, ITEM] + ([] if options.implicit else [RATING])
    selected: dict[str, str] = {}
    for standard, label in options.columns.items():
        if label is not None and label in present:
            selected[standard] = label
        elif standard in required:
            shown = label if label is not None else standard
            raise DataError(
                f"{path}: missing column {shown!r} (columns present: {sorted(present)})"
            )
    for label in options.context:
        if label not in present:
            raise DataError(f"{path}: missing context column {label!r} (reader.labels."
                            f"context_labels; columns present: {sorted(present)})")
    return raw.loc[:, [*selected.values(), *options.context]].set_axis(
        [*selected, *options.context], axis=1)


@dataclass(frozen=True)
class _Where:
    """Names a row of the file in messages: text lines count from 1, header included."""

    path: Path
    first_line: int
    unit: str

    def row(self, frame: pd.DataFrame | pd.Series, mask: np.ndarray) -> str:
        label = int(frame.index[np.flatnonzero(mask)[0]])
        return f"{self.path}, {self.unit} {self.first_line + label}"


def _check_id_lengths(frame: pd.DataFrame, where: _Where, options: _Options) -> None:
    """An id longer than :data:`MAX_FIELD_CHARS` is not an id (a field swallowed the
    file, a wrong separator): refused, naming its line."""
    for column in (USER, ITEM):
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        long = (values.str.len() > MAX_FIELD_CHARS).to_numpy(dtype=bool, na_value=False)
        if long.any():
            raise DataError(f"{where.row(frame, long)}: column {options.columns[column]!r} "
                            f"has a value longer than {MAX_FIELD_CHARS:,} characters; "
                            "expected an id (is the separator right?)")


def _drop_or_raise(
    frame: pd.DataFrame,
    missing: np.ndarray,
    column: str,
    where: _Where,
    dropped: dict[str, int],
    options: _Options,
) -> pd.DataFrame:
    if not missing.any():
        return frame
    if options.missing == "error":
        raise DataError(
            f"{where.row(frame, missing)}: empty value in column {options.columns[column]!r} "
            "(set missing: drop to drop such rows)"
        )
    dropped[f"missing_{column}"] = int(missing.sum())
    return frame[~missing]


def _numeric(
    frame: pd.DataFrame, where: _Where, column: str, dropped: dict[str, int], options: _Options
) -> pd.DataFrame:
    if column not in frame.columns:
        return frame
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values):
        values = _parse_numeric(values, where, column, options)
        frame = frame.assign(**{column: values})
    missing = values.isna().to_numpy()
    _require_finite(values, missing, where, column, options)
    return _drop_or_raise(frame, missing, column, where, dropped, options)


# Ratings are computed in float32: a larger magnitude becomes infinite there.
_RATING_LIMIT = float(np.finfo(np.float32).max)


def _require_finite(values: pd.Series, missing: np.ndarray, where: _Where, column: str,
                    options: _Options) -> None:
    """Infinite values (``inf``, or ratings beyond float32) make every metric NaN."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    limit = _RATING_LIMIT if column == RATING else np.inf
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~(np.abs(numbers) < limit)
    if bad.any():
        value = numbers[int(np.flatnonzero(bad)[0])].item()
        expected = "a finite number within the float32 range (|x| < 3.4e38)" \
            if column == RATING else "a finite number"
        raise DataError(f"{where.row(values, bad)}: column {options.columns[column]!r} has "
                        f"{value!r}; expected {expected}")


def _parse_numeric(values: pd.Series, where: _Where, column: str, options: _Options) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = (parsed.isna() & values.notna()).to_numpy()
    if bad.any() and column == TIMESTAMP:
        dates = pd.to_datetime(values, errors="coerce", format="mixed")
        if not (dates.isna() & values.notna()).any():
            return (dates - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    if bad.any():
        kind = "a number or a date" if column == TIMESTAMP else "a number"
        value = values.iloc[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{where.row(values, bad)}: column {options.columns[column]!r} has {value!r}, "
            f"expected {kind}"
        )
    return parsed


def _ids(
    frame: pd.DataFrame, where: _Where, dropped: dict[str, int], options: _Options
) -> pd.DataFrame:
    for column in (USER, ITEM):
        missing = frame[column].isna().to_numpy()
        frame = _drop_or_raise(frame, missing, column, where, dropped, options)
    return frame


def _has_duplicates(frame: pd.DataFrame) -> bool:
    users, items = frame[USER].to_numpy(), frame[ITEM].to_numpy()
    if users.dtype.kind in "iu" and items.dtype.kind in "iu":
        low, span = int(items.min()), int(items.max()) - int(items.min()) + 1
        user_low, user_span = int(users.min()), int(users.max()) - int(users.min()) + 1
        if span * user_span < 2**62:
            key = (users.astype(np.int64) - user_low) * span + (items.astype(np.int64) - low)
            if (users[1:] >= users[:-1]).all():
                # Rows grouped by user (the usual layout): timsort runs near linear time
                # there, ~3x faster than hashing the keys.
                ordered = key[np.argsort(key, kind="stable")]
                return bool((ordered[1:] == ordered[:-1]).any())
            return not pd.Index(key).is_unique
    return bool(frame.duplicated([USER, ITEM]).any())


def merge_duplicates(frame: pd.DataFrame, policy: str) -> pd.DataFrame:
    """One row per (user, item) pair, merged by ``policy`` (see :func:`read_interactions`);
    columns other than the standard ones are dropped by the aggregating policies."""
    keys = [USER, ITEM]
    if frame.empty or not _has_duplicates(frame):
        return frame
    has_rating = RATING in frame.columns
    if policy in ("first", "last") or not has_rating:
        return frame.drop_duplicates(keys, keep="first" if policy == "first" else "last")
    if policy == "max":
        ordered = frame.sort_values(RATING, kind="stable")
        return ordered.drop_duplicates(keys, keep="last").sort_index()
    aggregations: dict[str, str] = {RATING: policy}
    if TIMESTAMP in frame.columns:
        aggregations[TIMESTAMP] = "max"
    return frame.groupby(keys, sort=False, as_index=False).agg(aggregations)
