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

The store is checked when the plan is made (:func:`check_store`: a known scheme, a
writable local folder or database); a remote server gets a bounded time
(:func:`log_run_bounded`: ``general.mlflow.timeout`` in all, the connection within
:data:`CONNECT_SECONDS`), after which the run warns and keeps its results.

mlflow is imported here only, when a run asks for it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from warprec.errors import ConfigError

__all__ = ["CONNECT_SECONDS", "check_store", "log_run", "log_run_bounded", "metric_name",
           "tracking_uri"]

CONNECT_SECONDS = 10.0
"""Longest wait for a remote tracking server to accept the connection."""

# Schemes MLflow's tracking store registry knows (a SQLAlchemy URI may add "+driver").
_LOCAL = ("", "file")
_REMOTE = ("http", "https")
_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")
_SERVICES = ("databricks", "databricks-uc", "uc")
_KEY = "general.mlflow.tracking_uri"


def metric_name(name: str) -> str:
    """The MLflow name of a result: ``nDCG@10`` -> ``nDCG/10`` (MLflow refuses ``@``)."""
    return name.replace("@", "/")


def tracking_uri(options: Any) -> str | None:
    """The store a run logs to: ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else
    ``None`` (MLflow's default store, in the working folder)."""
    return options.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None


def check_store(options: Any) -> None:
    """Refuse, before anything runs, a store the run could not log to: an unknown scheme,
    a local folder or SQLite database that cannot be written. A remote server is only
    reached at the end of the run (:func:`log_run_bounded`)."""
    uri = tracking_uri(options)
    if uri is None:
        return
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower().split("+")[0]
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = ""
    if scheme in _LOCAL:
        _check_writable(Path(unquote(parsed.path) if scheme else uri), uri, folder=True)
    elif scheme == "sqlite":
        database = unquote(parsed.path)
        if database not in ("", "/:memory:"):
            # sqlite:///relative.db, sqlite:////absolute.db (the path after one "/").
            _check_writable(Path(database[1:]), uri, folder=False)
    elif scheme in _REMOTE:
        if not parsed.hostname:
            raise ConfigError(f"{_KEY}: {uri!r} names no host; expected e.g. "
                              "http://host:5000")
    elif scheme not in _DATABASES + _SERVICES + _plugin_schemes():
        raise ConfigError(f"{_KEY}: unknown scheme {scheme!r} in {uri!r}; expected a folder, "
                          "file:, sqlite:, http(s):, databricks, postgresql, mysql, mssql "
                          "or a scheme an MLflow plugin registers")


def _plugin_schemes() -> tuple[str, ...]:
    return tuple(e.name for e in entry_points(group="mlflow.tracking_store"))


def _check_writable(path: Path, uri: str, *, folder: bool) -> None:
    """``path`` (a store folder or a database file) exists as such and is writable, or
    can be created: its nearest existing parent is a writable folder."""
    path = path.expanduser().absolute()
    if path.exists():
        wrong_kind = not path.is_dir() if folder else path.is_dir()
        if wrong_kind:
            raise ConfigError(f"{_KEY}: {uri!r}: {path} is not a "
                              f"{'folder' if folder else 'database file'}")
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{_KEY}: {uri!r}: {path} is not writable")
        return
    parent = next(p for p in path.parents if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{_KEY}: {uri!r}: {path} cannot be created ({parent} is not a "
                          "writable folder)")


def log_run_bounded(options: Any, folder: Path, results: dict[str, Any]) -> str:
    """:func:`log_run` within ``options.timeout`` seconds, a remote server's connection
    within :data:`CONNECT_SECONDS`; :class:`TimeoutError` or :class:`ConnectionError`
    past them (the logging thread is left to end on its own: it holds no run file)."""
    _mlflow()  # imported before the clock starts: only the store's time counts
    uri = tracking_uri(options) or "MLflow's default store"
    parsed = urlparse(uri)
    if parsed.scheme.lower() in _REMOTE:
        port = parsed.port or (443 if parsed.scheme.lower() == "https" else 80)
        connect = min(CONNECT_SECONDS, options.timeout)
        try:
            socket.create_connection((parsed.hostname, port), timeout=connect).close()
        except TimeoutError:
            raise TimeoutError(f"{uri} did not accept a connection within {connect:g} s"
                               ) from None
        except OSError as exc:
            raise ConnectionError(f"cannot connect to {uri}: {exc.strerror or exc}") from None
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["run_id"] = log_run(options, folder, results)
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="warprec-mlflow", daemon=True)
    thread.start()
    thread.join(options.timeout)
    if thread.is_alive():
        raise TimeoutError(f"{uri} did not finish within general.mlflow.timeout = "
                           f"{options.timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return str(outcome["run_id"])


def log_run(options: Any, folder: Path, results: dict[str, Any]) -> str:
    """Log the run in ``folder`` to MLflow; returns the MLflow run id of the whole run."""
    MlflowClient, Metric, Param, RunTag = _mlflow()

    client = MlflowClient(tracking_uri=tracking_uri(options))
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


def _mlflow() -> tuple[Any, Any, Any, Any]:
    try:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
    except ImportError:
        raise ConfigError("general.mlflow: needs mlflow, which is not installed; "
                          "pip install 'warprec-core[mlflow]'") from None
    return MlflowClient, Metric, Param, RunTag


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
