"""WarpRec: recommender systems with a plugin ecosystem.

Importing ``warprec`` is light (no torch): the experiment API is loaded on first use.
"""

from __future__ import annotations

from typing import Any

from warprec.hookspecs import hookimpl

__version__ = "0.3.0"

__all__ = ["__version__", "hookimpl", "run_experiment"]


def __getattr__(name: str) -> Any:
    if name == "run_experiment":
        from warprec.experiment import run_experiment

        return run_experiment
    raise AttributeError(f"module 'warprec' has no attribute {name!r}")
