"""The run folder: a new folder per run, files written atomically, nothing overwritten.

Every file goes to a temporary name in the same folder and is renamed into place, so a
reader (or a crash) never sees half a file. ``results.json`` is rewritten after each
model, so an interrupted run keeps the models that finished.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warprec.errors import ConfigError
from warprec.utils.files import atomic_path

__all__ = ["RunFolder", "format_table", "results_rows", "safe_name"]


class RunFolder:
    """The folder of one run; ``create`` makes a fresh one or takes an empty ``--output``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, base: str | Path, dataset_name: str, output: str | Path | None = None
               ) -> RunFolder:
        """A new ``<base>/<dataset_name>/<run id>/``, or exactly ``output`` (empty or absent).

        The run id is the UTC start time; a clash (two runs in the same second) adds a
        counter. An ``output`` folder that exists and holds anything is refused.
        """
        if output is not None:
            path = Path(output)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise ConfigError(f"--output {str(path)!r}: exists and is not an empty folder; "
                                  "expected an empty or absent folder (nothing is overwritten)")
            path.mkdir(parents=True, exist_ok=True)
            return cls(path.resolve())
        parent = (Path(base) / dataset_name).resolve()
        parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H-%M-%S")
        for n in range(1000):
            path = parent / (stamp if n == 0 else f"{stamp}_{n}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise ConfigError(f"{parent}: cannot create a new run folder")

    @contextmanager
    def open_atomic(self, relative: str, mode: str = "w") -> Iterator[IO[Any]]:
        """Open a temporary file that becomes ``relative`` when the block ends cleanly."""
        encoding = None if "b" in mode else "utf-8"
        with atomic_path(self.path / relative) as tmp, open(tmp, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())

    def write_text(self, relative: str, text: str) -> Path:
        """Write a text file atomically; returns its path."""
        with self.open_atomic(relative) as handle:
            handle.write(text)
        return self.path / relative

    def write_json(self, relative: str, data: Any) -> Path:
        """Write JSON atomically (NaN and infinities become null, numpy scalars numbers)."""
        return self.write_text(relative, json.dumps(_finite(data), indent=2,
                                                    default=_json_default) + "\n")

    def write_with(self, relative: str, writer: Callable[[Path], Any]) -> Path:
        """Let ``writer(tmp_path)`` write a file (e.g. a checkpoint), then rename it."""
        target = self.path / relative
        with atomic_path(target) as tmp:
            writer(tmp)
        return target


def safe_name(name: str) -> str:
    """``name`` as a portable file name: characters other than letters, digits, ``.``,
    ``-`` and ``_`` (the ``:`` of a qualified ``plugin:Model``) become ``_``."""
    return re.sub(r"[^\w.-]", "_", name)


def _json_default(value: Any) -> Any:
    # numpy and torch scalars (e.g. hyperparameters read back from a checkpoint).
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def results_rows(models: Sequence[dict[str, Any]], split: str = "test", digits: int | None = 4
                 ) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the results table: one row per model, metrics as columns.

    Values are rounded to ``digits`` decimals (``None``: full precision, for files); a
    model that failed or was interrupted shows its status instead.
    """
    metrics: list[str] = []
    for model in models:
        for name in model.get(split) or {}:
            if name not in metrics:
                metrics.append(name)
    header = ["model", *metrics]
    rows = []
    for model in models:
        values = model.get(split) or {}
        if model.get("status", "ok") != "ok" and not values:
            rows.append([model["model"], *([model["status"]] * len(metrics))])
            continue
        rows.append([model["model"], *(_number(values.get(m), digits) for m in metrics)])
    return header, rows


def _number(value: Any, digits: int | None) -> str:
    if value is None:
        return "-"
    return repr(float(value)) if digits is None else f"{value:.{digits}f}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table (model names left, numbers right-aligned)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
