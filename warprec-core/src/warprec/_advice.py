"""What to say about a name no loaded plugin provides: which distribution does, from data.

Two sources, never code: the manifests of the installed plugins (what each registers)
and ``known_plugins.json``, shipped with the core and updated by each release
(docs/releasing.md), naming the models of plugins that may not be installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from packaging.utils import canonicalize_name

__all__ = ["install_hint", "kit_tested", "known_plugins", "providers"]

INDEX = "known_plugins.json"


@cache
def _index() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((files("warprec") / INDEX).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {dist: entry for dist, entry in data.items() if not dist.startswith("_")}


def known_plugins() -> dict[str, dict[str, list[str]]]:
    """The shipped index: distribution -> kind (``models``) -> names."""
    return {dist: {k: v for k, v in entry.items() if isinstance(v, list)}
            for dist, entry in _index().items()}


def kit_tested(dist: str) -> bool:
    """Whether each release of ``dist`` runs the conformance kit on every model."""
    return bool(_index().get(dist, {}).get("kit_tested"))


def providers(kind: str, name: str, provided: Mapping[str, Mapping[str, list[str]]],
              *, any_case: bool) -> list[str]:
    """Distributions that provide ``name`` of ``kind`` (the installed ones' ``provided``
    first, then the index); an exact match first, then, if ``any_case``, by case."""
    tables = {**known_plugins(), **provided}
    exact = [d for d, kinds in tables.items() if name in kinds.get(kind, [])]
    if exact or not any_case:
        return exact
    return [d for d, kinds in tables.items()
            if name.lower() in {n.lower() for n in kinds.get(kind, [])}]


def install_hint(kind: str, name: str, installed: Mapping[str, Any],
                 provided: Mapping[str, Mapping[str, list[str]]], *, any_case: bool) -> str:
    """One sentence saying which distribution provides ``name``, or ``""``.

    ``installed`` maps installed plugin names to their status; a disabled one is named as
    such, a broken one gets no hint (its failure is the message), and one not installed
    gets its ``pip install`` line.
    """
    statuses = {canonicalize_name(n): s for n, s in installed.items()}
    found = providers(kind, name, provided, any_case=any_case)
    if any(statuses.get(canonicalize_name(d)) in ("error", "incompatible") for d in found):
        return ""  # the name belongs to a plugin that failed: its failure is the message
    for dist in found:
        status = statuses.get(canonicalize_name(dist))
        if status == "disabled":
            return (f"It is provided by the plugin {dist}, which is installed but disabled "
                    "(WARPREC_DISABLE_PLUGINS).")
        if status is None:
            return f"It is provided by {dist}: pip install {dist}."
    return ""
