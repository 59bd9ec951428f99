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


# What plugin authors and the user guide import: a rename must not slip through.
PLUGIN_AUTHOR_API = {
    "warprec.recommenders.base_recommender": [
        "CHECKPOINT_FORMAT", "ItemSimRecommender", "IterativeRecommender", "Recommender",
        "hyperparameters", "needs_interactions", "set_seed"],
    "warprec.data.dataset": ["BatchLoader", "Dataset", "Interactions", "Sessions"],
    "warprec.recommenders.losses": [
        "BCELoss", "BPRLoss", "CrossEntropyLoss", "EmbLoss", "KLDivergenceLoss",
        "MultinomialLoss"],
    "warprec.utils.checks": [
        "as_float", "check_integer", "check_ratio", "describe", "shorten"],
    "warprec.testing": [
        "CHECKS", "ConformanceError", "ConformanceReport", "ModelChecker", "ModelConformance",
        "check_model", "toy_dataset", "toy_frame", "toy_splits"],
    "warprec.config": [
        "Config", "ExperimentConfig", "YamlLoader", "count_trials", "expand",
        "is_search_space", "json_schema", "load_config", "model_params", "parse_metric_name"],
    "warprec.experiment": ["ExperimentResults", "check_config", "run_experiment"],
}


def test_plugin_author_namespaces_are_pinned() -> None:
    import importlib

    for module_name, names in PLUGIN_AUTHOR_API.items():
        module = importlib.import_module(module_name)
        assert sorted(module.__all__) == sorted(names), module_name
        for name in names:
            assert hasattr(module, name), f"{module_name}.{name}"


def test_the_guides_import_paths_resolve() -> None:
    # The user guide's imports, as it writes them.
    from warprec.data.dataset import Interactions  # noqa: F401
    from warprec.recommenders.base_recommender import (  # noqa: F401
        ItemSimRecommender,
        IterativeRecommender,
    )
    from warprec.recommenders.losses import BPRLoss  # noqa: F401
    from warprec.utils.registry import model_registry

    assert callable(model_registry.register)
