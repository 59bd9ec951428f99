"""``warprec plugins doctor [NAME...]``: every problem of the named plugins, at once.

The doctor reads a plugin in a child process, as listing does (its cached manifest when
that read worked, again when it failed), so a plugin that hangs, exits or kills itself at
import is reported, never run here. For a plugin that loads, it imports in this process every
lazy reference the plugin registers, checks that each is the kind of object its registry
expects, and runs a quick conformance smoke check (build, ``predict`` shapes, save and
load) on each model, on the conformance kit's toy data; the official packages' models,
which their releases run through the whole kit, are not smoke-checked again. Deprecation warnings
and numeric hyperparameters without a domain are reported as warnings. Problems are
collected, never raised one by one.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from warprec import plugins
from warprec._advice import kit_tested
from warprec._manifests import Manifest, load_manifests
from warprec.errors import PluginError
from warprec.utils.checks import shorten

__all__ = ["SMOKE_CHECKS", "Diagnosis", "diagnose"]

# Cheap checks that catch what breaks a run: the model builds, scores in the right
# shape without NaN, and survives a checkpoint (read back with weights_only=True).
SMOKE_CHECKS = ("constructs", "predict_shapes", "save_load")


@dataclass
class Diagnosis:
    """One plugin's outcome: what was checked, its problems and its warnings."""

    plugin: str
    version: str | None
    status: str
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def diagnose(names: list[str] | None = None, smoke: bool = True, *,
             smoke_kit_tested: bool = False) -> list[Diagnosis]:
    """Check the plugins ``names`` (default: every discovered one; disabled ones are
    listed without checks). An unknown name is a :class:`PluginError`. The models of a
    package whose releases run the conformance kit (``known_plugins.json``) are not
    smoke-checked unless ``smoke_kit_tested``."""
    infos = _selected(plugins.list_plugins(), names)
    wanted = [i.name for i in infos if i.status not in ("disabled", "incompatible")]
    fresh = load_manifests(plugins.host.targets(wanted), retry_failed=True) if wanted else {}
    results = []
    for info in infos:
        diagnosis = Diagnosis(info.name, info.version, info.status)
        results.append(diagnosis)
        manifest = fresh.get(info.name)
        if info.status == "disabled":
            continue
        if manifest is None or manifest.status != "ok" or info.status == "error":
            error = manifest.error if manifest is not None and manifest.error else info.error
            diagnosis.problems.append(f"{info.status if info.status != 'ok' else 'error'}: "
                                      f"{error}")
            continue
        skip = kit_tested(info.name) and not smoke_kit_tested
        if smoke and skip:
            diagnosis.warnings.append("models not smoke-checked: each release of this package "
                                      "runs the conformance kit on them (--smoke-all checks)")
        _check_plugin(info, manifest, diagnosis, smoke and not skip)
    return results


def _selected(infos: list[plugins.PluginInfo], names: list[str] | None
              ) -> list[plugins.PluginInfo]:
    if names is None:
        return infos
    by_name = {canonicalize_name(i.name): i for i in infos}
    unknown = [n for n in names if canonicalize_name(n) not in by_name]
    if unknown:
        known = ", ".join(i.name for i in infos) or "none"
        raise PluginError(f"plugins doctor: no installed plugin named {unknown[0]!r}; "
                          f"expected one of {known}")
    return [by_name[canonicalize_name(n)] for n in dict.fromkeys(names)]


def _check_plugin(info: plugins.PluginInfo, manifest: Manifest, diagnosis: Diagnosis,
                  smoke: bool) -> None:
    slow = plugins.SLOW_SECONDS
    if info.conflicts:
        diagnosis.problems.append("provides names another source also registers: "
                                  + "; ".join(info.conflicts))
    if manifest.load_seconds is not None and manifest.load_seconds > slow:
        diagnosis.problems.append(f"its hook module took {manifest.load_seconds:.2f} s to "
                                  f"import (more than {slow} s): keep heavy imports in "
                                  "the modules its 'module:Name' references name")
    diagnosis.warnings.extend(f"deprecated: {w}" for w in manifest.warnings)
    for kind, registry in plugins.host.registries.items():
        for entry in registry.entries():
            if entry.source.name != info.name:
                continue
            label = f"{registry.kind} {entry.name!r}"
            diagnosis.checked.append(label)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DeprecationWarning)
                problem = _check_entry(kind, entry, smoke)
            diagnosis.warnings.extend(
                f"deprecated: {w.category.__name__}: {w.message}" for w in caught
                if issubclass(w.category, DeprecationWarning | FutureWarning)
                and f"{w.category.__name__}: {w.message}" not in manifest.warnings)
            if problem:
                diagnosis.problems.append(f"{label}: {problem}")
            described = manifest.entry(kind, entry.name) or {}
            diagnosis.warnings.extend(
                f"{label}: hyperparameter {name!r} is numeric without a domain (any value "
                "passes); declare a bound or a Literal"
                for name in domainless(described.get("params") or {}))


def domainless(params: dict[str, Any]) -> list[str]:
    """The hyperparameters a model description flags as numeric without a domain (its
    ``no_domain``, set by ``describe_hyperparameters``)."""
    return [name for name, described in params.items() if described.get("no_domain")]


def _check_entry(kind: str, entry: Any, smoke: bool) -> str | None:
    try:
        target = entry.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a plugin must not end the doctor
        return f"cannot be imported: {shorten(str(exc), 300)}"
    if kind == "models":
        from warprec.recommenders.base_recommender import Recommender, needs_interactions

        if not (inspect.isclass(target) and issubclass(target, Recommender)):
            return f"{target!r} is not a Recommender subclass"
        needs_interactions(target)  # warns when the runner must guess (deprecated)
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


def _smoke(cls: type) -> str | None:
    """A quick conformance check with the model's defaults (one epoch when it trains)."""
    from warprec.recommenders.base_recommender import IterativeRecommender, hyperparameters
    from warprec.testing.conformance import ModelChecker

    declared = hyperparameters(cls)
    missing = [n for n, d in declared.items() if "default" not in d]
    params: dict[str, object] = {}
    if issubclass(cls, IterativeRecommender):
        params = {"epochs": 1, "batch_size": 4096, "learning_rate": 1e-3}
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
