"""Search trials on Ray Tune (``general.backend: ray``; extra ``warprec-core[ray]``).

The trials are exactly the parameter sets the local runner runs (one Ray Tune trial
each, in parallel), on a local Ray started here or on an existing cluster
(``general.ray_address``). Each worker rebuilds the model class from the registry
(importing the config's custom modules first), fits and scores it on validation as the
local runner does, and reports the scores.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from warprec.config import Config
from warprec.experiment.data import RunData
from warprec.experiment.plan import ModelPlan
from warprec.experiment.trials import TrialOutcome, score_trial
from warprec.output import safe_name

__all__ = ["RayTrials"]

_PREFIX = "warprec/"  # marks our metrics among the ones Ray Tune adds to each result


class RayTrials:
    """Trials in parallel on Ray Tune."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def run(self, plan: ModelPlan, data: RunData, evaluator: Any) -> Iterator[TrialOutcome]:
        """Fit and score every trial of ``plan``; outcomes in trial order, no models."""
        import ray
        from ray import tune

        general = self.config.model.general
        if not ray.is_initialized():
            ray.init(address=general.ray_address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        setup = {"plan": dataclasses.replace(plan, cls=None, progress=False),
                 "custom_modules": general.custom_modules,
                 "base_dir": str(self.config.base_dir)}
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
        for index in range(len(plan.trials)):
            yield outcomes[index]


def _outcome(result: Any, name: str) -> tuple[int, TrialOutcome]:
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
    index = int(result.config["index"])
    return index, TrialOutcome(index, scores, fit)


def _trial(params: Mapping[str, Any], setup: Mapping[str, Any], data: Any,
           evaluator: Any) -> None:
    """One Ray Tune trial: the local runner's fit + validation, reported to Tune."""
    from ray import tune

    from warprec.custom_modules import import_custom_modules
    from warprec.utils.registry import model_registry

    import_custom_modules(setup["custom_modules"], Path(setup["base_dir"]))
    plan = dataclasses.replace(setup["plan"], cls=model_registry.get_class(setup["plan"].name))
    trial = plan.trials[params["index"]]
    scores, _, fit = score_trial(plan, trial, data, evaluator)
    report = {f"{_PREFIX}{k}": float(v) for k, v in scores.items()}
    report.update({f"{_PREFIX}fit/{k}": float(v) for k, v in fit.items()
                   if isinstance(v, int | float)})
    tune.report(report)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
