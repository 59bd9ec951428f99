"""A run folder read as untrusted input (``warprec report`` on a folder someone edited
or sent): ``results.json`` bounded in size and depth and validated against the schema of
what the report reads, every path it names confined to the folder.

Every problem is one :class:`~warprec.errors.WarpRecError` line naming the file and,
for a schema error, the place in it (``models[0].test.nDCG@5``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from warprec.errors import WarpRecError
from warprec.utils.checks import shorten

__all__ = ["MAX_RESULTS_BYTES", "confined", "read_results"]

MAX_RESULTS_BYTES = 256 << 20
"""Largest ``results.json`` the report reads."""

Number = Annotated[float, Strict()] | None  # JSON null: a NaN the run wrote
Text = Annotated[str, Field(max_length=10_000)]
Scores = dict[str, Number]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Provider(_Open):
    distribution: str | None = None
    version: str | None = None


class History(_Open):
    loss: list[Number] = []
    validation: list[Scores] = []


class Trial(_Open):
    params: dict[str, Any] = {}
    validation: Scores | None = None


class ModelEntry(_Open):
    model: Annotated[str, Field(min_length=1, max_length=1_000)]
    status: Text | None = None
    error: Text | None = None
    params: dict[str, Any] | None = None
    provider: Provider | None = None
    validation: Scores | None = None
    test: Scores | None = None
    fit_seconds: Number = None
    trials: list[Trial] = []
    validation_metric: Text | None = None
    history: History | None = None
    per_user: Text | None = None


class SignificanceRow(_Open):
    model_a: Text
    model_b: Text
    metric: Text
    test: Text
    statistic: Number = None
    p_value: Number = None
    p_adjusted: Scores | None = None
    significant: dict[str, bool] | None = None


class Results(_Open):
    status: Text | None = None
    data: dict[str, Any] | None = None
    models: list[ModelEntry]
    significance: list[SignificanceRow] | None = None
    warnings: list[Text] | None = None


def read_results(folder: Path) -> dict[str, Any]:
    """``folder/results.json``, checked: at most :data:`MAX_RESULTS_BYTES`, JSON nested
    as deep as the parser allows, valid against the report's schema."""
    path = folder / "results.json"
    if not path.is_file():
        raise WarpRecError(f"{folder}: no results.json; expected the folder of a warprec "
                           "run (runs/<dataset>/<run id>)")
    if path.stat().st_size > MAX_RESULTS_BYTES:
        raise WarpRecError(f"{path}: larger than {MAX_RESULTS_BYTES >> 20} MiB; expected "
                           "the results.json of a warprec run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise WarpRecError(f"{path}: nested too deeply; expected the results.json of a "
                           "warprec run") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WarpRecError(f"{path}: not JSON ({shorten(str(exc), 120)})") from None
    try:
        Results.model_validate(data)
    except ValidationError as exc:
        raise WarpRecError(f"{path}: not a warprec results file: {_first(exc)}") from None
    except RecursionError:
        raise WarpRecError(f"{path}: nested too deeply; expected the results.json of a "
                           "warprec run") from None
    return data


def confined(folder: Path, relative: str, key: str) -> Path:
    """``folder/relative`` when it stays inside ``folder`` (links resolved), else a
    :class:`WarpRecError` naming ``key``."""
    root = folder.resolve()
    target = (root / relative).resolve()
    if Path(relative).is_absolute() or not target.is_relative_to(root):
        raise WarpRecError(f"{folder / 'results.json'}: {key} {relative!r} is outside the "
                           "run folder; expected a path inside it")
    return target


def _first(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    given = shorten(repr(error.get("input")), 60)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where.lstrip('.') or 'the top level'}: {error['msg']}, got {given}{more}"
