"""What a run writes for people and trackers beyond its results: per-user values
(``evaluation.save_per_user``), the HTML report (``writer.report``, ``warprec report``)
and MLflow tracking (``general.mlflow``).

Light to import: matplotlib and mlflow are optional extras (``warprec-core[report]``,
``warprec-core[mlflow]``), imported only when used; :func:`check_extras` refuses a config
that needs a missing one before anything runs.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from warprec.errors import ConfigError

__all__ = ["EXTRAS", "PER_USER_FOLDER", "check_extras", "finish_run", "missing_extra",
           "write_per_user"]

logger = logging.getLogger("warprec")

PER_USER_FOLDER = "per_user"

# Config key -> (module it needs, the extra that installs it).
EXTRAS = {"writer.report": ("matplotlib", "report"), "general.mlflow": ("mlflow", "mlflow")}


def missing_extra(key: str) -> str | None:
    """The one-line problem when the extra ``key`` needs is not installed, else None."""
    module, extra = EXTRAS[key]
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{key}: needs {module}, which is not installed; pip install 'warprec-core[{extra}]'"


def check_extras(cfg: Any) -> None:
    """Refuse ``writer.report``/``general.mlflow`` when their extra is missing, and an
    MLflow store the run could not log to."""
    wanted = {"writer.report": cfg.writer.report,
              "general.mlflow": cfg.general.mlflow is not None}
    for key, on in wanted.items():
        problem = missing_extra(key) if on else None
        if problem:
            raise ConfigError(problem)
    if cfg.general.mlflow is not None:
        from warprec.reporting.tracking import check_store

        check_store(cfg.general.mlflow)


def write_per_user(folder: Any, name: str, result: Any, dataset: Any) -> str:
    """``per_user/<model>.tsv``: one row per evaluated test user (original id), one
    column per per-user metric; returns the path relative to the run folder."""
    import pandas as pd

    from warprec.output import safe_name

    stem = folder.stem(name) if hasattr(folder, "stem") else safe_name(name)  # distinct
    relative = f"{PER_USER_FOLDER}/{stem}.tsv"
    table = pd.DataFrame({"user_id": dataset.user_ids[result.users],
                          **{metric: values for metric, values in result.per_user.items()}})
    with folder.open_atomic(relative) as handle:
        table.to_csv(handle, sep="\t", index=False)
    return relative


def finish_run(plan: Any, folder: Any, results: dict[str, Any]) -> list[str]:
    """At the end of ``warprec run``: the report (``writer.report``), then MLflow
    (``general.mlflow``, which uploads the finished run folder). The results are on disk
    already: a failure is a warning, returned (``warprec run`` then exits 3)."""
    cfg = plan.config.model
    problems = []
    if cfg.writer.report:
        from warprec.reporting.page import write_report

        try:
            logger.info("Report written to %s", write_report(folder.path))
        except Exception as exc:
            problems.append(f"writer.report: report.html not written: {_reason(exc)} "
                            f"(warprec report {folder.path} retries)")
    if cfg.general.mlflow is not None:
        from warprec.reporting.tracking import log_run_bounded

        try:
            run_id = log_run_bounded(cfg.general.mlflow, folder.path, results)
            logger.info("Logged to MLflow: experiment %r, run %s",
                        cfg.general.mlflow.experiment, run_id)
        except Exception as exc:
            problems.append(f"general.mlflow: the run was not logged to MLflow: "
                            f"{_reason(exc)}")
    for problem in problems:
        logger.warning("Warning: %s", problem)
    return problems


def _reason(exc: BaseException) -> str:
    """One line: the error's type unless it is one of ours, and its shortened message."""
    from warprec.errors import WarpRecError
    from warprec.utils.checks import shorten

    text = " ".join(str(exc).split())
    prefix = "" if isinstance(exc, WarpRecError | TimeoutError | ConnectionError) \
        else f"{type(exc).__name__}: "
    return prefix + shorten(text, 300)
