"""Search trials on Ray Tune (``general.backend: ray``; extra ``warprec-core[ray]``).

The trials are exactly the parameter sets the local backend runs (one Ray Tune trial
each, in parallel), on a local Ray started here or on an existing cluster
(``general.ray_address``). Each worker rebuilds the model class from the registry
(importing the config's custom modules first), fits and scores it on validation the way
the local backend does, and reports the scores; results keep the same format.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from typing import Any

from warprec.output import safe_name

__all__ = ["run_trials"]

_PREFIX = "warprec/"  # marks our metrics among the ones Ray Tune adds to each result


def run_trials(plan: Any, data: Any, evaluator: Any, cfg: Any) -> list[tuple[dict[str, float],
                                                                            dict[str, Any]]]:
    """``(validation scores, fit info)`` of every trial of ``plan``, in trial order."""
    import ray
    from ray import tune

    general = cfg["general"]
    if not ray.is_initialized():
        ray.init(address=general["ray_address"], include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    setup = {"name": plan.name, "config": plan.config, "trials": plan.trials,
             "custom_modules": general["custom_modules"], "base_dir": str(cfg.base_dir),
             "cfg": cfg}
    trainable = tune.with_parameters(_trial, setup=setup, data=data, evaluator=evaluator)
    # Tune's own files (no checkpoints: trials only report scores) go to a scratch folder.
    with tempfile.TemporaryDirectory(prefix="warprec-tune-") as scratch:
        tuner = tune.Tuner(
            trainable,
            param_space={"index": tune.grid_search(list(range(len(plan.trials))))},
            tune_config=tune.TuneConfig(num_samples=1),
            run_config=tune.RunConfig(name=f"warprec-{safe_name(plan.name)}", verbose=0,
                                      storage_path=scratch),
        )
        grid = tuner.fit()
        outcomes = dict(_outcome(grid[i], plan.name) for i in range(len(grid)))
    return [outcomes[i] for i in range(len(plan.trials))]


def _outcome(result: Any, name: str) -> tuple[int, tuple[dict[str, float], dict[str, Any]]]:
    """The trial index, its validation scores and its fit information."""
    if result.error is not None:
        # Ray's error text holds the worker's traceback; its last line is the exception.
        last = (str(result.error).strip().splitlines() or [""])[-1]
        raise RuntimeError(f"Ray Tune trial of {name} failed: {last}") from result.error
    metrics = result.metrics or {}
    fit_prefix = _PREFIX + "fit/"
    scores = {k[len(_PREFIX):]: float(v) for k, v in metrics.items()
              if k.startswith(_PREFIX) and not k.startswith(fit_prefix)}
    fit = {k[len(fit_prefix):]: v for k, v in metrics.items()
           if k.startswith(fit_prefix) and not _is_nan(v)}
    return int(result.config["index"]), (scores, fit)


def _trial(params: Mapping[str, Any], setup: Mapping[str, Any], data: Any,
           evaluator: Any) -> None:
    """One Ray Tune trial: the local backend's fit + validation, reported to Tune."""
    from pathlib import Path

    from ray import tune

    from warprec import experiment
    from warprec.config import import_custom_modules
    from warprec.utils.registry import model_registry

    import_custom_modules(setup["custom_modules"], Path(setup["base_dir"]))
    cls = model_registry.get_class(setup["name"])
    plan = experiment._Plan(setup["name"], cls, setup["config"], setup["trials"],
                            progress=False)
    trial = plan.trials[params["index"]]
    scores, _, fit = experiment._validate_trial(plan, trial, data, evaluator, setup["cfg"])
    report = {f"{_PREFIX}{k}": float(v) for k, v in scores.items()}
    report.update({f"{_PREFIX}fit/{k}": float(v) for k, v in fit.items()})
    tune.report(report)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
