"""Named registries of models, metrics, losses, splitters, filters, datasets and commands.

Each registry is fed from three sources: the core's built-ins and installed plugins
(through the ``warprec_register_*`` hooks, as lazy ``"package.module:Object"``
references) and the ``@model_registry.register(name=...)`` decorator (custom modules,
notebooks). Lookup is case-insensitive; a name two sources register is ambiguous until
qualified as ``"<source>:<Name>"``. The registries belong to the default plugin host
(:data:`warprec.plugins.host`), which discovers plugins on the first lookup.
"""

from __future__ import annotations

from warprec._registry import Entry, Registry, Source
from warprec.plugins import host

__all__ = [
    "Entry",
    "Registry",
    "Source",
    "command_registry",
    "dataset_registry",
    "filter_registry",
    "loss_registry",
    "metric_registry",
    "model_registry",
    "registries",
    "splitter_registry",
]

registries: dict[str, Registry] = host.registries
model_registry = registries["models"]
metric_registry = registries["metrics"]
loss_registry = registries["losses"]
splitter_registry = registries["splitters"]
filter_registry = registries["filters"]
dataset_registry = registries["datasets"]
command_registry = registries["commands"]
