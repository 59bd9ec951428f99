"""Hyperparameter range checks shared by the models (types are checked by the base)."""

from __future__ import annotations

from typing import Any

from warprec.errors import ConfigError


def require_positive(model: Any, *names: str) -> None:
    """Raise a ConfigError naming the first hyperparameter that is not > 0."""
    for name in names:
        value = getattr(model, name)
        if not value > 0:
            raise ConfigError(f"{model.name}: hyperparameter {name!r} must be > 0, got {value!r}")


def require_range(model: Any, name: str, low: float, high: float) -> None:
    """Raise a ConfigError unless ``low <= model.<name> <= high``."""
    value = getattr(model, name)
    if not low <= value <= high:
        raise ConfigError(
            f"{model.name}: hyperparameter {name!r} must lie in [{low}, {high}], got {value!r}"
        )


def require_non_negative(model: Any, *names: str) -> None:
    """Raise a ConfigError naming the first hyperparameter that is negative."""
    for name in names:
        value = getattr(model, name)
        if value < 0:
            raise ConfigError(f"{model.name}: hyperparameter {name!r} must be >= 0, got {value!r}")
