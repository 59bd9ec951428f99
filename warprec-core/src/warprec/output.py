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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warprec.errors import ConfigError, OutputError
from warprec.utils.checks import shorten
from warprec.utils.files import atomic_path

__all__ = ["LOCK_NAME", "RunFolder", "format_table", "results_rows", "safe_name"]


LOCK_NAME = ".warprec-run.lock"
_TMP_GLOB = ".*.tmp"  # the temporary names of :func:`warprec.utils.files.atomic_path`
_STEM_LIMIT = 100


class RunFolder:
    """The folder of one run; ``create`` makes a fresh one or takes an empty ``--output``.

    Every path the run writes is built by :meth:`file`, which refuses anything that
    resolves outside the folder. A folder is claimed with an exclusive lock file, so of
    two runs given the same ``--output`` exactly one proceeds; :meth:`close` (or the end
    of a ``with`` block) releases it and removes temporary files an interrupted write
    left behind.
    """

    def __init__(self, path: Path, *, lock: Path | None = None) -> None:
        self.path = path
        self._lock = lock
        self._stems: dict[str, str] = {}
        self._written: set[Path] = set()

    @classmethod
    def create(cls, base: str | Path, dataset_name: str, output: str | Path | None = None
               ) -> RunFolder:
        """A new ``<base>/<dataset_name>/<run id>/``, or exactly ``output`` (empty or absent).

        The run id is the UTC start time; a clash (two runs in the same second) adds a
        counter. An ``output`` folder that exists and holds anything, or that another run
        has claimed, is refused with a :class:`ConfigError`.
        """
        if output is not None:
            path = Path(output)
            where = f"--output {str(path)!r}"
            _mkdir(path.parent, where, parents=True)
            try:
                path.mkdir()
            except FileExistsError:
                if not path.is_dir():
                    raise ConfigError(f"{where}: exists and is not a folder; expected an empty "
                                      "or absent folder (nothing is overwritten)") from None
            except OSError as exc:
                raise ConfigError(f"{where}: cannot be created: {_reason(exc)}") from None
            path = path.resolve()
            lock = _claim(path, where)
            if any(p.name != LOCK_NAME for p in path.iterdir()):
                lock.unlink(missing_ok=True)
                raise ConfigError(f"{where}: exists and is not an empty folder; expected an "
                                  "empty or absent folder (nothing is overwritten)")
            return cls(path, lock=lock)
        parent = Path(base) / dataset_name
        _mkdir(parent, "writer.local_experiment_path", parents=True)
        parent = parent.resolve()
        stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H-%M-%S")
        for n in range(1000):
            path = parent / (stamp if n == 0 else f"{stamp}_{n}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise ConfigError(f"{parent}: cannot create a run folder: {_reason(exc)}") from None
            return cls(path, lock=_claim(path, str(path)))
        raise ConfigError(f"{parent}: cannot create a new run folder")

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the claim and remove leftover temporary files (idempotent)."""
        for leftover in self.path.rglob(_TMP_GLOB):
            leftover.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlink(missing_ok=True)
            self._lock = None

    def file(self, relative: str) -> Path:
        """The path of ``relative`` inside the folder; a :class:`ConfigError` when it is
        absolute, climbs with ``..`` or (through a link) resolves outside the folder."""
        parts = Path(relative).parts
        if (not relative or "\0" in relative or Path(relative).is_absolute()
                or any(part in ("..", ".") for part in parts)):
            raise ConfigError(f"{relative!r}: not a plain path inside the run folder "
                              f"{self.path}; expected a relative name without '..'")
        target = (self.path / relative).resolve()
        if target == self.path or not target.is_relative_to(self.path):
            raise ConfigError(f"{relative!r}: resolves to {target}, outside the run folder "
                              f"{self.path}; nothing is written outside it")
        return target

    def name_models(self, names: Iterable[str]) -> None:
        """Give each model a distinct file stem (see :meth:`stem`), in order."""
        taken = {stem.lower() for stem in self._stems.values()}
        for name in names:
            if name in self._stems:
                continue
            base = safe_name(name)
            stem, n = base, 1
            while stem.lower() in taken:  # case-insensitive file systems too
                n += 1
                stem = f"{base}_{n}"
            taken.add(stem.lower())
            self._stems[name] = stem

    def stem(self, name: str) -> str:
        """The file stem of a model: :func:`safe_name`, with ``_2``, ``_3``... added
        when another model of the run already has it, so no file is shared."""
        self.name_models([name])
        return self._stems[name]

    @contextmanager
    def open_atomic(self, relative: str, mode: str = "w") -> Iterator[IO[Any]]:
        """Open a temporary file that becomes ``relative`` when the block ends cleanly.

        A write error (a full disk, a lost permission) is one :class:`OutputError` naming
        the file; the previous version of the file, if any, stays as it was.
        """
        target = self._target(relative)
        encoding = None if "b" in mode else "utf-8"
        with _writing(target), atomic_path(target) as tmp, \
                open(tmp, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        self._written.add(target)

    def write_text(self, relative: str, text: str) -> Path:
        """Write a text file atomically; returns its path."""
        with self.open_atomic(relative) as handle:
            handle.write(text)
        return self.file(relative)

    def write_json(self, relative: str, data: Any) -> Path:
        """Write JSON atomically (NaN and infinities become null, numpy scalars numbers)."""
        return self.write_text(relative, json.dumps(_finite(data), indent=2,
                                                    default=_json_default) + "\n")

    def write_with(self, relative: str, writer: Callable[[Path], Any]) -> Path:
        """Let ``writer(tmp_path)`` write a file (e.g. a checkpoint), then rename it."""
        target = self._target(relative)
        with _writing(target), atomic_path(target) as tmp:
            try:
                writer(tmp)
            except RuntimeError as exc:
                reason = _os_error(exc, tmp)
                if reason is None:
                    raise
                raise reason from exc
        self._written.add(target)
        return target

    def _target(self, relative: str) -> Path:
        target = self.file(relative)
        if target not in self._written and target.exists():
            # The folder was empty when claimed: only this run's own files are rewritten.
            raise ConfigError(f"{relative!r}: {target} exists and was not written by this "
                              "run; nothing is overwritten")
        return target


@contextmanager
def _writing(target: Path) -> Iterator[None]:
    """Turn a write error into one :class:`OutputError` line naming ``target``."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from exc
    except RuntimeError as exc:
        # torch.save reports a failed write (ENOSPC, EFBIG) as a RuntimeError of its zip
        # writer ("file write failed", "[enforce fail at inline_container.cc] unexpected pos").
        if not re.search(r"write|inline_container|PytorchStreamWriter", str(exc), re.I):
            raise
        raise OutputError(f"cannot write {target}: {shorten(str(exc), 120)}") from exc


def _os_error(exc: RuntimeError, tmp: Path) -> OSError | None:
    """The OS's reason of a failed write that torch's writer reports as its own
    ``RuntimeError`` ("[enforce fail at inline_container.cc] unexpected pos"): the
    ``OSError`` it chained (a file object), else the error of writing on at the end of
    the temporary file (``ENOSPC`` on a full disk, ``EFBIG`` past ``RLIMIT_FSIZE``)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError):
            return cause
        cause = cause.__cause__ or cause.__context__
    if not re.search(r"write|inline_container|PytorchStreamWriter", str(exc), re.I):
        return None
    try:
        with open(tmp, "ab") as handle:
            for _ in range(2):  # the first write may be cut short, the next one fails
                handle.write(bytes(1 << 20))
                handle.flush()
    except OSError as error:
        return error
    return None


def _claim(path: Path, where: str) -> Path:
    lock = path / LOCK_NAME
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConfigError(f"{where}: another warprec run is writing there (it holds "
                          f"{LOCK_NAME}; a run killed with SIGKILL leaves it behind); "
                          "expected a folder no other run uses") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be written: {_reason(exc)}") from None
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return lock


def _mkdir(path: Path, where: str, *, parents: bool) -> None:
    try:
        path.mkdir(parents=parents, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{where}: {str(path)!r} is a file; expected a folder") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot create {str(path)!r}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or shorten(str(exc), 120)


def safe_name(name: str) -> str:
    """``name`` as a portable file name: characters other than letters, digits, ``.``,
    ``-`` and ``_`` (the ``:`` of a qualified ``plugin:Model``, separators, control
    characters) become ``_``; a leading ``.`` too (no hidden files, no ``..``); at most
    100 characters."""
    stem = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII)
    stem = re.sub(r"^\.", "_", stem)
    return stem[:_STEM_LIMIT] or "_"


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
