"""Exceptions shared by every part of WarpRec.

Every error a user can fix (a config key, a data file, a plugin) is a
:class:`WarpRecError`; the CLI prints it as one ``Error: ...`` line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "ModelError",
    "OutputError",
    "PluginError",
    "RegistryError",
    "WarpRecError",
]


class WarpRecError(Exception):
    """Base class of the errors caused by user input, printed without a traceback."""


class RegistryError(WarpRecError, LookupError):
    """An unknown, ambiguous or unloadable registry name."""


class PluginError(WarpRecError):
    """A plugin failed to load or to run one of its hooks (raised in strict mode)."""


class ConfigError(WarpRecError, ValueError):
    """An invalid experiment configuration."""


class DataError(WarpRecError, ValueError):
    """An unreadable or invalid data file or table."""


class OutputError(WarpRecError):
    """A file of the run cannot be written (a full disk, a lost permission)."""


class ModelError(WarpRecError):
    """A model broke its contract at run time (the shape, type or NaN of ``predict``'s
    scores) or produced results that cannot be trusted (a NaN metric)."""
