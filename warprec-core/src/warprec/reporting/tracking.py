"""MLflow tracking of a finished run (``general.mlflow``; needs ``warprec-core[mlflow]``).

One MLflow run per warprec run, named after the run folder, with the run folder as its
artifacts (results, resolved config, log, report...), and one nested run per model:

- params: the model's best hyperparameters;
- per-epoch metrics (step = epoch): ``epoch/loss`` and ``epoch/<metric>`` (the
  validation results tracked during training);
- final metrics: ``validation/<metric>`` (the best trial's), ``test/<metric>``,
  ``fit_seconds``;

MLflow refuses ``@`` in names: as WarpRec does, ``nDCG@10`` is logged as ``nDCG/10``
(``test/nDCG/10``).
- tags: ``warprec.model``, ``warprec.status``, ``warprec.provider``.

mlflow is imported here only, when a run asks for it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from warprec.errors import ConfigError

__all__ = ["log_run", "metric_name"]


def metric_name(name: str) -> str:
    """The MLflow name of a result: ``nDCG@10`` -> ``nDCG/10`` (MLflow refuses ``@``)."""
    return name.replace("@", "/")


def log_run(options: Any, folder: Path, results: dict[str, Any]) -> str:
    """Log the run in ``folder`` to MLflow; returns the MLflow run id of the whole run."""
    try:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
    except ImportError:
        raise ConfigError("general.mlflow: needs mlflow, which is not installed; "
                          "pip install 'warprec-core[mlflow]'") from None

    client = MlflowClient(tracking_uri=options.tracking_uri)
    experiment = client.get_experiment_by_name(options.experiment)
    experiment_id = experiment.experiment_id if experiment is not None else \
        client.create_experiment(options.experiment)
    parent = client.create_run(experiment_id, run_name=folder.name,
                               tags={"warprec.run_folder": str(folder),
                                     "warprec.status": str(results.get("status"))})
    parent_id = parent.info.run_id
    status = "FINISHED"
    try:
        data = results.get("data") or {}
        client.log_batch(parent_id, params=[
            Param(f"data.{k}", str(v)) for k, v in data.items() if not isinstance(v, dict)])
        for model in results.get("models") or []:
            _log_model(client, experiment_id, parent_id, model, Metric, Param, RunTag)
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            # Hidden files are the run's lock and temporary files, not its outputs.
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                parent = relative.parent.as_posix()
                client.log_artifact(parent_id, str(path),
                                    artifact_path=None if parent == "." else parent)
    except BaseException:
        status = "FAILED"
        raise
    finally:
        client.set_terminated(parent_id, status=status)
    return parent_id


def _log_model(client: Any, experiment_id: str, parent_id: str, model: dict[str, Any],
               Metric: Any, Param: Any, RunTag: Any) -> None:
    provider = model.get("provider") or {}
    tags = {"mlflow.parentRunId": parent_id, "warprec.model": model["model"],
            "warprec.status": str(model.get("status")),
            "warprec.provider": f"{provider.get('distribution')} "
                                f"{provider.get('version') or ''}".strip()}
    run = client.create_run(experiment_id, run_name=model["model"], tags=tags)
    run_id = run.info.run_id
    params = [Param(str(k), _param(v)) for k, v in (model.get("params") or {}).items()]
    metrics: list[Any] = []
    stamp = run.info.start_time or 0
    history = model.get("history") or {}
    for epoch, loss in enumerate(history.get("loss") or [], start=1):
        if _finite(loss):
            metrics.append(Metric("epoch/loss", float(loss), stamp, epoch))
    for check in history.get("validation") or []:
        for key, value in check.items():
            if key != "epoch" and _finite(value):
                metrics.append(Metric(f"epoch/{metric_name(key)}", float(value), stamp,
                                      int(check["epoch"])))
    for split in ("validation", "test"):
        for key, value in (model.get(split) or {}).items():
            if _finite(value):
                metrics.append(Metric(f"{split}/{metric_name(key)}", float(value), stamp, 0))
    if _finite(model.get("fit_seconds")):
        metrics.append(Metric("fit_seconds", float(model["fit_seconds"]), stamp, 0))
    # MLflow takes at most 100 params and 1000 metrics per batch.
    for start in range(0, len(params), 100):
        client.log_batch(run_id, params=params[start:start + 100])
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    client.set_terminated(run_id, status="FINISHED" if model.get("status") == "ok"
                          else "FAILED")


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]  # MLflow's limit on a param value


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)
