"""The experiment configuration: schema, validation, defaults and JSON Schema export.

The YAML layout follows WarpRec's for the part the two share, so a WarpRec config for
that part runs unchanged. A WarpRec key this project does not support is never silently
dropped: when it would change results it is an error; when it cannot (``reading_method:
local``, ``general.ray_verbose``...) a warning names it and the run goes on.

Every error names the key path, the bad value and what was expected, in one line.
This module imports neither torch nor numpy (``warprec config check`` stays light
until custom modules are imported).
"""

from __future__ import annotations

import copy
import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warprec.errors import ConfigError, RegistryError
from warprec.utils.checks import as_float, describe

__all__ = [
    "DISTRIBUTIONS",
    "FILTER_ALIASES",
    "SECTIONS",
    "SPLIT_STRATEGIES",
    "Config",
    "Key",
    "YamlLoader",
    "import_custom_modules",
    "json_schema",
    "load_config",
    "model_params",
    "parse_metric_name",
]

_MISSING = object()


@dataclass(frozen=True)
class Key:
    """One configuration key: its kind, default, allowed values and documentation.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``choice``, ``section``
    (nested ``fields``), ``ints`` (an int or a list of ints), ``strs`` (a string or a list
    of strings), ``int_or_best`` (an int or ``"best"``), ``mapping`` (free key/values).
    """

    kind: str
    default: Any = None
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    fields: Mapping[str, Key] | None = None
    nullable: bool = True


# Names of the splitting strategies, WarpRec's snake_case and the registry's names.
SPLIT_STRATEGIES: dict[str, str] = {
    "random_holdout": "RandomHoldout",
    "random_holdout_per_user": "RandomHoldoutPerUser",
    "temporal_holdout": "TemporalHoldout",
    "random_leave_k_out": "RandomLeaveKOut",
    "temporal_leave_k_out": "TemporalLeaveKOut",
    "timestamp_slicing": "TimestampSlicing",
    "k_fold_cross_validation": "KFold",
}

# WarpRec's filter names and parameter names -> the registry's.
FILTER_ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "UserMin": ("UserMinInteractions", {"min_interactions": "min_interactions"}),
    "ItemMin": ("ItemMinInteractions", {"min_interactions": "min_interactions"}),
    "IterativeKCore": ("KCore", {"min_interactions": "k"}),
    "DropUser": ("DropIds", {"user_ids_to_filter": "users"}),
    "DropItem": ("DropIds", {"item_ids_to_filter": "items"}),
}

# Search-space keywords: name -> (minimum, maximum) number of numeric arguments.
DISTRIBUTIONS: dict[str, tuple[int, int]] = {
    "uniform": (2, 2),
    "quniform": (3, 3),
    "loguniform": (2, 3),
    "qloguniform": (3, 4),
    "randn": (2, 2),
    "normal": (2, 2),
    "qrandn": (3, 3),
    "randint": (2, 2),
    "qrandint": (3, 3),
    "lograndint": (2, 3),
    "qlograndint": (3, 4),
}
CATEGORICAL = ("choice", "grid")

_SEP = Key("str", "\t", "Column separator.")
_READ_SEP = Key("str", None, "Column separator (default: from the extension, ',' for .csv, "
                "else tab).")
_SPLIT_ONE = {
    "strategy": Key("str", None, "random_holdout, random_holdout_per_user, temporal_holdout, "
                    "random_leave_k_out, "
                    "temporal_leave_k_out, timestamp_slicing, k_fold_cross_validation, "
                    "or a registered splitter name."),
    "ratio": Key("float", None, "Share held out (holdout): of all the interactions for "
                 "random_holdout, of each user's for the per-user and temporal ones.",
                 exclusive_minimum=0.0, maximum=1.0),
    "k": Key("int", None, "Interactions held out per user (leave-k-out).", minimum=1),
    "folds": Key("int", None, "Number of folds (k-fold cross validation).", minimum=2),
    "timestamp": Key("int_or_best", None, "Cut timestamp (timestamp slicing), or 'best'."),
    "seed": Key("int", None, "Seed of random strategies (default: general.seed).", minimum=0),
}

SECTIONS: dict[str, Key] = {
    "versions": Key("mapping", None, "Written by warprec run into the resolved config: the "
                    "versions of the core and plugins used (informational)."),
    "reader": Key("section", doc="Where and how the interactions are read.", fields={
        "loading_strategy": Key("choice", "dataset", "'dataset': one file split by the "
                                "splitter; 'split': pre-split files.",
                                choices=("dataset", "split"), nullable=False),
        "local_path": Key("str", None, "Path of the interaction file (loading_strategy: "
                          "dataset)."),
        "dataset": Key("str", None, "A bundled dataset by name (e.g. 'synthetic') instead of "
                       "local_path."),
        "dataset_params": Key("mapping", None, "Options of the bundled dataset (e.g. "
                              "n_users, n_items)."),
        "file_format": Key("choice", "tabular", "File format.", choices=("tabular", "parquet"),
                           nullable=False),
        "sep": _READ_SEP,
        "header": Key("bool", True, "Whether the first row holds the column names.",
                      nullable=False),
        "rating_type": Key("choice", "implicit", "'implicit' (every interaction counts 1) or "
                           "'explicit' (the rating column is the value).",
                           choices=("implicit", "explicit"), nullable=False),
        "duplicates": Key("choice", "max", "How repeated (user, item) rows are aggregated.",
                          choices=("max", "mean", "first", "last", "sum"), nullable=False),
        "labels": Key("section", doc="Column names in the file.", fields={
            "user_id_label": Key("str", "user_id", "User id column.", nullable=False),
            "item_id_label": Key("str", "item_id", "Item id column.", nullable=False),
            "rating_label": Key("str", "rating", "Rating column.", nullable=False),
            "timestamp_label": Key("str", "timestamp", "Timestamp column.", nullable=False),
        }),
        "split": Key("section", doc="Pre-split data (loading_strategy: split).", fields={
            "local_path": Key("str", None, "Folder holding train, optional validation, and "
                              "test files."),
            "ext": Key("str", ".tsv", "Extension of the split files.", nullable=False),
            "sep": _READ_SEP,
            "header": Key("bool", True, "Whether the files have a header row.",
                          nullable=False),
            "file_format": Key("choice", "tabular", "File format.",
                               choices=("tabular", "parquet"), nullable=False),
        }),
    }),
    "filtering": Key("mapping", None, "Filters applied in order: {FilterName: {params}}."),
    "splitter": Key("section", doc="How train/validation/test are carved (ignored for "
                    "pre-split data).", fields={
        "test_splitting": Key("section", doc="The test split.", fields=_SPLIT_ONE),
        "validation_splitting": Key("section", doc="The validation split, carved from the "
                                    "training part (optional).", fields=_SPLIT_ONE),
    }),
    "models": Key("mapping", None, "Models to train: {ModelName: {hyperparameter: value | "
                  "[grid values] | [distribution, args...], optimization, early_stopping, "
                  "meta}}.", nullable=False),
    "evaluation": Key("section", doc="Metrics and protocol.", fields={
        "top_k": Key("ints", [10, 20], "Cutoffs (an int or a list).", minimum=1,
                     nullable=False),
        "metrics": Key("strs", ["nDCG", "Precision", "Recall", "HitRate"],
                       "Metric names (registry).", nullable=False),
        "validation_metric": Key("str", None, "Metric@k that picks the best trial (default "
                                 "nDCG@<first top_k>, or the first metric)."),
        "strategy": Key("choice", "full", "'full' ranking over all items, or 'sampled' "
                        "(each positive against num_negatives sampled items).",
                        choices=("full", "sampled"), nullable=False),
        "num_negatives": Key("int", 99, "Negatives per positive (strategy: sampled).",
                             minimum=1, nullable=False),
        "negative_sampling": Key("choice", "uniform", "How sampled negatives are drawn.",
                                 choices=("uniform", "popularity"), nullable=False),
        "pop_ratio": Key("float", 0.8, "Share of interactions covered by the popular short "
                         "head (APLT).", exclusive_minimum=0.0, maximum=1.0, nullable=False),
        "seed": Key("int", None, "Seed of sampled evaluation (default: general.seed).",
                    minimum=0),
        "batch_size": Key("int", None, "Users per evaluation batch (default: as many as fit "
                          "a 2**25-entry score matrix).", minimum=1),
        "stat_significance": Key("section", doc="Paired tests between models on test, "
                                 "per user.", fields={
            "paired_t_test": Key("bool", False, "Paired t-test.", nullable=False),
            "wilcoxon_test": Key("bool", False, "Wilcoxon signed-rank test.", nullable=False),
            "kruskal_test": Key("bool", False, "Kruskal-Wallis H-test.", nullable=False),
            "whitney_u_test": Key("bool", False, "Mann-Whitney U test.", nullable=False),
            "corrections": Key("section", doc="Multiple-testing corrections.", fields={
                "bonferroni": Key("bool", False, "Bonferroni.", nullable=False),
                "holm_bonferroni": Key("bool", False, "Holm-Bonferroni.", nullable=False),
                "fdr": Key("bool", False, "Benjamini-Hochberg FDR.", nullable=False),
                "alpha": Key("float", 0.05, "Significance level.", exclusive_minimum=0.0,
                             maximum=1.0, nullable=False),
            }),
        }),
    }),
    "writer": Key("section", doc="What is written and where.", fields={
        "dataset_name": Key("str", None, "Folder name of the runs (default: the bundled "
                            "dataset's name or the data file's stem)."),
        "local_experiment_path": Key("str", "runs", "Folder holding <dataset_name>/<run id>/.",
                                     nullable=False),
        "save_split": Key("bool", False, "Write split/train, validation, test.",
                          nullable=False),
        "split": Key("section", doc="Format of the saved split files.", fields={
            "sep": _SEP,
            "ext": Key("str", ".tsv", "Extension.", nullable=False),
            "header": Key("bool", True, "Header row.", nullable=False),
        }),
        "recommendation": Key("section", doc="Format of recommendations/<model> files "
                              "(meta.save_recs).", fields={
            "k": Key("int", 50, "Items per user.", minimum=1, nullable=False),
            "sep": _SEP,
            "ext": Key("str", ".tsv", "Extension.", nullable=False),
            "header": Key("bool", True, "Header row.", nullable=False),
            "user_label": Key("str", "user_id", "User column.", nullable=False),
            "item_label": Key("str", "item_id", "Item column.", nullable=False),
            "rating_label": Key("str", "rating", "Score column (WarpRec's name).",
                                nullable=False),
            "rank": Key("bool", False, "Add a rank column (1 = best) after the score.",
                        nullable=False),
        }),
    }),
    "general": Key("section", doc="Run-wide settings.", fields={
        "device": Key("str", "cpu", "cpu, cuda, cuda:N or auto.", nullable=False),
        "seed": Key("int", 42, "Seed of splits, samplers, models and random search.",
                    minimum=0, nullable=False),
        "custom_modules": Key("strs", [], ".py scripts, folders or module names imported "
                              "first (relative paths: against the config file's folder).",
                              nullable=False),
        "refit": Key("bool", False, "Retrain the best trial on train+validation before "
                     "the test evaluation.", nullable=False),
        "backend": Key("choice", "local", "Where search trials run: 'local' (one after "
                       "another in this process) or 'ray' (in parallel on Ray Tune; needs "
                       "warprec-core[ray]).", choices=("local", "ray"), nullable=False),
        "ray_address": Key("str", None, "Address of an existing Ray cluster (backend: ray; "
                           "default: a local Ray)."),
    }),
}

_MODEL_KEYS: dict[str, Key] = {
    "optimization": Key("section", doc="Hyperparameter search.", fields={
        "strategy": Key("choice", "grid", "'grid' (lists enumerated) or 'random' (lists "
                        "sampled as choices).", choices=("grid", "random"), nullable=False),
        "num_samples": Key("int", 1, "Random trials, or repetitions of the grid when it "
                           "holds distributions.", minimum=1, nullable=False),
        "device": Key("str", None, "Device of this model (default: general.device)."),
        "validation_metric": Key("str", None, "Metric@k of this model's search (default: "
                                 "evaluation.validation_metric)."),
        "refit": Key("bool", None, "Override general.refit for this model."),
        "optimizer": Key("section", doc="Optimizer of iterative models.", fields={
            "name": Key("str", "Adam", "Adam, AdamW, SGD, Adagrad, RMSprop or SparseAdam.",
                        nullable=False),
            "params": Key("mapping", None, "Extra constructor arguments (e.g. momentum)."),
        }),
        "lr_scheduler": Key("section", doc="Learning-rate scheduler of iterative models.",
                            fields={
            "name": Key("str", None, "A torch.optim.lr_scheduler class (e.g. StepLR)."),
            "params": Key("mapping", None, "Its constructor arguments."),
        }),
        "scheduler": Key("choice", "fifo", "Only 'fifo' (every trial runs to the end).",
                         choices=("fifo",), nullable=False),
        "properties": Key("section", doc="Search properties.", fields={
            "mode": Key("choice", "max", "Maximise or minimise the validation metric.",
                        choices=("max", "min"), nullable=False),
            "seed": Key("int", None, "Seed of this model (default: general.seed).",
                        minimum=0),
        }),
    }),
    "early_stopping": Key("section", doc="Stop an iterative model's training on a "
                          "plateau.", fields={
        "monitor": Key("str", "score", "'score' (the validation metric), 'loss', or a "
                       "Metric@k.", nullable=False),
        "patience": Key("int", None, "Evaluations without improvement before stopping.",
                        minimum=1),
        "min_delta": Key("float", 0.0, "Smallest change counted as an improvement.",
                         minimum=0.0, nullable=False),
        "grace_period": Key("int", 0, "Only 0 (stopping may trigger from the first "
                            "evaluation).", minimum=0, maximum=0, nullable=False),
    }),
    "meta": Key("section", doc="Outputs of this model.", fields={
        "save_model": Key("bool", False, "Write checkpoints/<model>.pt.", nullable=False),
        "save_recs": Key("bool", False, "Write recommendations/<model>.tsv.",
                         nullable=False),
        "load_from": Key("str", None, "Checkpoint to load instead of training."),
    }),
}

# WarpRec keys that cannot change results: accepted with a warning. A value other than
# the one given here (when one is given) would change results, so it is an error.
_IGNORED: dict[str, dict[str, Any]] = {
    "": {"dashboard": None, "serving": None, "estimate": None},
    "reader": {"data_type": "transaction", "reading_method": "local", "dtypes": None},
    "reader.split": {"azure_blob_prefix": None},
    "writer": {"writing_method": "local", "setup_experiment": None, "results": None},
    "writer.split": {"file_format": "tabular"},
    "splitter": {"save_on_disk": False, "save_folder": None},
    "evaluation": {"max_metric_per_row": None, "save_evaluation": None,
                   "save_per_user": None, "full_evaluation_on_report": None},
    "general": {"ray_verbose": None, "time_report": None, "cpu_data_prep": None,
                "custom_resources_data_prep": None, "label_selector_data_prep": None,
                "precision": "float32", "batch_size": None},
    "models.*.optimization": {
        "cpu_per_trial": None, "gpu_per_trial": None, "custom_resources_per_trial": None,
        "max_concurrent_trials": None, "label_selector": None, "num_workers": None,
        "block_size": None, "checkpoint_to_keep": None},
    "models.*.optimization.properties": {"time_attr": None, "max_t": None,
                                         "grace_period": None, "reduction_factor": None,
                                         "min_samples_required": None,
                                         "min_time_slice": None, "hard_stop": None,
                                         "n_startup_trials": None,
                                         "desired_training_it": None},
    "models.*.meta": {"keep_all_ray_checkpoints": None, "implementation": None},
}

# WarpRec keys that would change results and that this project does not support.
_UNSUPPORTED: dict[str, set[str]] = {
    "": {"training", "rerank", "remote"},
    "reader": {"side", "clustering", "knowledge", "azure_blob_name"},
    "writer": {"azure_blob_experiment_container"},
    "evaluation": {"complex_metrics", "propensity", "candidates", "mask_seen", "neg_alpha",
                   "beta"},
    "general": {"callback", "azure"},
}

# WarpRec's older flat splitter layout, named in the error so users can move it.
_OLD_SPLITTER_KEYS = {"strategy", "test_ratio", "val_ratio", "test_k", "val_k", "timestamp"}
_RESULT_CHANGING_VALUES = {
    "optimization.strategy": ("hopt", "optuna", "bohb"),
    "optimization.scheduler": ("asha", "bohb", "median"),
}


@dataclass
class Config:
    """A validated configuration with every default filled in.

    ``data`` is the resolved config (what ``config.yaml`` of a run holds), ``base_dir``
    the folder relative custom-module paths are resolved against (the config file's
    folder, or the current directory for a dict), ``warnings`` the ignored WarpRec keys.
    """

    data: dict[str, Any]
    base_dir: Path
    source: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, section: str) -> Any:
        return self.data[section]


def load_config(
    source: str | Path | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    resolve_names: bool = True,
) -> Config:
    """Read (a YAML path or a mapping), validate and complete a configuration.

    ``overrides`` maps dotted key paths to values (``{"general.seed": 7}``), as the CLI's
    ``--seed``/``--device`` do. With ``resolve_names`` the custom modules are imported and
    every model, metric, filter and splitter name is looked up in the registries (no model
    module is imported). Raises :class:`ConfigError` naming the key path on any problem.
    """
    source_data, path = _read(source)
    base_dir = path.parent if path is not None else Path.cwd()
    raw: dict[str, Any] = copy.deepcopy(dict(source_data))
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    warnings: list[str] = []
    data = _validate(raw, warnings)
    config = Config(data, base_dir.resolve(), path, warnings)
    if resolve_names:
        import_custom_modules(data["general"]["custom_modules"], config.base_dir)
        _check_names(data)
    return config


def _read(source: str | Path | Mapping[str, Any]) -> tuple[Mapping[str, Any], Path | None]:
    if isinstance(source, Mapping):
        return source, None
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of sections (reader, models, ...), "
                          f"got {type(raw).__name__}")
    return raw, path


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads ``1e-3`` as a float (YAML 1.2), not a string."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def _validate(raw: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    _check_extra("", raw, SECTIONS, warnings)
    if "models" not in raw or raw["models"] is None:
        raise ConfigError("models: missing; expected at least one model, e.g. "
                          "'models: {EASE: {l2: 100}}'")
    _translate_backend(raw, warnings)
    data: dict[str, Any] = {}
    for name, key in SECTIONS.items():
        value = raw.get(name)
        if name == "splitter" and isinstance(value, Mapping):
            old = sorted(_OLD_SPLITTER_KEYS & set(value))
            if old:
                raise ConfigError(f"splitter.{old[0]}: WarpRec's old flat splitter layout is "
                                  "not supported; expected splitter.test_splitting and "
                                  "splitter.validation_splitting, each {strategy, ratio, k, "
                                  "folds, timestamp, seed}")
        if name in ("filtering", "models"):
            data[name] = _validate_named(name, value, warnings)
        else:
            data[name] = _value(value, key, name, warnings)
    _complete(data)
    return data


def _translate_backend(raw: dict[str, Any], warnings: list[str]) -> None:
    general = raw.get("general")
    if not isinstance(general, dict):
        return
    backend = general.get("backend")
    if backend in ("polars", "pandas"):
        # WarpRec's general.backend picks its dataframe library: results do not depend on it.
        warnings.append(f"general.backend: WarpRec's data backend {backend!r} is not used by "
                        "this version (pandas is), ignored")
        general["backend"] = "local"


def _value(value: Any, key: Key, path: str, warnings: list[str]) -> Any:
    if value is None:
        if key.kind == "section":
            value = {}
        elif key.default is not None or key.nullable:
            return copy.deepcopy(key.default)
        else:
            raise ConfigError(f"{path}: null is not allowed; expected {_expected(key)}")
    if key.kind == "section":
        return _section(value, key, path, warnings)
    return _scalar(value, key, path)


def _section(value: Any, key: Key, path: str, warnings: list[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping of keys, got {describe(value)}")
    assert key.fields is not None
    _check_extra(path, value, key.fields, warnings)
    return {
        name: _value(value.get(name), sub, f"{path}.{name}", warnings)
        for name, sub in key.fields.items()
    }


def _scalar(value: Any, key: Key, path: str) -> Any:
    kind = key.kind
    if kind == "ints":
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ConfigError(f"{path}: empty list; expected {_expected(key)}")
        return [_scalar(v, Key("int", minimum=key.minimum), f"{path}[{i}]")
                for i, v in enumerate(items)]
    if kind == "strs":
        items = value if isinstance(value, list) else [value]
        return [_scalar(v, Key("str"), f"{path}[{i}]") for i, v in enumerate(items)]
    if kind == "int_or_best":
        if value == "best" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ConfigError(f"{path}: got {describe(value)}; expected an integer timestamp or 'best'")
    if kind == "mapping":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: got {describe(value)}; expected a mapping")
        return dict(value)
    checked = _typed(value, key, path)
    _check_range(checked, key, path)
    return checked


def _typed(value: Any, key: Key, path: str) -> Any:
    kind = key.kind
    ok = {
        "str": isinstance(value, str),
        "choice": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
    }[kind]
    if not ok:
        raise ConfigError(f"{path}: got {describe(value)}; expected {_expected(key)}")
    if kind == "choice":
        match = next((c for c in key.choices if c.lower() == value.lower()), None)
        if match is None:
            raise ConfigError(f"{path}: got {value!r}; expected {_expected(key)}"
                              f"{_did_you_mean(value, key.choices)}")
        return match
    return float(value) if kind == "float" else value


def _check_range(value: Any, key: Key, path: str) -> None:
    if key.minimum is not None and value < key.minimum:
        raise ConfigError(f"{path}: got {value!r}; expected a value >= {key.minimum:g}")
    if key.exclusive_minimum is not None and value <= key.exclusive_minimum:
        raise ConfigError(f"{path}: got {value!r}; expected a value > {key.exclusive_minimum:g}")
    if key.maximum is not None and value > key.maximum:
        raise ConfigError(f"{path}: got {value!r}; expected a value <= {key.maximum:g}")


def _expected(key: Key) -> str:
    text = {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "ints": "an integer or a list of integers",
        "strs": "a string or a list of strings",
        "mapping": "a mapping",
        "section": "a mapping of keys",
    }.get(key.kind)
    if key.kind == "choice":
        text = "one of " + ", ".join(repr(c) for c in key.choices)
    return text or key.kind


def _check_extra(path: str, value: Mapping[str, Any], fields: Mapping[str, Key],
                 warnings: list[str]) -> None:
    pattern = re.sub(r"^models\.[^.]+", "models.*", path)
    ignored = _IGNORED.get(pattern, {})
    unsupported = _UNSUPPORTED.get(pattern, set())
    for name in value:
        full = f"{path}.{name}" if path else str(name)
        if not isinstance(name, str):
            raise ConfigError(f"{full}: keys must be strings, got {describe(name)}")
        if name in fields:
            continue
        if name in unsupported:
            raise ConfigError(f"{full}: this WarpRec key is not supported by this version "
                              "(it would change results); remove it")
        if name in ignored:
            required = ignored[name]
            if required is not None and value[name] != required:
                raise ConfigError(f"{full}: got {describe(value[name])}; only {required!r} is "
                                  "supported")
            warnings.append(f"{full}: WarpRec key not used by this version, ignored")
            continue
        raise ConfigError(f"{full}: unknown key{_did_you_mean(name, list(fields))}; "
                          f"expected one of {', '.join(fields)}")


def _validate_named(section: str, value: Any, warnings: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        hint = "{FilterName: {params}}" if section == "filtering" else "{ModelName: {params}}"
        raise ConfigError(f"{section}: got {describe(value)}; expected a mapping {hint}")
    if section == "models" and not value:
        raise ConfigError("models: empty; expected at least one model, e.g. "
                          "'models: {EASE: {l2: 100}}'")
    out: dict[str, Any] = {}
    for name, params in value.items():
        path = f"{section}.{name}"
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ConfigError(f"{path}: got {describe(params)}; expected a mapping of parameters")
        out[str(name)] = dict(params) if section == "filtering" else _model(path, params,
                                                                            warnings)
    return out


def _model(path: str, params: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key in _MODEL_KEYS.items():
        sub = params.get(name)
        if name == "optimization" and isinstance(sub, Mapping):
            for option, refused in _RESULT_CHANGING_VALUES.items():
                option_key = option.split(".")[1]
                if sub.get(option_key) in refused:
                    raise ConfigError(f"{path}.{option}: {sub[option_key]!r} is not "
                                      "supported by this version; expected "
                                      f"{_expected(key.fields[option_key])}")  # type: ignore[index]
        out[name] = _value(sub, key, f"{path}.{name}", warnings)
    es = params.get("early_stopping")
    if es is not None and out["early_stopping"]["patience"] is None:
        raise ConfigError(f"{path}.early_stopping.patience: missing; expected an integer >= 1")
    out["early_stopping"] = out["early_stopping"] if es is not None else None
    hyper = model_params(params)
    for name, value in hyper.items():
        _check_space(f"{path}.{name}", value)
    return {**hyper, **out}


def model_params(model: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters (search spaces included) of one ``models.<Name>`` mapping."""
    return {k: v for k, v in model.items() if k not in _MODEL_KEYS}


def _check_space(path: str, value: Any) -> None:
    """Check a search-space value: a scalar, a list of values, or [keyword, args...]."""
    if isinstance(value, Mapping):
        raise ConfigError(f"{path}: got a mapping; expected a value, a list of values (grid) "
                          "or [distribution, args...]")
    if not isinstance(value, list):
        return
    if not value:
        raise ConfigError(f"{path}: empty list; expected values to search, or "
                          "[distribution, args...]")
    head = value[0]
    if not isinstance(head, str) or head.lower() not in (*DISTRIBUTIONS, *CATEGORICAL):
        return
    args = value[1:]
    keyword = head.lower()
    if keyword in CATEGORICAL:
        if not args:
            raise ConfigError(f"{path}: [{keyword}] has no values; expected "
                              f"[{keyword}, value, ...]")
        return
    low, high = DISTRIBUTIONS[keyword]
    numbers = [as_float(a) for a in args]
    if not low <= len(args) <= high or any(n is None for n in numbers):
        shape = _distribution_shape(keyword)
        raise ConfigError(f"{path}: got {describe(value)}; expected [{shape}]")
    if keyword not in ("randn", "normal", "qrandn") and numbers[0] >= numbers[1]:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected the lower bound below the "
                          "upper bound")
    if keyword.startswith(("log", "qlog")) and numbers[0] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a lower bound > 0 for a "
                          "log distribution")
    if keyword in ("randn", "normal", "qrandn") and numbers[1] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a standard deviation > 0")
    if keyword.startswith("q") and numbers[2] <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: got {describe(value)}; expected a quantum q > 0")


def _distribution_shape(keyword: str) -> str:
    return {
        "uniform": "uniform, low, high",
        "quniform": "quniform, low, high, q",
        "loguniform": "loguniform, low, high(, base)",
        "qloguniform": "qloguniform, low, high, q(, base)",
        "randn": "randn, mean, sd",
        "normal": "normal, mean, sd",
        "qrandn": "qrandn, mean, sd, q",
        "randint": "randint, low, high",
        "qrandint": "qrandint, low, high, q",
        "lograndint": "lograndint, low, high(, base)",
        "qlograndint": "qlograndint, low, high, q(, base)",
    }[keyword] + " (numbers)"


def _complete(data: dict[str, Any]) -> None:
    """Cross-key checks and defaults that depend on other keys."""
    reader, general = data["reader"], data["general"]
    if reader["loading_strategy"] == "dataset":
        if not reader["local_path"] and not reader["dataset"]:
            raise ConfigError("reader.local_path: missing; expected the path of the "
                              "interaction file, or reader.dataset (e.g. 'synthetic')")
        if reader["local_path"] and reader["dataset"]:
            raise ConfigError("reader.dataset: given together with reader.local_path; "
                              "expected only one of them")
    elif not reader["split"]["local_path"]:
        raise ConfigError("reader.split.local_path: missing; expected the folder holding "
                          "the train, validation and test files (loading_strategy: split)")
    if reader["split"]["file_format"] == "parquet" and reader["split"]["ext"] == ".tsv":
        reader["split"]["ext"] = ".parquet"  # WarpRec's default extension for parquet splits
    if reader["loading_strategy"] == "split" and data["filtering"]:
        raise ConfigError("filtering: given with reader.loading_strategy: split (pre-split "
                          "data is used as it is); remove the filtering section")
    if reader["dataset_params"] and not reader["dataset"]:
        raise ConfigError("reader.dataset_params: given without reader.dataset")
    _complete_splitter(data["splitter"], general["seed"], reader["loading_strategy"])
    ev = data["evaluation"]
    if ev["seed"] is None:
        ev["seed"] = general["seed"]
    if ev["validation_metric"] is None:
        first = "nDCG" if any(m.lower() == "ndcg" for m in ev["metrics"]) else ev["metrics"][0]
        ev["validation_metric"] = f"{first}@{ev['top_k'][0]}"
    _check_validation_metric("evaluation.validation_metric", ev["validation_metric"], ev)
    writer = data["writer"]
    if writer["dataset_name"] is None:
        source = reader["dataset"] or reader["local_path"] or reader["split"]["local_path"]
        writer["dataset_name"] = Path(str(source).rstrip("/\\")).stem or "dataset"
    if general["backend"] == "local" and general["ray_address"]:
        raise ConfigError("general.ray_address: given with general.backend: local; expected "
                          "general.backend: ray")
    if general["backend"] == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("general.backend: 'ray' needs Ray Tune, which is not installed; "
                          "pip install 'warprec-core[ray]'")
    for name, model in data["models"].items():
        _complete_model(f"models.{name}", model, data)


def _complete_splitter(splitter: dict[str, Any], seed: int, loading: str) -> None:
    test, validation = splitter["test_splitting"], splitter["validation_splitting"]
    if loading == "split":
        if test["strategy"] or validation["strategy"]:
            raise ConfigError("splitter: given with reader.loading_strategy: split (the data "
                              "is already split); remove the splitter section")
        splitter["test_splitting"] = splitter["validation_splitting"] = None
        return
    if not test["strategy"]:
        if any(v is not None for k, v in test.items() if k != "seed"):
            raise ConfigError("splitter.test_splitting.strategy: missing; expected "
                              + ", ".join(SPLIT_STRATEGIES))
        # The stated default: random holdout of 20% of the interactions (WarpRec's).
        test.update(strategy="random_holdout", ratio=0.2)
    for name, part in (("test_splitting", test), ("validation_splitting", validation)):
        if not part["strategy"]:
            if any(v is not None for k, v in part.items()):
                raise ConfigError(f"splitter.{name}.strategy: missing; expected "
                                  + ", ".join(SPLIT_STRATEGIES))
            splitter[name] = None
            continue
        _check_strategy(f"splitter.{name}", part)
        if part["seed"] is None:
            part["seed"] = seed
    if splitter["test_splitting"]["strategy"] == "k_fold_cross_validation":
        raise ConfigError("splitter.test_splitting.strategy: 'k_fold_cross_validation' is "
                          "for validation only; expected a holdout, leave-k-out or slicing "
                          "strategy")


def _check_strategy(path: str, part: dict[str, Any]) -> None:
    strategy = part["strategy"]
    canonical = next((s for s in SPLIT_STRATEGIES if s == strategy.lower()), None)
    if canonical is None:
        return  # a registry name: checked against the splitter registry later
    part["strategy"] = canonical
    needs = {"random_holdout": "ratio", "random_holdout_per_user": "ratio",
             "temporal_holdout": "ratio",
             "random_leave_k_out": "k", "temporal_leave_k_out": "k",
             "timestamp_slicing": "timestamp", "k_fold_cross_validation": "folds"}[canonical]
    if part[needs] is None:
        expected = {"ratio": "a number in (0, 1)", "k": "an integer >= 1",
                    "timestamp": "an integer timestamp or 'best'",
                    "folds": "an integer >= 2"}[needs]
        raise ConfigError(f"{path}.{needs}: missing for strategy {canonical!r}; expected "
                          f"{expected}")
    if needs == "ratio" and part["ratio"] >= 1.0:
        raise ConfigError(f"{path}.ratio: got {part['ratio']!r}; expected a value < 1")
    extra = [k for k in ("ratio", "k", "folds", "timestamp") if k != needs and part[k] is not None]
    if extra:
        raise ConfigError(f"{path}.{extra[0]}: not used by strategy {canonical!r} (it takes "
                          f"{needs}); remove it")


def _check_validation_metric(path: str, value: str, ev: dict[str, Any]) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: got {describe(value)}; expected Metric@k, e.g. 'nDCG@10'")
    if "@" in value:
        name, k = parse_metric_name(value, path)
    else:  # a metric without a cutoff (e.g. ItemCoverage): checked against the evaluator
        name, k = value.strip(), ev["top_k"][0]
    known = {m.lower() for m in ev["metrics"]}
    if name.lower() not in known or k not in ev["top_k"]:
        computed = [f"{m}@{c}" for m in ev["metrics"] for c in ev["top_k"]]
        raise ConfigError(f"{path}: {value!r} is not computed; expected one of "
                          f"{', '.join(computed)} (evaluation.metrics x evaluation.top_k)")


def parse_metric_name(value: str, path: str = "metric") -> tuple[str, int]:
    """Split ``"nDCG@10"`` into ``("nDCG", 10)``; a ConfigError naming ``path`` otherwise."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w.:-]*)@(\d+)\s*", str(value))
    if match is None or int(match.group(2)) < 1:
        raise ConfigError(f"{path}: got {describe(value)}; expected Metric@k, e.g. 'nDCG@10'")
    return match.group(1), int(match.group(2))


def _complete_model(path: str, model: dict[str, Any], data: dict[str, Any]) -> None:
    opt, general = model["optimization"], data["general"]
    ev = data["evaluation"]
    if opt["device"] is None:
        opt["device"] = general["device"]
    if opt["refit"] is None:
        opt["refit"] = general["refit"]
    if opt["properties"]["seed"] is None:
        opt["properties"]["seed"] = general["seed"]
    if opt["validation_metric"] is None:
        opt["validation_metric"] = ev["validation_metric"]
    _check_validation_metric(f"{path}.optimization.validation_metric",
                             opt["validation_metric"], ev)
    es = model["early_stopping"]
    if es is not None and es["monitor"] not in ("score", "loss"):
        _check_validation_metric(f"{path}.early_stopping.monitor", es["monitor"], ev)


def _check_names(data: dict[str, Any]) -> None:
    """Look every name up in its registry (no model module is imported)."""
    from warprec.utils.registry import (
        dataset_registry,
        filter_registry,
        metric_registry,
        model_registry,
        splitter_registry,
    )

    reader = data["reader"]
    if reader["dataset"]:
        _lookup(dataset_registry, reader["dataset"], "reader.dataset")
    for name in data["filtering"]:
        target = FILTER_ALIASES.get(name, (name,))[0]
        _lookup(filter_registry, target, f"filtering.{name}")
    for part in ("test_splitting", "validation_splitting"):
        split = data["splitter"][part]
        if split is not None and split["strategy"] not in SPLIT_STRATEGIES:
            _lookup(splitter_registry, split["strategy"], f"splitter.{part}.strategy")
    for i, name in enumerate(data["evaluation"]["metrics"]):
        _lookup(metric_registry, name, f"evaluation.metrics[{i}]")
    for name in data["models"]:
        _lookup(model_registry, name, f"models.{name}")


def _lookup(registry: Any, name: str, path: str) -> None:
    try:
        registry.entry(name)
    except RegistryError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


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
        except Exception as exc:
            raise ConfigError(f"{path}: importing {entry!r} failed: {type(exc).__name__}: "
                              f"{exc}") from exc
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


def _did_you_mean(value: str, options: Any) -> str:
    lowered = {str(o).lower(): str(o) for o in options}
    close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration, for editor completion."""
    properties = {name: _key_schema(key) for name, key in SECTIONS.items()}
    model_props = {name: _key_schema(key) for name, key in _MODEL_KEYS.items()}
    properties["models"] = {
        "type": "object",
        "description": SECTIONS["models"].doc,
        "minProperties": 1,
        "additionalProperties": {
            "type": ["object", "null"],
            "properties": model_props,
            "additionalProperties": {"description": "A hyperparameter: a value, a list of "
                                     "values (grid), or [distribution, args...] with "
                                     "distribution one of " + ", ".join(
                                         (*CATEGORICAL, *DISTRIBUTIONS)) + "."},
        },
    }
    properties["filtering"] = {
        "type": ["object", "null"],
        "description": SECTIONS["filtering"].doc,
        "additionalProperties": {"type": ["object", "null"]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://warprec.dev/schema/config.json",
        "title": "WarpRec experiment configuration",
        "type": "object",
        "required": ["models"],
        "properties": properties,
        "additionalProperties": False,
    }


def _key_schema(key: Key) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": key.doc} if key.doc else {}
    if key.kind == "section":
        assert key.fields is not None
        schema.update(type=["object", "null"], additionalProperties=False,
                      properties={n: _key_schema(k) for n, k in key.fields.items()})
        return schema
    by_kind: dict[str, dict[str, Any]] = {
        "str": {"type": "string"},
        "choice": {"enum": list(key.choices)},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "mapping": {"type": "object"},
        "int_or_best": {"anyOf": [{"type": "integer"}, {"const": "best"}]},
        "ints": {"anyOf": [{"type": "integer", "minimum": 1},
                           {"type": "array", "items": {"type": "integer", "minimum": 1},
                            "minItems": 1}]},
        "strs": {"anyOf": [{"type": "string"},
                           {"type": "array", "items": {"type": "string"}}]},
    }
    types = by_kind[key.kind]
    if key.nullable and "type" in types:
        types = {**types, "type": [types["type"], "null"]}
    schema.update(types)
    if key.default is not None:
        schema["default"] = key.default
    for name, bound in (("minimum", key.minimum), ("exclusiveMinimum", key.exclusive_minimum),
                        ("maximum", key.maximum)):
        if bound is not None and key.kind in ("int", "float"):
            schema[name] = bound
    return schema
