"""The exported names are exactly the intended public API."""

import warprec
from warprec import hookspecs, plugins
from warprec.utils import registry


def test_top_level_namespace() -> None:
    assert warprec.__all__ == ["__version__", "hookimpl", "run_experiment"]


def test_plugin_system_namespaces() -> None:
    assert hookspecs.__all__ == ["hookimpl", "hookspec"]
    assert plugins.__all__ == [
        "CORE_NAME",
        "ENTRY_POINT_GROUP",
        "PluginHost",
        "PluginInfo",
        "core_version",
        "failure_note",
        "host",
        "list_plugins",
        "reset",
        "set_strict",
        "sync",
    ]
    assert sorted(registry.__all__) == sorted(
        [
            "OFFICIAL_PLUGINS",
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
    )
