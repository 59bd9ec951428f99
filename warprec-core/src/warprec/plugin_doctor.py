"""``warprec plugins doctor``: every problem of every installed plugin, at once.

Listing a plugin imports only its light hook module; the doctor goes further: it imports
every lazy reference each plugin registers (models, metrics, losses, splitters, filters,
datasets, commands), checks that each is the kind of object its registry expects, and
runs a quick conformance smoke check (build, ``predict`` shapes, save and load) on each
model, on the conformance kit's toy data. Problems are collected, never raised one by one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from warprec import plugins
from warprec.utils.checks import shorten

__all__ = ["SMOKE_CHECKS", "Diagnosis", "diagnose"]

# Cheap checks that catch what breaks a run: the model builds, scores in the right
# shape without NaN, and survives a checkpoint (read back with weights_only=True).
SMOKE_CHECKS = ("constructs", "predict_shapes", "save_load")


@dataclass
class Diagnosis:
    """One plugin's outcome: what it provides that was checked, and its problems."""

    plugin: str
    version: str | None
    status: str
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def diagnose(smoke: bool = True) -> list[Diagnosis]:
    """Check every discovered plugin (disabled ones are listed without checks)."""
    infos = plugins.list_plugins()
    slow = plugins.SLOW_SECONDS
    results = []
    for info in infos:
        diagnosis = Diagnosis(info.name, info.version, info.status)
        results.append(diagnosis)
        if info.status == "disabled":
            continue
        if info.status != "ok":
            diagnosis.problems.append(f"{info.status}: {info.error}")
            continue
        if info.conflicts:
            diagnosis.problems.append("provides names another source also registers: "
                                      + ", ".join(info.conflicts))
        if info.load_seconds is not None and info.load_seconds > slow:
            diagnosis.problems.append(f"its hook module took {info.load_seconds:.2f} s to "
                                      f"import (more than {slow} s): keep heavy imports in "
                                      "the modules its 'module:Name' references name")
        for kind, registry in plugins.host.registries.items():
            for entry in registry.entries():
                if entry.source.name != info.name:
                    continue
                label = f"{registry.kind} {entry.name!r}"
                diagnosis.checked.append(label)
                problem = _check_entry(kind, entry, smoke)
                if problem:
                    diagnosis.problems.append(f"{label}: {problem}")
                elif kind == "models":
                    diagnosis.warnings += _domain_warnings(label, entry.load())
    return results


def _check_entry(kind: str, entry: object, smoke: bool) -> str | None:
    try:
        target = entry.load()  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a plugin must not end the doctor
        return f"cannot be imported: {shorten(str(exc), 300)}"
    if kind == "models":
        from warprec.recommenders.base_recommender import Recommender

        if not (inspect.isclass(target) and issubclass(target, Recommender)):
            return f"{target!r} is not a Recommender subclass"
        return _smoke(target) if smoke else None
    if kind == "metrics":
        from warprec.evaluation.metrics import Metric

        if not (inspect.isclass(target) and issubclass(target, Metric)):
            return f"{target!r} is not a warprec Metric subclass"
        return None
    if kind == "commands":
        import click

        if not isinstance(target, click.Command):
            return f"{target!r} is not a click command"
        return None
    if not callable(target):
        return f"{target!r} is not a class or function"
    return None


def _domain_warnings(label: str, cls: type) -> list[str]:
    """A warning per numeric hyperparameter without a domain (the kit fails on them)."""
    from warprec.recommenders.hyperparameters import undeclared_domains

    return [f"{label}: hyperparameter {name!r} is numeric without a domain (any value "
            "passes); declare a bound or a Literal" for name in undeclared_domains(cls)]


def _smoke(cls: type) -> str | None:
    """A quick conformance check with the model's defaults (one epoch when it trains)."""
    from warprec.recommenders.base_recommender import IterativeRecommender, hyperparameters
    from warprec.testing.conformance import ModelChecker

    declared = hyperparameters(cls)
    missing = [n for n, d in declared.items() if "default" not in d]
    params: dict[str, object] = {}
    if issubclass(cls, IterativeRecommender):
        params = {"epochs": 1, "batch_size": 64, "learning_rate": 1e-3}
        missing = [n for n in missing if n not in params]
    if missing:
        return None  # nothing to build it with: the plugin's own tests check it
    try:
        report = ModelChecker(cls, params).run(SMOKE_CHECKS)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return f"the conformance smoke check raised {type(exc).__name__}: {shorten(str(exc))}"
    failed = report.with_status("failed")
    if not failed:
        return None
    return "breaks the model contract: " + "; ".join(
        f"{r.name}: {shorten(r.message, 200)}" for r in failed)
