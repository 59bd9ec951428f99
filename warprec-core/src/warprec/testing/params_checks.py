"""The conformance kit's checks of a model's declared hyperparameters.

- every numeric hyperparameter has a domain
  (:func:`warprec.recommenders.hyperparameters.undeclared_domains`);
- the constructor accepts what ``validate_params`` accepts: combinations drawn from the
  declared domains (each value alone, then seeded mixtures) are validated, and every
  accepted one is built on the kit's data. A :class:`~warprec.errors.ConfigError` from
  the constructor is a rule the plan cannot see: it belongs in the model's
  ``check_relations`` (or in a domain), so that ``warprec config check`` refuses it.

Draws stay at the cheap end of each domain (its lower bound, the default, every value
of a ``Literal`` or ``bool``, ``None`` when allowed): building a model with the
largest allowed sizes would test the machine, not the contract.
"""

from __future__ import annotations

import random
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

from warprec.errors import DataError
from warprec.recommenders.hyperparameters import MISSING, Hyperparameter, spec, undeclared_domains

__all__ = ["accepted_params_construct", "candidate_values", "declares_domains", "draws"]

# Seeded mixtures of candidate values tried after each value alone.
MIXTURES = 8


def declares_domains(model_class: type, fail: Callable[[str], None]) -> None:
    """``fail`` with the hyperparameters of ``model_class`` that are numeric and have
    no domain."""
    missing = undeclared_domains(model_class)
    if missing:
        fail(f"numeric hyperparameter(s) without a domain: {', '.join(missing)}; declare "
             "one, e.g. Annotated[float, Ge(0)] or Literal[...], so that a config's "
             "out-of-range value is refused (docs/writing-models.md)")


def accepted_params_construct(model_class: type, params: dict[str, Any],
                              build: Callable[[dict[str, Any]], Any],
                              fail: Callable[[str], None], seed: int = 42) -> None:
    """Build ``model_class`` with every drawn combination ``validate_params`` accepts;
    ``fail`` on the first constructor error (a :class:`DataError` aside: data-bound)."""
    for trial in draws(model_class, params, seed):
        try:
            values = model_class.validate_params(trial)
        except ValueError:  # refused at plan time: never reaches a constructor
            continue
        given = {name: values[name] for name in trial}
        try:
            build(given)
        except DataError:
            continue
        except Exception as exc:
            kind = type(exc).__name__
            fail(f"the constructor raised {kind} for {given}, which validate_params "
                 f"accepts: {' '.join(str(exc).split())[:300]}; state the rule in "
                 "check_relations (or a domain) so that the plan refuses it before a run")


def draws(model_class: type, params: dict[str, Any], seed: int = 42) -> list[dict[str, Any]]:
    """Combinations to try: ``params`` with each candidate value of each other
    hyperparameter alone, then :data:`MIXTURES` seeded mixtures of them."""
    options = {name: candidate_values(hp) for name, hp in spec(model_class).items()
               if name not in params}
    options = {name: values for name, values in options.items() if values}
    trials = [{**params, name: value} for name, values in options.items() for value in values]
    rng = random.Random(seed)
    for _ in range(MIXTURES if options else 0):
        trials.append({**params, **{name: rng.choice(values) for name, values in options.items()}})
    return trials


def candidate_values(hp: Hyperparameter) -> list[Any]:
    """Values of one hyperparameter's domain worth trying (cheap ones: see the module)."""
    values = _domain_values(hp.annotation, hp.default)
    if hp.default is not MISSING:
        values.insert(0, hp.default)
    unique: list[Any] = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in unique):
            unique.append(value)
    return unique


def _domain_values(annotation: Any, default: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *metadata = typing.get_args(annotation)
        if base in (int, float):
            return [_low_end(base, metadata, default)]
        return _domain_values(base, default)
    if origin is typing.Literal:
        return list(typing.get_args(annotation))
    if annotation is bool:
        return [True, False]
    if origin in (typing.Union, types.UnionType):
        values: list[Any] = []
        for arm in typing.get_args(annotation):
            values += [None] if arm is type(None) else _domain_values(arm, default)
        return values
    if isinstance(default, (list, tuple)) and len(default) > 1:
        return [type(default)(default[:1])]  # one layer instead of several
    return []


def _low_end(base: type, metadata: list[Any], default: Any) -> Any:
    """The domain's lowest value (just above an exclusive bound), or the default."""
    for item in metadata:
        if getattr(item, "ge", None) is not None:
            return base(item.ge)
        if getattr(item, "gt", None) is not None:
            if base is int:
                return int(item.gt) + 1
            above = default - item.gt if isinstance(default, (int, float)) else 1.0
            return float(item.gt + (above / 10 if above > 0 else 1e-3))
    return default
