"""MovieLens 100K / 1M ratings from the official GroupLens archive.

The archive is read from a local path, or from the cache folder, where it is downloaded
on first use when the network allows (``$WARPREC_CACHE``, default ``~/.cache/warprec``).
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd

from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
from warprec.errors import DataError
from warprec.utils.files import atomic_path

__all__ = ["VERSIONS", "movielens"]

_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
# version -> (archive name, ratings member, field separator)
VERSIONS = {
    "100k": ("ml-100k.zip", "ml-100k/u.data", "\t"),
    "1m": ("ml-1m.zip", "ml-1m/ratings.dat", "::"),
}


def movielens(
    version: str = "100k",
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> pd.DataFrame:
    """The ratings of MovieLens ``version`` (``"100k"`` or ``"1m"``) as a table with
    columns user_id, item_id, rating, timestamp.

    Args:
        version: ``"100k"`` or ``"1m"``.
        path: the official zip archive (or the folder it unpacks to); skips the cache.
        cache_dir: where the archive is cached (default ``$WARPREC_CACHE`` or
            ``~/.cache/warprec``).
        download: fetch the archive into the cache when it is not there yet.
    """
    key = str(version).lower().removeprefix("ml-")
    if key not in VERSIONS:
        raise DataError(f"unknown MovieLens version {version!r}: expected one of {list(VERSIONS)}")
    archive, member, sep = VERSIONS[key]
    source = Path(path) if path is not None else _cached(archive, cache_dir, download)
    return _parse(_ratings_bytes(source, member), sep, source)


def _cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("WARPREC_CACHE", Path.home() / ".cache" / "warprec"))


def _cached(archive: str, cache_dir: str | Path | None, download: bool) -> Path:
    target = _cache_root(cache_dir) / archive
    if target.is_file():
        return target
    url = _BASE_URL + archive
    if not download:
        raise DataError(f"{target}: not found and download is off (get it from {url})")
    # Written atomically, so an interrupted download leaves no truncated archive.
    try:
        with atomic_path(target) as partial:
            urllib.request.urlretrieve(url, partial)
    except (urllib.error.URLError, OSError) as error:
        raise DataError(
            f"cannot download {url} ({error}); download it by hand and pass its path"
        ) from None
    return target


def _ratings_bytes(source: Path, member: str) -> bytes:
    if source.is_dir():
        candidate = source / Path(member).name
        if not candidate.is_file():
            candidate = source / member
        if not candidate.is_file():
            raise DataError(f"{source}: no {Path(member).name} in this folder")
        return candidate.read_bytes()
    if not source.is_file():
        raise DataError(f"{source}: file not found")
    try:
        with zipfile.ZipFile(source) as archive:
            return archive.read(member)
    except zipfile.BadZipFile:
        raise DataError(f"{source}: not a zip archive") from None
    except KeyError:
        raise DataError(f"{source}: the archive has no {member}") from None


def _parse(raw: bytes, sep: str, source: Path) -> pd.DataFrame:
    if len(sep) > 1:
        # The C parser takes one-character separators only; ML-1M has no tabs.
        raw = raw.replace(sep.encode(), b"\t")
    try:
        frame = pd.read_csv(
            io.BytesIO(raw), sep="\t", header=None, names=[USER, ITEM, RATING, TIMESTAMP]
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: the ratings file is empty") from None
    if frame.isna().any().any() or not all(
        pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns
    ):
        raise DataError(f"{source}: the ratings file is not in the MovieLens format")
    return frame.astype({RATING: "float32", TIMESTAMP: "int64"})
