"""Names to objects: the one place that maps the config's filter, splitter, metric,
optimizer and scheduler names to what they build, binding their arguments."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from warprec.config.sections import Evaluation, Optimization, Reader, SplitPart
from warprec.errors import ConfigError, WarpRecError
from warprec.utils.names import did_you_mean

__all__ = [
    "FILTER_ALIASES",
    "SPLITTERS",
    "bind_dataset_params",
    "build_evaluator",
    "build_filters",
    "build_splitter",
    "check_cold_start",
    "check_training_options",
    "filter_target",
]

# WarpRec's filter names and parameter names -> the registry's.
FILTER_ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "UserMin": ("UserMinInteractions", {"min_interactions": "min_interactions"}),
    "ItemMin": ("ItemMinInteractions", {"min_interactions": "min_interactions"}),
    "IterativeKCore": ("KCore", {"min_interactions": "k"}),
    "DropUser": ("DropIds", {"user_ids_to_filter": "users"}),
    "DropItem": ("DropIds", {"item_ids_to_filter": "items"}),
}

# Config strategy -> (splitter registry name, {config key: constructor argument}). A
# registered splitter named directly takes the generic mapping.
SPLITTERS: dict[str, tuple[str, dict[str, str]]] = {
    "random_holdout": ("RandomHoldout", {"ratio": "test_ratio", "seed": "seed"}),
    "random_holdout_per_user": ("RandomHoldoutPerUser", {"ratio": "test_ratio", "seed": "seed"}),
    "temporal_holdout": ("TemporalHoldout", {"ratio": "test_ratio"}),
    "random_leave_k_out": ("RandomLeaveKOut", {"k": "test_k", "seed": "seed"}),
    "temporal_leave_k_out": ("TemporalLeaveKOut", {"k": "test_k"}),
    "timestamp_slicing": ("TimestampSlicing", {"timestamp": "test_timestamp"}),
    "k_fold_cross_validation": ("KFold", {"folds": "k", "seed": "seed"}),
    "item_cold_start": ("ItemColdStart", {"ratio": "test_ratio", "seed": "seed"}),
    "user_cold_start": ("UserColdStart", {"ratio": "test_ratio", "seed": "seed"}),
}
_GENERIC_SPLITTER_ARGS = {"ratio": "test_ratio", "k": "test_k", "timestamp": "test_timestamp",
                          "folds": "k", "seed": "seed"}


def filter_target(name: str) -> str:
    """The registry name of a config filter name (WarpRec's aliases translated)."""
    return FILTER_ALIASES.get(name, (name, {}))[0]


def build_filters(filtering: Mapping[str, Mapping[str, Any] | None]) -> list[Any]:
    """The configured filters, in order; a ConfigError naming ``filtering.<Name>``."""
    from warprec.utils.registry import filter_registry

    filters = []
    for name, params in filtering.items():
        target, renames = FILTER_ALIASES.get(name, (name, {}))
        kwargs = {renames.get(k, k): v for k, v in (params or {}).items()}
        try:
            filters.append(filter_registry.get(target, **kwargs))
        except (TypeError, WarpRecError) as exc:
            raise ConfigError(f"filtering.{name}: {call_error(exc)}") from exc
    return filters


def build_splitter(part: SplitPart, path: str) -> Any:
    """The splitter of one ``splitter.<part>``; a ConfigError naming ``path``."""
    from warprec.utils.registry import splitter_registry

    assert part.strategy is not None
    target, names = SPLITTERS.get(part.strategy, (part.strategy, _GENERIC_SPLITTER_ARGS))
    cls = splitter_registry.get_class(target)
    accepted = inspect.signature(cls).parameters
    kwargs = {arg: getattr(part, key) for key, arg in names.items()
              if getattr(part, key) is not None and arg in accepted}
    try:
        return cls(**kwargs)
    except (TypeError, WarpRecError) as exc:
        raise ConfigError(f"{path}: {call_error(exc)}") from exc


def check_cold_start(test: Any, validation: Any) -> None:
    """Refuse a validation splitter that holds out whole items or users when the test
    splitter does not hold out the same side (WarpRec's rule): the dataset keeps unseen
    ids only on the side the test split holds out, so every validation row would be
    dropped."""
    side = getattr(validation, "holds_out", None)
    if side is None or side == getattr(test, "holds_out", None):
        return
    raise ConfigError(
        f"splitter.validation_splitting: {type(validation).__name__} holds {side}s out of "
        f"training but the test split ({type(test).__name__}) does not, so every "
        f"validation {side} would be dropped; expected {side}_cold_start for the test "
        "split too, or a holdout or leave-k-out strategy for validation")


def build_evaluator(ev: Evaluation, user_groups: Any = None, item_groups: Any = None,
                    item_features: Any = None) -> Any:
    """The evaluator of the ``evaluation`` section (with the data's groups and item
    features, once read)."""
    from warprec.evaluation import Evaluator

    metrics = [*ev.metrics, *({"name": m.name, "params": m.params} for m in ev.complex_metrics)]
    try:
        return Evaluator(metrics=metrics, top_k=ev.top_k, strategy=ev.strategy,
                         num_negatives=ev.num_negatives, sampling=ev.negative_sampling,
                         seed=ev.seed or 0, batch_size=ev.batch_size,
                         short_head_share=ev.pop_ratio, user_groups=user_groups,
                         item_groups=item_groups, item_features=item_features,
                         propensity=ev.propensity.estimator,
                         propensity_power=ev.propensity.power,
                         propensity_clip=ev.propensity.clip)
    except WarpRecError as exc:
        raise ConfigError(f"evaluation: {exc}") from exc


def bind_dataset_params(reader: Reader) -> None:
    """Check ``reader.dataset_params`` against the bundled dataset's signature."""
    from warprec.utils.registry import dataset_registry

    if not reader.dataset:
        return
    loader = dataset_registry.get_class(reader.dataset)
    try:
        inspect.signature(loader).bind(**(reader.dataset_params or {}))
    except TypeError as exc:
        takes = ", ".join(inspect.signature(loader).parameters)
        raise ConfigError(f"reader.dataset_params: {exc} (the {reader.dataset} dataset takes "
                          f"{takes})") from exc


def check_training_options(opt: Optimization, cls: type, path: str) -> None:
    """Resolve the optimizer and scheduler names of an iterative model and bind their
    arguments; refuse an optimizer the model would not use."""
    import torch

    from warprec.recommenders.base_recommender import IterativeRecommender
    from warprec.recommenders.trainer import OPTIMIZERS

    optimizer = opt.optimizer
    if optimizer.name is not None:
        own = cls.configure_optimizer is not IterativeRecommender.configure_optimizer
        names = list(cls.optimizers_honoured) if own else list(OPTIMIZERS)
        canonical = next((o for o in names if o.lower() == optimizer.name.lower()), None)
        if canonical is None and own and not names:
            raise ConfigError(f"{path}.optimizer: {cls.__name__} builds its own optimizer "
                              "(configure_optimizer); remove optimization.optimizer (its own "
                              "is described in the model's documentation)")
        if canonical is None:
            which = f"{cls.__name__} honours " if own else ""
            raise ConfigError(f"{path}.optimizer.name: got {optimizer.name!r}; expected one of "
                              f"{which}{', '.join(names)}{did_you_mean(optimizer.name, names)}")
        optimizer.name = canonical
        if own:
            allowed = cls.optimizers_honoured[canonical]
            for key in optimizer.params or {}:
                if key not in allowed:
                    raise ConfigError(f"{path}.optimizer.params.{key}: not an argument "
                                      f"{cls.__name__} applies to {canonical}; expected some "
                                      f"of {', '.join(allowed) or 'none'}")
        else:
            _bind(getattr(torch.optim, canonical), optimizer.params,
                  f"{path}.optimizer.params", skip=("params", "lr"))
    scheduler = opt.lr_scheduler
    if scheduler.name is not None:
        schedulers = [n for n, c in vars(torch.optim.lr_scheduler).items()
                      if inspect.isclass(c) and hasattr(c, "step") and not n.startswith("_")
                      and n not in ("LRScheduler", "Optimizer")]
        scheduler_cls = getattr(torch.optim.lr_scheduler, scheduler.name, None)
        if scheduler.name not in schedulers or scheduler_cls is None:
            raise ConfigError(f"{path}.lr_scheduler.name: got {scheduler.name!r}; expected a "
                              "class of torch.optim.lr_scheduler"
                              f"{did_you_mean(scheduler.name, schedulers)}")
        _bind(scheduler_cls, scheduler.params, f"{path}.lr_scheduler.params",
              skip=("optimizer",))


def _bind(cls: type, params: Mapping[str, Any] | None, path: str, skip: tuple[str, ...]
          ) -> None:
    signature = inspect.signature(cls)
    accepted = [n for n in signature.parameters if n not in skip]
    for key in params or {}:
        if key not in accepted:
            raise ConfigError(f"{path}.{key}: not an argument of {cls.__name__}"
                              f"{did_you_mean(key, accepted)}; expected some of "
                              f"{', '.join(accepted)}")


def call_error(exc: Exception) -> str:
    """The message of a constructor's error, without the ``Name.__init__()`` prefix of
    a TypeError."""
    return re.sub(r"^[\w.]*\(\) ", "", str(exc))
