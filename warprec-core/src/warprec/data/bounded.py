"""Text input with a bound on the length of a line: a file that is not line-based (a
disk image, a sparse file, a dump without newlines) is refused after the first
:data:`MAX_LINE_BYTES` bytes of a line, naming the line, instead of being read whole.

:func:`open_bounded` opens a plain or ``.gz``/``.bz2``/``.xz`` file through
:class:`BoundedLines`, which checks every block the parser reads. A line can only exceed
the bound across blocks no larger than the bound, so each block costs two searches for a
newline and one count of them, whatever its size.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from warprec.errors import DataError

__all__ = ["MAX_FIELD_CHARS", "MAX_LINE_BYTES", "BoundedLines", "open_bounded"]

MAX_LINE_BYTES = 1 << 20
"""Longest line of an interaction file (bytes, decompressed)."""
MAX_FIELD_CHARS = 1 << 12
"""Longest id (user or item) of an interaction file, in characters."""

_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open,
                                           ".xz": lzma.open}


class BoundedLines(io.RawIOBase):
    """A binary stream over ``source`` that raises :class:`DataError` as soon as a line
    is longer than ``limit`` bytes."""

    def __init__(self, source: IO[bytes], name: Path, limit: int = MAX_LINE_BYTES) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._limit = limit
        self._line = 1  # the line the next byte belongs to
        self._length = 0  # bytes of that line read so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        block = self._source.read(min(len(view), self._limit))
        if block:
            self._check(block)
            view[: len(block)] = block
        return len(block)

    def close(self) -> None:
        self._source.close()
        super().close()

    def _check(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self._length += len(block)
        else:
            self._length += first
            if self._length <= self._limit:
                self._line += block.count(b"\n")
                self._length = len(block) - block.rfind(b"\n") - 1
        if self._length > self._limit:
            raise DataError(f"{self._name}, line {self._line}: longer than {self._limit:,} "
                            "bytes; expected one interaction per line (a text table)")


def open_bounded(path: Path) -> IO[bytes] | None:
    """``path`` opened through :class:`BoundedLines` (decompressed), or ``None`` for an
    archive the standard library does not stream (``.zip``, ``.zst``: read as is)."""
    suffix = path.suffix.lower()
    if suffix in (".zip", ".zst"):
        return None
    opener: Callable[..., Any] = _OPENERS.get(suffix, open)
    return io.BufferedReader(BoundedLines(opener(path, "rb"), path))
