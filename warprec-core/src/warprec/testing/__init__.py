"""Conformance kit for model authors (see docs/writing-plugins.md).

- :func:`check_model` ``(ModelClass, params)``: run every contract check, raise
  :class:`ConformanceError` listing what is broken.
- :class:`ModelConformance`: a pytest base class, one test per check; subclass it with
  ``model_class`` and ``params`` (a dict, or a list of dicts to run several).
- :func:`toy_dataset` / :func:`toy_frame`: tiny, learnable data (``toy_dataset(context=True)``
  adds context columns; the kit uses it for a model with ``uses_context``).
- :mod:`warprec.testing.smoke`: the part of the kit a run applies, on a sample of its
  data, before it trains a model that is not official.
- The pytest plugin :mod:`warprec.testing.pytest_plugin` (loaded automatically where
  warprec-core is installed) provides the ``warprec_*`` fixtures.

Importing this package is light: torch is imported when one of these is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "CHECKS",
    "ConformanceError",
    "ConformanceReport",
    "ModelChecker",
    "ModelConformance",
    "check_model",
    "toy_dataset",
    "toy_frame",
    "toy_splits",
]

_HOMES = {
    "CHECKS": "conformance",
    "ConformanceError": "conformance",
    "ConformanceReport": "conformance",
    "ModelChecker": "conformance",
    "check_model": "conformance",
    "ModelConformance": "suite",
    "toy_dataset": "data",
    "toy_frame": "data",
    "toy_splits": "data",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"warprec.testing.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'warprec.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
