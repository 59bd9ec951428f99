"""Small value checks and message helpers shared by the config, the data layer and the
evaluator: a checked value's error is one :class:`ConfigError` line naming the
parameter, the value and what was expected; :func:`describe` and :func:`shorten` keep
values in messages short. Light: imports neither numpy nor torch.

Model hyperparameters are not checked here: their annotations declare their domains
and ``Recommender.check_relations`` the rules between them
(:mod:`warprec.recommenders.hyperparameters`)."""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import Any

from warprec.errors import ConfigError

__all__ = [
    "as_float",
    "check_integer",
    "check_ratio",
    "describe",
    "shorten",
]


_SHORT = reprlib.Repr()  # keyword arguments arrive only in Python 3.12
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 50, 50, 60


def describe(value: Any) -> str:
    """A value for an error message: a bounded repr (at most 60 characters, computed
    without expanding large or nested values) and its type, e.g. ``'abc' (str)``."""
    return f"{shorten(_SHORT.repr(value), 60)} ({type(value).__name__})"


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters with ``...``."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_float(value: Any) -> float | None:
    """``value`` as a float when it is a number or a numeric string (YAML 1.1 reads
    ``1e-3`` as a string), else ``None``; booleans are no numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def check_integer(value: Any, minimum: int, what: str) -> int:
    """``value`` as an int; :class:`ConfigError` ``"<what> must be ..., got ..."`` when it
    is no whole number or is below ``minimum`` (``7.0`` passes, ``"7"`` and ``True`` do not)."""
    whole = isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < minimum:
        expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        raise ConfigError(f"{what} must be {expected}, got {value!r}")
    return int(value)


def check_ratio(value: Any, what: str) -> float:
    """``value`` (a number or numeric string) as a float in [0, 1); :class:`ConfigError`
    naming ``what`` otherwise."""
    ratio = as_float(value)
    if ratio is None or math.isnan(ratio) or not 0 <= ratio < 1:
        raise ConfigError(f"{what} must be in [0, 1), got {value!r}")
    return ratio
