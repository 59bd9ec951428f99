"""The experiment a configuration drives (``warprec run``).

config -> plan (everything checked, nothing read or written) -> data (read, filtered,
split, validated) -> the contract smoke check of every model that is not official (on a
sample of the data; see :mod:`warprec.testing.smoke`) -> run folder -> for each model,
for each trial: build, fit, score on validation -> the best trial (by the validation
metric) evaluated on test, after a refit on train+validation when asked -> results,
outputs, the resolved config and ``run.log``.

``results.json`` is rewritten after every model, so a run that is interrupted or whose
model fails keeps what finished; the failure is recorded in the model's entry.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warprec._advice import kit_tested
from warprec.config import Config, load_config
from warprec.errors import ConfigError, DataError, ModelError, OutputError, WarpRecError
from warprec.evaluation.significance_report import TESTS, significance
from warprec.experiment import trials as trial_runs
from warprec.experiment.build import build_evaluator
from warprec.experiment.data import RunData, load_data, resolve_path
from warprec.experiment.outputs import (
    ExperimentResults,
    capture_log,
    resolved_yaml,
    save_split,
    write_model_outputs,
    write_results,
)
from warprec.experiment.plan import ModelPlan, Plan, make_plan
from warprec.experiment.trials import LocalTrials, TrialRunner, check_defined
from warprec.output import RunFolder, format_table, results_rows
from warprec.reporting import finish_run, write_per_user
from warprec.utils import interrupts
from warprec.utils.checks import shorten
from warprec.utils.threads import thread_limit

__all__ = ["check_config", "log_plugin_problems", "run_experiment", "smoke_check_models"]

logger = logging.getLogger("warprec")
THREADS_ENV = "WARPREC_THREADS"
MAX_THREADS = 4096  # general.threads' bound


def check_config(
    source: str | Path | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    read_data: bool = False,
) -> Plan:
    """Plan a run without training: everything ``warprec run`` checks before it writes
    anything, and with ``read_data`` the data and the contract smoke check too. Returns
    the plan."""
    plan = make_plan(load_config(source, overrides=overrides), output)
    capped = run_threads(plan.config)[1]
    if capped is not None:
        plan.warnings.append(capped)
    if read_data:
        data = load_data(plan.config)
        plan.warnings.extend(_selection_warnings(plan, data))
        smoke_check_models(plan, data)
    return plan


def run_experiment(
    config: str | Path | Mapping[str, Any],
    output: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    quiet: bool = False,
    raise_on_failure: bool = True,
) -> ExperimentResults:
    """Run the experiment of a YAML file or a config mapping; return its results.

    Args:
        config: a path to a YAML file or a mapping with the same layout.
        output: write the run into exactly this folder (empty or absent) instead of a
            new ``<local_experiment_path>/<dataset_name>/<run id>/``.
        overrides: dotted key paths to replace (``{"general.seed": 7}``).
        quiet: log warnings only (no progress) on stderr; ``run.log`` gets everything.
        raise_on_failure: after writing the results, re-raise the first model failure
            (the other models' results are kept on disk either way).

    Raises:
        ConfigError, DataError: invalid configuration or data (nothing is written).
        KeyboardInterrupt: after writing the results of the models that finished.
    """
    with interrupts.signals_interrupt():
        try:
            return _run(config, output, overrides, quiet, raise_on_failure)
        except KeyboardInterrupt as exc:
            if isinstance(exc, interrupts.Interrupted):
                raise
            raise interrupts.interruption() from None


def _run(config: str | Path | Mapping[str, Any], output: str | Path | None,
         overrides: Mapping[str, Any] | None, quiet: bool, raise_on_failure: bool
         ) -> ExperimentResults:
    plan = make_plan(load_config(config, overrides=overrides), output)
    threads, capped = run_threads(plan.config)
    if capped is not None:
        plan.warnings.append(capped)
    for model_plan in plan.models.values():
        model_plan.progress = False if quiet else None
    writer = plan.config.model.writer
    with capture_log(quiet) as attach_log:
        for warning in plan.warnings:
            logger.warning("Warning: %s", warning)
        log_plugin_problems()
        data = load_data(plan.config)
        data_warnings = [*_selection_warnings(plan, data), *cap_cutoffs(plan, data)]
        for warning in data_warnings:
            logger.warning("Warning: %s", warning)
        if data.groups:
            plan.evaluator = build_evaluator(plan.config.model.evaluation, **data.groups)
        with thread_limit(threads):
            smoke_check_models(plan, data)
        # Created once config and data are known good, so a fix-and-rerun can reuse --output.
        with RunFolder.create(writer.local_experiment_path, str(writer.dataset_name),
                              plan.output) as folder:
            folder.name_models(plan.models)
            attach_log(folder)
            logger.info("Run folder: %s", folder.path)
            results: dict[str, Any] = {"status": "running", "data": data.summary(),
                                       "threads": threads,
                                       "warnings": [*plan.warnings, *data_warnings],
                                       "models": []}
            try:
                folder.write_text("config.yaml", resolved_yaml(plan))
                write_results(folder, results)
                if writer.save_split:
                    save_split(folder, plan, data)
                logger.info("Threads: %d (general.threads)", threads)
                with thread_limit(threads):
                    _run_models(plan, data, folder, results)
            except KeyboardInterrupt:
                _finish(folder, results, "interrupted", None)
                logger.warning("Interrupted: results of the finished models are in %s",
                               folder.path)
                raise
            except OutputError as exc:
                _finish(folder, results, "failed", str(exc))
                raise
            logger.debug("Results (test):\n%s", format_table(*results_rows(results["models"])))
            _after_run(plan, folder, results)
    outcome = ExperimentResults(folder.path, results)
    failure = results.pop("_failure", None)
    if failure is not None and raise_on_failure:
        raise failure
    return outcome


def _finish(folder: RunFolder, results: dict[str, Any], status: str, error: str | None
            ) -> None:
    """Record the final status of a run that stops early; the write is not interrupted
    by a second signal, and a write that fails leaves the last complete results.json."""
    results["status"] = status
    if error is not None:
        results["error"] = error
    _rewrite_results(folder, results)


def smoke_check_models(plan: Plan, data: RunData) -> None:
    """The contract smoke check (:func:`warprec.testing.smoke.smoke_check`) of every model
    the run trains that is not official, on one sample of the data with its first
    trial's hyperparameters (unless its ``meta.smoke_check`` is false): a broken rule is
    a :class:`ModelError` before anything is written; a model that cannot be built on the
    sample is a warning (the run goes on)."""
    models = [m for m in plan.models.values()
              if m.block.meta.smoke_check and m.block.meta.load_from is None
              and not _kit_tested(m.provider.get("distribution"))]
    if not models:
        return
    from warprec.testing.conformance import CheckSkipped, ConformanceError
    from warprec.testing.smoke import data_sample, smoke_check

    sample = data_sample(data.main)
    for model_plan in models:
        opt = model_plan.block.optimization
        start = time.perf_counter()
        try:
            smoke_check(model_plan.cls, model_plan.trials[0], sample,
                        seed=opt.properties.seed, device=str(opt.device))
        except ConformanceError as exc:
            raise ModelError(
                f"models.{model_plan.name}: {model_plan.cls.__name__} (from "
                f"{model_plan.provider.get('distribution')}) breaks the model contract: "
                f"{shorten(str(exc), 300)} (the contract smoke check on a sample of the "
                "data, before training; warprec.testing.check_model runs every check of "
                "the conformance kit)") from None
        except CheckSkipped as exc:
            logger.warning("Warning: models.%s: no contract smoke check: %s; training goes "
                           "on", model_plan.name, shorten(str(exc), 300))
        else:
            logger.info("models.%s: contract smoke check passed (%.2f s)", model_plan.name,
                        time.perf_counter() - start)


def _kit_tested(distribution: str | None) -> bool:
    """Models of the core and of packages whose releases run the whole conformance kit
    (``known_plugins.json``) skip the smoke check."""
    return distribution == "warprec-core" or (distribution is not None
                                              and kit_tested(distribution))


def _rewrite_results(folder: RunFolder, results: dict[str, Any]) -> None:
    """Rewrite results.json without letting a second signal interrupt the write; a write
    that fails leaves its last complete version."""
    with interrupts.deferred():
        try:
            write_results(folder, results)
        except OutputError:
            logger.debug("results.json could not be updated; its last version stays")


def _after_run(plan: Plan, folder: RunFolder, results: dict[str, Any]) -> None:
    """The report and MLflow: what fails there is recorded (``post_run_failures``; the
    CLI exits 3), the results stay complete."""
    problems = finish_run(plan, folder, results)
    if problems:
        results["warnings"].extend(problems)
        results["post_run_failures"] = problems
        _rewrite_results(folder, results)


def log_plugin_problems() -> None:
    """Plugins that failed to load, as warnings (stderr and run.log): a model they
    provide is unknown to this run."""
    from warprec import plugins

    for info in plugins.list_plugins():
        if info.status in ("error", "incompatible"):
            logger.warning("Warning: plugin %s %s is not loaded (%s): %s", info.name,
                           info.version or "", info.status, info.error)


def _selection_warnings(plan: Plan, data: RunData) -> list[str]:
    """A search without a validation split picks its best trial on test, as WarpRec
    does: said, never silent."""
    if data.validation:
        return []
    return [f"models.{name}: a search of {len(m.trials)} trials without a validation split "
            "picks its best trial on the test split (as WarpRec does; results.json says "
            "selected_on: test); add splitter.validation_splitting for an unbiased choice"
            for name, m in plan.models.items() if len(m.trials) > 1]


def cap_cutoffs(plan: Plan, data: RunData) -> list[str]:
    """A cut-off above the number of items: its lists hold every item (capped at that
    number, and so is the memory of the metrics): said, never silent."""
    n_items = data.main.n_items
    capped = plan.evaluator.capped_cutoffs(n_items) if plan.evaluator is not None else []
    if not capped:
        return []
    return [f"evaluation.top_k: {', '.join(map(str, capped))} above the {n_items:,} items of "
            f"the data; its lists are capped at {n_items:,} (every item; the metrics keep "
            "their definition: Precision divides by the cut-off)"]


def run_threads(config: Config) -> tuple[int, str | None]:
    """The run's threads and a warning when they were capped: ``general.threads``, else
    ``WARPREC_THREADS`` (the same bounds), else the CPUs this process may use; never more
    than those CPUs (more threads than CPUs only contend, and thousands of OpenMP threads
    exhaust memory)."""
    from warprec.utils.threads import default_threads

    asked, source = config.model.general.threads, "general.threads"
    if asked is None:
        asked, source = _env_threads(), THREADS_ENV
    available = default_threads()
    if asked is None:
        return available, None
    if asked > available:
        return available, (f"{source}: {asked} is more than the {available} CPU(s) this "
                           f"process may use; using {available}")
    return asked, None


def _env_threads() -> int | None:
    """``WARPREC_THREADS`` checked as ``general.threads`` is: unset means the default."""
    value = os.environ.get(THREADS_ENV)
    if value is None or value == "":
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_THREADS:
        raise ConfigError(f"{THREADS_ENV}: got {value[:40]!r}; expected an integer "
                          f"from 1 to {MAX_THREADS}")
    return int(text)


def _trial_runner(plan: Plan, model_plan: ModelPlan) -> TrialRunner:
    if model_plan.ray and (len(model_plan.trials) > 1 or model_plan.searched):
        from warprec.experiment.ray_trials import RayTrials

        opt = model_plan.block.optimization
        logger.info("  %s: %d trials on Ray Tune (strategy %s, scheduler %s)",
                    model_plan.name, len(model_plan.trials), opt.strategy, opt.scheduler)
        return RayTrials(plan.config)
    return LocalTrials()


def _run_models(plan: Plan, data: RunData, folder: RunFolder, results: dict[str, Any]
                ) -> None:
    """Run every model, rewriting ``results.json`` after each; a model's failure is
    recorded and the next one runs; an interruption or a write error ends the run."""
    failure: BaseException | None = None
    test_results: dict[str, Any] = {}
    for position, model_plan in enumerate(plan.models.values(), start=1):
        logger.info("[%d/%d] %s: %d trial(s)", position, len(plan.models), model_plan.name,
                    len(model_plan.trials))
        try:
            entry, model, test_result = _run_model(plan, model_plan, data)
            write_model_outputs(model_plan, model, data, plan, folder, entry)
            if plan.config.model.evaluation.save_per_user:
                entry["per_user"] = write_per_user(folder, model_plan.name, test_result,
                                                   data.main)
            test_results[model_plan.name] = test_result
            del model
        except KeyboardInterrupt:
            results["models"].append(_failed_entry(model_plan, "interrupted",
                                                   interrupts.reason()))
            raise
        except OutputError:
            results["models"].append(_failed_entry(model_plan, "failed", "its outputs could "
                                                   "not be written"))
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            logger.info("models.%s failed: %s (going on with the next model)",
                        model_plan.name, message)
            logger.debug("%s", traceback.format_exc())
            results["models"].append(_failed_entry(model_plan, "failed", message))
            failure = failure or _prefixed(exc, model_plan.name)
        else:
            results["models"].append(entry)
        write_results(folder, results)
    results["status"] = "failed" if failure is not None else "complete"
    options = plan.config.data["evaluation"]["stat_significance"]
    tests = [flag for flag in TESTS if options[flag]]
    if tests and len(test_results) > 1:
        results["significance"] = significance(test_results, options)
        logger.info("Significance: %d comparisons written to results.json",
                    len(results["significance"]))
    elif tests:
        warning = (f"evaluation.stat_significance: {', '.join(tests)} compare models, but "
                   f"{len(test_results)} model(s) finished; no test was run (expected at "
                   "least two models)")
        logger.warning("Warning: %s", warning)
        results["warnings"].append(warning)
    write_results(folder, results)
    if failure is not None:
        results["_failure"] = failure


def _prefixed(exc: Exception, name: str) -> Exception:
    if isinstance(exc, WarpRecError) and not str(exc).startswith("models."):
        wrapped = type(exc)(f"models.{name}: {exc}")
        wrapped.__cause__ = exc
        return wrapped
    return exc


def _failed_entry(model_plan: ModelPlan, status: str, error: str) -> dict[str, Any]:
    return {"model": model_plan.name, "status": status, "error": error, "params": None,
            "provider": model_plan.provider, "validation": None, "test": None,
            "fit_seconds": None, "trials": []}


def _run_model(plan: Plan, model_plan: ModelPlan, data: RunData
               ) -> tuple[dict[str, Any], Any, Any]:
    """Search, pick the best trial, evaluate it on test: ``(entry, model, test result)``."""
    evaluator = plan.evaluator
    opt = model_plan.block.optimization
    metric = str(opt.validation_metric)
    maximise = opt.properties.mode == "max"
    if model_plan.block.meta.load_from is not None:
        return _loaded_model(plan, model_plan, data)
    if not data.validation and len(model_plan.trials) == 1:
        params = model_plan.trials[0]
        model, fit = trial_runs.fit_model(model_plan, params, data.main, evaluator, split="train")
        return _entry(model_plan, params, None, model, fit, data, evaluator, [])
    trials: list[dict[str, Any]] = []
    best = None
    runner = _trial_runner(plan, model_plan)
    for outcome in runner.run(model_plan, data, evaluator):
        params = outcome.params if outcome.params is not None \
            else model_plan.trials[outcome.index]
        trials.append(_trial_entry(params, outcome))
        if outcome.status == "invalid":
            logger.info("  %s trial %d: refused by the model: %s", model_plan.name,
                        outcome.index + 1, outcome.error)
            continue
        score = outcome.scores[metric]
        logger.info("  %s trial %d/%d: %s = %.5f%s", model_plan.name, outcome.index + 1,
                    len(model_plan.trials), metric, score,
                    f" (stopped by the scheduler after {outcome.fit['epochs']} epochs)"
                    if outcome.status == "stopped" else "")
        if best is None or (score > best.scores[metric] if maximise
                            else score < best.scores[metric]):
            best = outcome
    assert best is not None
    params = trials[best.index]["params"]
    model, fit = best.model, best.fit
    if opt.refit or data.refit_required:
        model, fit = trial_runs.fit_model(model_plan, params, data.main, evaluator,
                               split="train" if data.refit_required else "train_validation",
                               epochs=fit.get("best_epoch"))
    elif model is None:
        # The best trial ran elsewhere (Ray): train it again here, identically (same seed);
        # one a scheduler stopped, for the epochs of its best report.
        model, fit = trial_runs.fit_model(
            model_plan, params, data.main, evaluator, split="train",
            epochs=fit.get("best_epoch") if best.status == "stopped" else None)
    if best.fit.get("history") is not None:  # the curves of the selected trial
        fit = {**fit, "history": best.fit["history"]}
    validation = trials[best.index]["validation"] if data.validation else None
    entry, model, result = _entry(model_plan, params, validation, model, fit, data,
                                  evaluator, trials)
    entry["selected_on"] = data.selection_split
    return entry, model, result


def _trial_entry(params: dict[str, Any], outcome: trial_runs.TrialOutcome) -> dict[str, Any]:
    """A trial of results.json: its hyperparameters, validation scores and status
    (``complete``, ``stopped`` early by a scheduler, ``invalid`` for the model)."""
    entry: dict[str, Any] = {"params": params,
                             "validation": outcome.scores if outcome.scores else None,
                             "fit_seconds": outcome.fit.get("seconds"),
                             "status": outcome.status}
    if outcome.status == "stopped":
        entry.update(epochs=outcome.fit.get("epochs"), best_epoch=outcome.fit.get("best_epoch"))
    if outcome.error is not None:
        entry["error"] = outcome.error
    return entry


def _entry(model_plan: ModelPlan, params: dict[str, Any],
           validation: dict[str, float] | None, model: Any, fit: dict[str, Any],
           data: RunData, evaluator: Any, trials: list[dict[str, Any]]
           ) -> tuple[dict[str, Any], Any, Any]:
    """The model's results entry (test evaluated here), the model and its test result."""
    set_history = getattr(model, "set_history", None)
    if callable(set_history) and data.main.validation is not None:
        # A sequential model scores test after the validation items, as the protocol
        # means (leave-one-out: the item after the validation item), without retraining.
        set_history(data.main.sessions("train_validation"))
    result = evaluator.evaluate(model, data.main, split="test")
    test = {k: float(v) for k, v in result.summary().items()}
    check_defined(result, f"models.{model_plan.name}", "test")
    logger.info("  %s test: %s", model_plan.name,
                ", ".join(f"{k} = {v:.5f}" for k, v in test.items()))
    entry = {"model": model_plan.name, "status": "ok", "error": None, "params": params,
             "provider": model_plan.provider, "validation": validation, "test": test,
             "fit_seconds": fit["seconds"], "trials": trials,
             "validation_metric": str(model_plan.block.optimization.validation_metric)}
    if fit.get("history") is not None:
        entry["history"] = fit["history"]  # training curves: loss (and validation) per epoch
    return entry, model, result


def _loaded_model(plan: Plan, model_plan: ModelPlan, data: RunData
                  ) -> tuple[dict[str, Any], Any, Any]:
    key = f"models.{model_plan.name}.meta.load_from"
    path = resolve_path(str(model_plan.block.meta.load_from), key, plan.config)
    start = time.perf_counter()
    # The class is the config's model (from the registry); the file only supplies state.
    try:
        model_cls: Any = model_plan.cls
        model = model_cls.load(path, map_location=str(model_plan.block.optimization.device))
    except DataError as exc:
        raise DataError(f"{key}: {exc}") from exc
    if model.n_users != data.main.n_users or model.n_items != data.main.n_items:
        raise DataError(f"models.{model_plan.name}.meta.load_from: the checkpoint has "
                        f"{model.n_users} users x {model.n_items} items, the data "
                        f"{data.main.n_users} x {data.main.n_items}")
    _check_loaded_params(model_plan, model.get_params())
    fit = {"seconds": time.perf_counter() - start}
    return _entry(model_plan, model.get_params(), None, model, fit, data, plan.evaluator, [])


def _check_loaded_params(model_plan: ModelPlan, loaded: dict[str, Any]) -> None:
    """A hyperparameter the config sets must be the checkpoint's: never silently replaced."""
    given = model_plan.trials[0]
    for name in model_plan.block.hyperparameters:
        if name in loaded and given[name] != loaded[name]:
            raise ConfigError(f"models.{model_plan.name}.{name}: the config sets "
                              f"{given[name]!r} but the checkpoint "
                              f"{model_plan.block.meta.load_from!r} was trained with "
                              f"{loaded[name]!r}; expected the same value or no value")
