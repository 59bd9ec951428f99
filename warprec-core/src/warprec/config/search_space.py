"""Search spaces: from a model's config values to the list of trials to run.

A hyperparameter is a single value, a list of values, ``[grid, v1, v2, ...]``,
``[choice, v1, v2, ...]`` or ``[distribution, args...]``. The semantics are Ray Tune's:
grid values are enumerated (their Cartesian product), choices and distributions are
sampled, and ``num_samples`` repeats the grid with fresh samples. With
``strategy: random`` a plain list is a choice (sampled) rather than a grid. The searchers
(``hopt``, ``optuna``, ``bohb``) sample every list, ``[grid, ...]`` included, as a choice
(as WarpRec does): :func:`to_tune` gives their Ray Tune search space.

Distributions (Ray Tune's meaning of each bound): ``uniform lo hi``, ``quniform lo hi q``,
``loguniform lo hi [base]``, ``qloguniform lo hi q [base]``, ``randn|normal mean sd``,
``qrandn mean sd q``, ``randint lo hi`` (hi excluded), ``qrandint lo hi q`` (hi included),
``lograndint lo hi [base]`` (hi excluded), ``qlograndint lo hi q [base]`` (hi included).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any

from warprec.errors import ConfigError
from warprec.utils.checks import as_float, describe

__all__ = ["CATEGORICAL", "DISTRIBUTIONS", "SEARCHERS", "check_space", "count_trials",
           "distribution_bounds", "expand", "is_search_space", "to_tune"]

# Search-space keywords: name -> (minimum, maximum) number of numeric arguments.
DISTRIBUTIONS: dict[str, tuple[int, int]] = {
    "uniform": (2, 2),
    "quniform": (3, 3),
    "loguniform": (2, 3),
    "qloguniform": (3, 4),
    "randn": (2, 2),
    "normal": (2, 2),
    "qrandn": (3, 3),
    "randint": (2, 2),
    "qrandint": (3, 3),
    "lograndint": (2, 3),
    "qlograndint": (3, 4),
}
CATEGORICAL = ("choice", "grid")
# Strategies whose trials a Ray Tune searcher suggests (no grid: every list is a choice).
SEARCHERS = ("hopt", "optuna", "bohb")


def is_search_space(value: Any, *, list_valued: bool = False) -> bool:
    """Whether a config value means more than one trial (or a sampled one)."""
    kind, _ = _classify(value, list_valued, "grid")
    return kind != "fixed"


def expand(
    params: Mapping[str, Any],
    *,
    strategy: str = "grid",
    num_samples: int = 1,
    seed: int = 42,
    list_params: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The parameter sets of every trial, in a deterministic order for a given ``seed``.

    ``list_params`` names the hyperparameters whose value is itself a list (e.g.
    ``hidden_dims``): for those a list of scalars is one value and a list of lists a grid.
    The config module has already checked the shape of every distribution.
    """
    fixed: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    sampled: dict[str, Callable[[random.Random], Any]] = {}
    for name, value in params.items():
        kind, payload = _classify(value, name in list_params, strategy)
        if kind == "fixed":
            fixed[name] = payload
        elif kind == "grid":
            grid[name] = payload
        else:
            sampled[name] = payload
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    repeats = num_samples if sampled else 1
    rng = random.Random(seed)
    trials = []
    for _ in range(repeats):
        for point in points:
            drawn = {name: draw(rng) for name, draw in sampled.items()}
            merged = {**fixed, **point, **drawn}
            trials.append({name: merged[name] for name in params})
    return trials


def check_space(path: str, value: Any) -> None:
    """Check a search-space value: a scalar, a list of values, or [keyword, args...]."""
    if isinstance(value, Mapping):
        raise ConfigError(f"{path}: got a mapping; expected a value, a list of values (grid) "
                          "or [distribution, args...]")
    if not isinstance(value, list):
        return
    if not value:
        raise ConfigError(f"{path}: empty list; expected values to search, or "
                          "[distribution, args...]")
    head = value[0]
    if not isinstance(head, str) or head.lower() not in (*DISTRIBUTIONS, *CATEGORICAL):
        return
    args = value[1:]
    keyword = head.lower()
    if keyword in CATEGORICAL:
        if not args:
            raise ConfigError(f"{path}: [{keyword}] has no values; expected "
                              f"[{keyword}, value, ...]")
        return
    low, high = DISTRIBUTIONS[keyword]
    numbers = [as_float(a) for a in args]
    if not low <= len(args) <= high or any(n is None for n in numbers):
        shape = _distribution_shape(keyword)
        raise ConfigError(f"{path}: got {describe(value)}; expected [{shape}]")
    if keyword not in ("randn", "normal", "qrandn") and numbers[0] >= numbers[1]:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected the lower bound below the "
                          "upper bound")
    if keyword.startswith(("log", "qlog")) and numbers[0] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a lower bound > 0 for a "
                          "log distribution")
    if keyword in ("randn", "normal", "qrandn") and numbers[1] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a standard deviation > 0")
    if keyword.startswith("q") and numbers[2] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a quantum q > 0")


def _distribution_shape(keyword: str) -> str:
    return {
        "uniform": "uniform, low, high",
        "quniform": "quniform, low, high, q",
        "loguniform": "loguniform, low, high(, base)",
        "qloguniform": "qloguniform, low, high, q(, base)",
        "randn": "randn, mean, sd",
        "normal": "normal, mean, sd",
        "qrandn": "qrandn, mean, sd, q",
        "randint": "randint, low, high",
        "qrandint": "qrandint, low, high, q",
        "lograndint": "lograndint, low, high(, base)",
        "qlograndint": "qlograndint, low, high, q(, base)",
    }[keyword] + " (numbers)"


def count_trials(
    params: Mapping[str, Any],
    *,
    strategy: str = "grid",
    num_samples: int = 1,
    list_params: Collection[str] = (),
) -> int:
    """How many trials :func:`expand` would make, without making them."""
    kinds = [_classify(value, name in list_params, strategy) for name, value in params.items()]
    points = math.prod(len(payload) for kind, payload in kinds if kind == "grid")
    sampled = any(kind == "sampled" for kind, _ in kinds)
    return points * (num_samples if sampled else 1)


def distribution_bounds(value: Any) -> tuple[Any, Any] | None:
    """The lowest and highest value a ``[distribution, args...]`` can draw, or ``None``
    (not a bounded distribution)."""
    if not isinstance(value, list) or len(value) < 3 or not isinstance(value[0], str):
        return None
    keyword = value[0].lower()
    if keyword not in DISTRIBUTIONS or keyword in ("randn", "normal", "qrandn"):
        return None
    low, high = value[1], value[2]
    if keyword in ("randint", "lograndint"):
        return int(low), int(high) - 1  # the upper bound is excluded
    if "randint" in keyword:
        return int(low), int(high)
    return float(low), float(high)


def _classify(value: Any, list_valued: bool, strategy: str) -> tuple[str, Any]:
    if not isinstance(value, list) or not value:
        return "fixed", value
    head = value[0]
    keyword = head.lower() if isinstance(head, str) else None
    if keyword in CATEGORICAL:
        values = value[1:]
        if keyword == "grid" and strategy not in SEARCHERS:
            return "grid", values
        return "sampled", lambda rng: values[rng.randrange(len(values))]
    if keyword in DISTRIBUTIONS:
        return "sampled", _distribution(keyword, [float(a) for a in value[1:]])
    if list_valued and not any(isinstance(v, list) for v in value):
        return "fixed", value
    if strategy != "grid":
        return "sampled", lambda rng: value[rng.randrange(len(value))]
    return "grid", list(value)


def _distribution(keyword: str, args: list[float]) -> Callable[[random.Random], Any]:
    a, b = args[0], args[1]
    q = args[2] if keyword.startswith("q") else None

    def quantize(x: float) -> float:
        assert q is not None
        return round(round(x / q) * q, 12)

    def log_uniform(rng: random.Random) -> float:
        return math.exp(rng.uniform(math.log(a), math.log(b)))

    samplers: dict[str, Callable[[random.Random], Any]] = {
        "uniform": lambda rng: rng.uniform(a, b),
        "quniform": lambda rng: quantize(rng.uniform(a, b)),
        "loguniform": log_uniform,
        "qloguniform": lambda rng: quantize(log_uniform(rng)),
        "randn": lambda rng: rng.gauss(a, b),
        "normal": lambda rng: rng.gauss(a, b),
        "qrandn": lambda rng: quantize(rng.gauss(a, b)),
        "randint": lambda rng: rng.randrange(int(a), int(b)),
        "qrandint": lambda rng: int(quantize(rng.uniform(a, b))),
        "lograndint": lambda rng: min(math.floor(log_uniform(rng)), int(b) - 1),
        "qlograndint": lambda rng: int(quantize(log_uniform(rng))),
    }
    return samplers[keyword]


def to_tune(params: Mapping[str, Any], *, list_params: Collection[str] = ()) -> dict[str, Any]:
    """The Ray Tune search space of a searcher strategy: a list (``[choice, ...]``,
    ``[grid, ...]`` or plain) is ``tune.choice``, a distribution its Ray Tune namesake,
    anything else a constant. Needs Ray Tune (extra ``warprec-core[ray]``)."""
    from ray import tune

    def log_base(rest: list[float]) -> dict[str, float]:
        return {"base": rest[0]} if rest else {}

    builders: dict[str, Callable[[list[float]], Any]] = {
        "uniform": lambda a: tune.uniform(a[0], a[1]),
        "quniform": lambda a: tune.quniform(a[0], a[1], a[2]),
        "loguniform": lambda a: tune.loguniform(a[0], a[1], **log_base(a[2:])),
        "qloguniform": lambda a: tune.qloguniform(a[0], a[1], a[2], **log_base(a[3:])),
        "randn": lambda a: tune.randn(a[0], a[1]),
        "normal": lambda a: tune.randn(a[0], a[1]),
        "qrandn": lambda a: tune.qrandn(a[0], a[1], a[2]),
        "randint": lambda a: tune.randint(int(a[0]), int(a[1])),
        "qrandint": lambda a: tune.qrandint(int(a[0]), int(a[1]), int(a[2])),
        "lograndint": lambda a: tune.lograndint(int(a[0]), int(a[1]), **log_base(a[2:])),
        "qlograndint": lambda a: tune.qlograndint(int(a[0]), int(a[1]), int(a[2]),
                                                  **log_base(a[3:])),
    }
    space: dict[str, Any] = {}
    for name, value in params.items():
        kind, _ = _classify(value, name in list_params, SEARCHERS[0])
        if kind == "fixed":
            space[name] = value
            continue
        keyword = value[0].lower() if isinstance(value[0], str) else None
        if keyword in DISTRIBUTIONS:
            space[name] = builders[keyword]([float(a) for a in value[1:]])
        else:
            space[name] = tune.choice(value[1:] if keyword in CATEGORICAL else list(value))
    return space
