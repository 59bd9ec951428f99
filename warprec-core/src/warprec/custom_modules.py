"""Importing ``general.custom_modules``: the user's own code, run because the config names it.

Custom modules (and plugins) are code the user chose to run; nothing here sandboxes them.
What is guarded is the CLI: any failure while importing one, ``SystemExit`` included,
becomes a one-line :class:`ConfigError` naming the entry.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from warprec.errors import ConfigError
from warprec.utils.checks import shorten

__all__ = ["import_custom_modules"]


def import_custom_modules(entries: list[str], base_dir: Path) -> list[str]:
    """Import ``general.custom_modules``: ``.py`` scripts, package folders or module names.

    Relative paths are resolved against ``base_dir`` (the config file's folder); absolute
    paths are used as they are. A bare name is imported from ``base_dir`` when a folder
    or script of that name is there, else from the installed modules. Returns the module
    names imported. Errors (missing file, failing import) are ConfigErrors naming the entry.
    """
    names = []
    for i, entry in enumerate(entries):
        path = f"general.custom_modules[{i}]"
        try:
            names.append(_import_one(entry, base_dir, path))
        except ConfigError:
            raise
        except (Exception, SystemExit) as exc:  # a module calling sys.exit is a bad module
            raise ConfigError(f"{path}: importing {entry!r} failed: {type(exc).__name__}: "
                              f"{shorten(str(exc))}") from exc
    return names


def _import_one(entry: str, base_dir: Path, path: str) -> str:
    target = Path(entry).expanduser()
    target = target if target.is_absolute() else base_dir / target
    if entry.endswith(".py"):
        if not target.is_file():
            raise ConfigError(f"{path}: script {entry!r} not found (looked for {target})")
        return _import_script(target.resolve())
    if target.is_dir():
        return _import_from(target.resolve().parent, target.name)
    if target.with_suffix(".py").is_file():
        return _import_script(target.with_suffix(".py").resolve())
    if "/" in entry or "\\" in entry:
        raise ConfigError(f"{path}: folder {entry!r} not found (looked for {target})")
    if importlib.util.find_spec(entry.split(".")[0]) is None:
        raise ConfigError(f"{path}: {entry!r} is neither a .py script, a folder in {base_dir}, "
                          "nor an installed module")
    importlib.import_module(entry)
    return entry


def _import_script(file: Path) -> str:
    # A stable name per file, so that importing the same config twice reuses the module.
    name = file.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if getattr(loaded, "__file__", None) == str(file):
            return name
        name = f"{file.stem}_{abs(hash(str(file))) % 10**8}"
        if name in sys.modules:
            return name
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return name


def _import_from(folder: Path, name: str) -> str:
    loaded = sys.modules.get(name)
    if loaded is not None:
        location = Path(getattr(loaded, "__file__", "") or "").resolve()
        if folder / name in location.parents or location.parent == folder / name:
            return name
        raise ConfigError(f"general.custom_modules: a different module named {name!r} is "
                          f"already imported (from {location}); rename the folder")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.import_module(name)
    return name
