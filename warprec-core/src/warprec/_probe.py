"""The child side of plugin introspection: ``python -m warprec._probe DIST ENTRY_POINT``.

Run by :mod:`warprec._manifests` in a child process under a time and a memory limit, so
that a plugin which hangs, loops, exits, kills itself or exhausts memory at import can
only take this process down. It imports the plugin's hook module, runs its hooks through
pluggy, imports what they register and describes it (a model's hyperparameters with
:func:`warprec.recommenders.hyperparameters.describe_hyperparameters`, a command's short
help), streaming one JSON object per line as it goes: what the parent reads back is
known even when the plugin dies half-way.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from typing import IO, Any

try:
    import resource
except ImportError:  # Windows has none: the time limit alone applies there
    resource = None  # type: ignore[assignment]

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Probe the plugin ``argv[0]`` whose entry point is ``argv[1]``; ``argv[2]`` is the
    memory limit in MiB (0: none)."""
    dist, value, memory_mb = argv[0], argv[1], int(argv[2])
    if memory_mb > 0 and resource is not None:
        # The data segment (heap and private writable mappings), not the address space:
        # the libraries torch maps (CUDA's especially) would exhaust that without using it.
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    out = _protocol_stream()

    def emit(**event: Any) -> None:
        out.write(json.dumps(event, default=repr) + "\n")
        out.flush()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        warnings.simplefilter("always", FutureWarning)
        try:
            _probe(dist, value, emit)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: reported, never the exit status
            emit(failed=_failure(exc))
        emit(warnings=sorted({_warning_text(w) for w in caught
                              if issubclass(w.category, DeprecationWarning | FutureWarning)}))
    emit(done=True)
    return 0


def _protocol_stream() -> IO[str]:
    """The real stdout, for the protocol; the plugin's own prints go to stderr."""
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def _probe(dist: str, value: str, emit: Any) -> None:
    from warprec._hooks import call_hooks, new_manager
    from warprec._registry import reference_of
    from warprec.errors import PluginError
    from warprec.utils.checks import shorten

    emit(phase=f"importing its entry point {value!r}")
    start = time.perf_counter()
    try:
        plugin = _load(value)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise PluginError(f"cannot load entry point {value!r}: {_failure(exc)}") from None
    emit(loaded=round(time.perf_counter() - start, 4))
    pm = new_manager()
    try:
        pm.register(plugin, name=dist)
    except Exception as exc:  # pluggy's validation of hook signatures
        raise PluginError(shorten(str(exc))) from None
    registered: list[tuple[str, str, Any]] = []

    def on_register(kind: str, name: str, target: Any) -> None:
        registered.append((kind, name, target))
        emit(registered=kind, name=name, reference=reference_of(target))

    emit(phase="running its hooks")
    emit(hooks=call_hooks(pm, dist, on_register))
    for kind, name, target in registered:
        if kind in ("models", "commands"):
            emit(phase=f"importing {kind[:-1]} {name!r} ({reference_of(target)})")
            emit(described=kind, name=name, **_describe(kind, target))


def _load(value: str) -> Any:
    import importlib

    module_name, _, attribute = value.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in attribute.strip().split(".") if attribute.strip() else []:
        obj = getattr(obj, part)
    return obj


def _describe(kind: str, target: Any) -> dict[str, Any]:
    """A model's hyperparameters or a command's short help; ``error`` when the object
    cannot be imported or is not of its kind."""
    import inspect

    try:
        obj = _load(target) if isinstance(target, str) else target
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return {"error": f"cannot be imported: {_failure(exc)}"}
    if kind == "commands":
        help_text = obj.get_short_help_str(limit=70) if hasattr(obj, "get_short_help_str") \
            else ""
        return {"help": help_text}
    from warprec.recommenders.base_recommender import Recommender
    from warprec.recommenders.hyperparameters import describe_hyperparameters

    if not (inspect.isclass(obj) and issubclass(obj, Recommender)):
        return {"error": f"{obj!r} is not a Recommender subclass"}
    try:
        return {"params": describe_hyperparameters(obj), "doc": inspect.cleandoc(obj.__doc__ or "")}
    except Exception as exc:
        return {"error": f"its hyperparameters cannot be read: {_failure(exc)}"}


def _failure(exc: BaseException) -> str:
    from warprec.errors import WarpRecError
    from warprec.utils.checks import shorten

    if isinstance(exc, WarpRecError):
        return shorten(str(exc))
    return f"{type(exc).__name__}: {shorten(str(exc))}"


def _warning_text(caught: warnings.WarningMessage) -> str:
    return f"{caught.category.__name__}: {caught.message}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
