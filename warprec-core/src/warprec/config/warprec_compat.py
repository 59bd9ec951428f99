"""WarpRec's keys this project does not share, as one layer in front of validation.

A WarpRec key that cannot change results (``reading_method: local``, ``ray_verbose``...)
is dropped with a warning naming it; one that would change results is an error saying it
is an unsupported WarpRec key. Known spellings of WarpRec's are translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from warprec.errors import ConfigError
from warprec.utils.checks import describe

__all__ = ["apply_compat"]

# WarpRec keys that cannot change results: accepted with a warning. A value other than
# the one given here (when one is given) would change results, so it is an error.
_IGNORED: dict[str, dict[str, Any]] = {
    "": {"dashboard": None, "serving": None, "estimate": None},
    "reader": {"data_type": "transaction", "reading_method": "local"},
    "reader.dtypes": {"user_id_type": None, "item_id_type": None, "rating_type": None,
                      "timestamp_type": None, "cluster_type": None},
    "reader.split": {"azure_blob_prefix": None},
    "writer": {"writing_method": "local", "setup_experiment": None, "results": None},
    "writer.split": {"file_format": "tabular"},
    "splitter": {"save_on_disk": False, "save_folder": None},
    "evaluation": {"max_metric_per_row": None, "save_evaluation": None,
                   "full_evaluation_on_report": None},
    "general": {"ray_verbose": None, "time_report": None, "cpu_data_prep": None,
                "custom_resources_data_prep": None, "label_selector_data_prep": None,
                "precision": "float32", "batch_size": None},
    "models.*.optimization": {
        "custom_resources_per_trial": None, "max_concurrent_trials": None,
        "label_selector": None, "num_workers": None, "block_size": None,
        "checkpoint_to_keep": None},
    "models.*.optimization.properties": {"desired_training_it": None},
    "models.*.meta": {"keep_all_ray_checkpoints": None, "implementation": None},
}

# WarpRec keys that would change results and that this project does not support.
_UNSUPPORTED: dict[str, set[str]] = {
    "": {"training", "rerank", "remote"},
    "reader": {"knowledge", "azure_blob_name"},
    "reader.side": {"azure_blob_name"},
    "reader.clustering": {"user_azure_blob_name", "item_azure_blob_name"},
    "reader.dtypes": {"context_separators"},
    "writer": {"azure_blob_experiment_container"},
    "evaluation": {"candidates", "mask_seen", "neg_alpha", "beta"},
    "general": {"callback", "azure"},
}

# Values of shared keys that WarpRec supports and this version does not.
_UNSUPPORTED_VALUES: dict[str, tuple[str, ...]] = {
    "models.*.optimization.scheduler": ("pbt",),
}

# WarpRec's older flat splitter layout, named in the error so users can move it.
_OLD_SPLITTER_KEYS = {"strategy", "test_ratio", "val_ratio", "test_k", "val_k", "timestamp"}


def apply_compat(raw: dict[str, Any]) -> list[str]:
    """Drop or refuse WarpRec-only keys of ``raw`` in place; return the warnings."""
    warnings: list[str] = []
    _translate(raw, warnings)
    for pattern, path, section in _sections(raw):
        for key in list(section):
            full = f"{path}.{key}" if path else str(key)
            if key in _UNSUPPORTED.get(pattern, ()):
                raise ConfigError(f"{full}: this WarpRec key is not supported by this version "
                                  "(it would change results); remove it")
            ignored = _IGNORED.get(pattern, {})
            if key in ignored:
                required = ignored[key]
                if required is not None and section[key] != required:
                    raise ConfigError(f"{full}: got {describe(section[key])}; only "
                                      f"{required!r} is supported")
                warnings.append(f"{full}: WarpRec key not used by this version, ignored")
                del section[key]
            value_pattern = f"{pattern}.{key}" if pattern else str(key)
            refused = _UNSUPPORTED_VALUES.get(value_pattern, ())
            value = section.get(key)
            if isinstance(value, str) and value.lower() in refused:
                raise ConfigError(f"{full}: {value!r} is not supported by this version "
                                  "(a WarpRec value that would change results)")
    return warnings


def _translate(raw: dict[str, Any], warnings: list[str]) -> None:
    general = raw.get("general")
    if isinstance(general, dict):
        if general.get("backend") in ("polars", "pandas"):
            # WarpRec's general.backend picks its dataframe library: results do not depend on it.
            warnings.append(f"general.backend: WarpRec's data backend {general['backend']!r} "
                            "is not used by this version (pandas is), ignored")
            del general["backend"]
        if "custom_models" in general:
            if "custom_modules" in general:
                raise ConfigError("general.custom_models: given with general.custom_modules; "
                                  "expected one of them (custom_models is WarpRec's alias)")
            warnings.append("general.custom_models: read as general.custom_modules (WarpRec's "
                            "documented alias)")
            general["custom_modules"] = general.pop("custom_models")
    splitter = raw.get("splitter")
    if isinstance(splitter, dict):
        old = sorted(_OLD_SPLITTER_KEYS & set(splitter))
        if old:
            raise ConfigError(f"splitter.{old[0]}: WarpRec's old flat splitter layout is not "
                              "supported; expected splitter.test_splitting and "
                              "splitter.validation_splitting, each {strategy, ratio, k, "
                              "folds, timestamp, seed}")


def _sections(raw: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(pattern, path, mapping)`` of every section the tables speak of."""
    yield "", "", raw
    for pattern in sorted({*_IGNORED, *_UNSUPPORTED} - {""}):
        if pattern.startswith("models.*"):
            continue
        node = _at(raw, pattern.split("."))
        if node is not None:
            yield pattern, pattern, node
    models = raw.get("models")
    if isinstance(models, dict):
        for name, block in models.items():
            if not isinstance(block, dict):
                continue
            for rest in ("optimization", "optimization.properties", "meta"):
                node = _at(block, rest.split("."))
                if node is not None:
                    yield f"models.*.{rest}", f"models.{name}.{rest}", node


def _at(node: Any, parts: list[str]) -> dict[str, Any] | None:
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node if isinstance(node, dict) else None
