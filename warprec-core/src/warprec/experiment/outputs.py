"""What a run writes: ``results.json``/``results.tsv``, the resolved ``config.yaml``,
checkpoints, recommendations, the saved split and ``run.log``."""

from __future__ import annotations

import json
import logging
import platform
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from warprec.experiment.data import RunData
from warprec.experiment.plan import ModelPlan, Plan
from warprec.io_formats import recommendation_frame, write_split_part, write_table
from warprec.output import RunFolder, format_table, results_rows

__all__ = ["ExperimentResults", "capture_log", "resolved_yaml", "save_split",
           "write_model_outputs", "write_results"]

logger = logging.getLogger("warprec")


@dataclass
class ExperimentResults:
    """What :func:`warprec.run_experiment` returns: the run folder and the
    ``results.json`` data."""

    path: Path
    data: dict[str, Any]

    @property
    def models(self) -> list[dict[str, Any]]:
        """One entry per model: ``model``, ``params``, ``validation``, ``test``, ``trials``..."""
        return self.data["models"]

    def __getitem__(self, model: str) -> dict[str, Any]:
        for entry in self.models:
            if entry["model"].lower() == model.lower():
                return entry
        raise KeyError(model)

    def table(self, split: str = "test") -> str:
        """The results table (one row per model, metrics as columns) as text."""
        return format_table(*results_rows(self.models, split))


def write_results(folder: RunFolder, results: dict[str, Any]) -> None:
    """``results.json`` (everything) and ``results.tsv`` (the test table)."""
    folder.write_json("results.json", {k: v for k, v in results.items() if k != "_failure"})
    header, rows = results_rows(results["models"], digits=None)
    lines = ["\t".join(map(tsv_cell, header)), *("\t".join(map(tsv_cell, row)) for row in rows)]
    folder.write_text("results.tsv", "\n".join(lines) + "\n")


def tsv_cell(value: str) -> str:
    """A cell of ``results.tsv``: backslash, tab and line breaks escaped (``\\t``...), so
    a model name holding them cannot add columns or rows."""
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def resolved_yaml(plan: Plan) -> str:
    """The config as run: every default filled in, each model's hyperparameters with
    their effective values (a search keeps its space), and who provided each model."""
    data = plan.config.data
    for name, model_plan in plan.models.items():
        given = model_plan.block.hyperparameters
        effective = {k: v for k, v in model_plan.trials[0].items() if k not in given}
        data["models"][name] = {**effective, **data["models"][name]}
    data["versions"] = versions(plan.models)
    # Through JSON: tuples become lists and objects from a Python config their str().
    plain = json.loads(json.dumps(data, default=str))
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


def versions(models: Mapping[str, ModelPlan]) -> dict[str, Any]:
    """Versions of Python, torch, the core, and the provider of every model."""
    import torch

    from warprec import plugins

    provided = {}
    for name, model_plan in models.items():
        provider = model_plan.provider
        if provider["version"] is None:  # a module (custom modules, the guide's decorator)
            module = sys.modules.get(str(provider["distribution"]))
            provided[name] = f"module {provider['distribution']} " \
                             f"({getattr(module, '__file__', '') or 'in memory'})"
        else:
            provided[name] = f"{provider['distribution']} {provider['version']}"
    return {"python": platform.python_version(), "torch": str(torch.__version__),
            "warprec-core": plugins.core_version(), "models": provided}


def save_split(folder: RunFolder, plan: Plan, data: RunData) -> None:
    """Write the parts with the reader's column labels, so ``loading_strategy: split``
    reads them back."""
    from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
    from warprec.data.splitting import aligned

    cfg = plan.config.model
    labels = cfg.reader.labels
    names = {USER: labels.user_id_label, ITEM: labels.item_id_label,
             RATING: labels.rating_label, TIMESTAMP: labels.timestamp_label}
    fmt = cfg.writer.split
    for part, frame in data.frames.items():
        if frame is None:
            continue
        if part != "train":  # WarpRec writes the evaluation parts aligned on training
            frame = aligned(data.frames["train"], frame, data.cold_start)
        with folder.open_atomic(f"split/{part}{fmt.ext}") as handle:
            write_split_part(handle, frame, names, sep=fmt.sep, header=fmt.header)
    logger.info("Split written to %s", folder.path / "split")


def write_model_outputs(model_plan: ModelPlan, model: Any, data: RunData, plan: Plan,
                        folder: RunFolder, entry: dict[str, Any]) -> None:
    """The checkpoint and the recommendations a model's ``meta`` asks for."""
    meta = model_plan.block.meta
    if meta.save_model:
        path = folder.write_with(f"checkpoints/{folder.stem(model_plan.name)}.pt", model.save)
        entry["checkpoint"] = str(path.relative_to(folder.path))
    if meta.save_recs:
        cfg = plan.config.model
        fmt = cfg.writer.recommendation
        relative = f"recommendations/{folder.stem(model_plan.name)}{fmt.ext}"
        table = recommendations(model, data.main, fmt, cfg.evaluation.batch_size or 1024)
        with folder.open_atomic(relative) as handle:
            write_table(handle, table, sep=fmt.sep, header=fmt.header)
        entry["recommendations"] = relative


def recommendations(model: Any, dataset: Any, fmt: Any, batch_size: int) -> pd.DataFrame:
    """Top-k of every user (training and validation items excluded), original ids."""
    import numpy as np

    k = min(fmt.k, dataset.n_items)
    seen = dataset.train_validation.get_sparse()
    parts = []
    for start in range(0, dataset.n_users, batch_size):
        users = np.arange(start, min(start + batch_size, dataset.n_users))
        items, scores = model.recommend(users, k, exclude=seen)
        items, scores = items.cpu().numpy(), scores.cpu().numpy()
        parts.append(recommendation_frame(
            dataset.user_ids[users], dataset.item_ids[items], scores,
            user_label=fmt.user_label, item_label=fmt.item_label,
            rating_label=fmt.rating_label, rank=fmt.rank))
    return pd.concat(parts, ignore_index=True)


@contextmanager
def capture_log(quiet: bool) -> Iterator[Callable[[RunFolder], None]]:
    """Log to stderr (progress, or warnings only when quiet) and, once the run folder
    exists, to its ``run.log`` (everything, the records logged before it included).

    Yields the function that attaches the run folder.
    """
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    console.setLevel(logging.WARNING if quiet else logging.INFO)
    early = _Collect()
    handlers: list[logging.Handler] = [console, early]
    previous = logger.level
    logger.setLevel(logging.DEBUG)

    def attach(folder: RunFolder) -> None:
        file_handler = _RunLog(folder.file("run.log"))
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        file_handler.setLevel(logging.DEBUG)
        for record in early.records:
            file_handler.handle(record)
        logger.removeHandler(early)
        logger.addHandler(file_handler)
        handlers.append(file_handler)

    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield attach
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous)


class _Collect(logging.Handler):
    """Keeps the records logged before the run folder exists."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _RunLog(logging.FileHandler):
    """``run.log``: a record that cannot be written (a full disk) stops the log quietly
    instead of printing logging's traceback; the run reports the write error itself."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed = True

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # flushing onto a full disk
            self.failed = True
