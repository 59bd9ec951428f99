"""Loading a configuration: read, translate WarpRec's keys, validate, complete."""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from warprec.config.search_space import check_space
from warprec.config.sections import ExperimentConfig, ModelBlock, SplitPart
from warprec.config.warprec_compat import apply_compat
from warprec.config.yaml_loader import read_yaml
from warprec.errors import ConfigError
from warprec.utils.checks import describe
from warprec.utils.validation import render_errors

__all__ = ["Config", "json_schema", "load_config", "model_params", "parse_metric_name"]

# Strategy -> the key it needs. The build module maps strategies to splitter classes.
STRATEGY_NEEDS = {"random_holdout": "ratio", "random_holdout_per_user": "ratio",
                  "temporal_holdout": "ratio",
                  "random_leave_k_out": "k", "temporal_leave_k_out": "k",
                  "timestamp_slicing": "timestamp", "k_fold_cross_validation": "folds",
                  "item_cold_start": "ratio", "user_cold_start": "ratio"}
_NEEDS_TEXT = {"ratio": "a number in (0, 1)", "k": "an integer >= 1",
               "timestamp": "an integer timestamp or 'best'", "folds": "an integer >= 2"}


@dataclass
class Config:
    """A validated configuration with every default filled in.

    ``model`` is the typed configuration, ``data`` the same as plain values (what
    ``config.yaml`` of a run holds), ``base_dir`` the folder relative paths are resolved
    against (the config file's folder, or the current directory for a mapping),
    ``warnings`` the ignored WarpRec keys.
    """

    model: ExperimentConfig
    base_dir: Path
    source: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        """The resolved configuration as plain values."""
        return self.model.model_dump(mode="python")

    def __getitem__(self, section: str) -> Any:
        return self.data[section]


def load_config(
    source: str | Path | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    import_modules: bool = True,
) -> Config:
    """Read (a YAML path or a mapping), validate and complete a configuration.

    ``overrides`` maps dotted key paths to values (``{"general.seed": 7}``), as the CLI's
    ``--seed``/``--device`` do. With ``import_modules`` the custom modules are imported
    (names are resolved by the plan, :func:`warprec.experiment.plan.make_plan`). Raises
    :class:`ConfigError` naming the key path.
    """
    raw, path = _read(source)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    warnings = apply_compat(raw)
    try:
        model = ExperimentConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(render_errors(exc)) from None
    base_dir = (path.parent if path is not None else Path.cwd()).resolve()
    _complete(model)
    config = Config(model, base_dir, path, warnings)
    if import_modules:
        from warprec.custom_modules import import_custom_modules

        import_custom_modules(model.general.custom_modules, base_dir)
    return config


def _read(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), None
    path = Path(source)
    if path.is_dir():
        raise ConfigError(f"config file {str(path)!r} is a folder; expected a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    raw = read_yaml(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of sections (reader, models, ...), "
                          f"got {type(raw).__name__}")
    return dict(raw), path


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def model_params(model: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters (search spaces included) of one resolved ``models.<Name>``."""
    return {k: v for k, v in model.items() if k not in ModelBlock.model_fields}


# ------------------------------------------------------------------ cross-key checks


def _complete(cfg: ExperimentConfig) -> None:
    """Checks and defaults that depend on more than one key."""
    reader, general = cfg.reader, cfg.general
    if reader.loading_strategy == "dataset":
        if not reader.local_path and not reader.dataset:
            raise ConfigError("reader.local_path: missing; expected the path of the "
                              "interaction file, or reader.dataset (e.g. 'synthetic')")
        if reader.local_path and reader.dataset:
            raise ConfigError("reader.dataset: given together with reader.local_path; "
                              "expected one of them")
    elif not reader.split.local_path:
        raise ConfigError("reader.split.local_path: missing; expected the folder holding "
                          "the train, validation and test files (loading_strategy: split)")
    if reader.split.file_format == "parquet" and reader.split.ext == ".tsv":
        reader.split.ext = ".parquet"  # WarpRec's default extension for parquet splits
    if reader.loading_strategy == "split" and cfg.filtering:
        raise ConfigError("filtering: given with reader.loading_strategy: split (pre-split "
                          "data is used as it is); remove the filtering section")
    if reader.dataset_params and not reader.dataset:
        raise ConfigError("reader.dataset_params: given without reader.dataset")
    _complete_splitter(cfg)
    ev = cfg.evaluation
    if ev.seed is None:
        ev.seed = general.seed
    if ev.validation_metric is None:
        first = "nDCG" if any(m.lower() == "ndcg" for m in ev.metrics) else ev.metrics[0]
        ev.validation_metric = f"{first}@{ev.top_k[0]}"
    _check_validation_metric("evaluation.validation_metric", ev.validation_metric, cfg)
    writer = cfg.writer
    if writer.dataset_name is None:
        source = reader.dataset or reader.local_path or reader.split.local_path
        writer.dataset_name = Path(str(source).rstrip("/\\")).stem or "dataset"
    if general.backend == "local" and general.ray_address:
        raise ConfigError("general.ray_address: given with general.backend: local; expected "
                          "general.backend: ray")
    if general.backend == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("general.backend: 'ray' needs Ray Tune, which is not installed; "
                          "pip install 'warprec-core[ray]'")
    for name, block in cfg.models.items():
        _complete_model(f"models.{name}", block, cfg)


def _complete_splitter(cfg: ExperimentConfig) -> None:
    splitter = cfg.splitter
    test = splitter.test_splitting or SplitPart()
    validation = splitter.validation_splitting or SplitPart()
    if cfg.reader.loading_strategy == "split":
        if test.strategy or validation.strategy:
            raise ConfigError("splitter: given with reader.loading_strategy: split (the data "
                              "is already split); remove the splitter section")
        splitter.test_splitting = splitter.validation_splitting = None
        return
    if not test.strategy:
        if any(v is not None for k, v in test.model_dump().items() if k != "seed"):
            raise ConfigError("splitter.test_splitting.strategy: missing; expected "
                              + ", ".join(STRATEGY_NEEDS))
        # The stated default: random holdout of 20% of each user's interactions.
        test.strategy, test.ratio = "random_holdout", 0.2
    splitter.test_splitting = test
    splitter.validation_splitting = validation
    for name in ("test_splitting", "validation_splitting"):
        part = getattr(splitter, name)
        if not part.strategy:
            if any(v is not None for v in part.model_dump().values()):
                raise ConfigError(f"splitter.{name}.strategy: missing; expected "
                                  + ", ".join(STRATEGY_NEEDS))
            setattr(splitter, name, None)
            continue
        _check_strategy(f"splitter.{name}", part)
        if part.seed is None:
            part.seed = cfg.general.seed
    if test.strategy == "k_fold_cross_validation":
        raise ConfigError("splitter.test_splitting.strategy: 'k_fold_cross_validation' is "
                          "for validation only; expected a holdout, leave-k-out or slicing "
                          "strategy")


def _check_strategy(path: str, part: SplitPart) -> None:
    assert part.strategy is not None
    canonical = next((s for s in STRATEGY_NEEDS if s == part.strategy.lower()), None)
    if canonical is None:
        return  # a registry name: checked against the splitter registry later
    part.strategy = canonical
    needs = STRATEGY_NEEDS[canonical]
    if getattr(part, needs) is None:
        raise ConfigError(f"{path}.{needs}: missing for strategy {canonical!r}; expected "
                          f"{_NEEDS_TEXT[needs]}")
    extra = [k for k in _NEEDS_TEXT if k != needs and getattr(part, k) is not None]
    if extra:
        raise ConfigError(f"{path}.{extra[0]}: not used by strategy {canonical!r} (it takes "
                          f"{needs}); remove it")


def _check_validation_metric(path: str, value: str, cfg: ExperimentConfig) -> None:
    ev = cfg.evaluation
    if "@" in value:
        name, k = parse_metric_name(value, path)
    else:  # a metric without a cutoff (e.g. ItemCoverage): checked against the evaluator
        name, k = value.strip(), ev.top_k[0]
    names = [*ev.metrics, *(m.name for m in ev.complex_metrics)]
    known = {m.lower() for m in names}
    if name.lower() not in known or k not in ev.top_k:
        computed = [f"{m}@{c}" for m in names for c in ev.top_k]
        raise ConfigError(f"{path}: {value!r} is not computed; expected one of "
                          f"{', '.join(computed)} (evaluation.metrics x evaluation.top_k)")


def parse_metric_name(value: str, path: str = "metric") -> tuple[str, int]:
    """Split ``"nDCG@10"`` into ``("nDCG", 10)``; a ConfigError naming ``path`` otherwise."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w.:-]*)@(\d{1,9})\s*", str(value))
    if match is None or int(match.group(2)) < 1:
        raise ConfigError(f"{path}: got {describe(value)}; expected Metric@k, e.g. 'nDCG@10'")
    return match.group(1), int(match.group(2))


def _complete_model(path: str, block: ModelBlock, cfg: ExperimentConfig) -> None:
    opt, general = block.optimization, cfg.general
    if opt.device is None:
        opt.device = general.device
    if opt.refit is None:
        opt.refit = general.refit
    if opt.properties.seed is None:
        opt.properties.seed = general.seed
    if opt.validation_metric is None:
        opt.validation_metric = cfg.evaluation.validation_metric
    _check_validation_metric(f"{path}.optimization.validation_metric",
                             opt.validation_metric, cfg)
    es = block.early_stopping
    if es is not None and es.monitor not in ("score", "loss"):
        _check_validation_metric(f"{path}.early_stopping.monitor", es.monitor, cfg)
    for name, value in block.hyperparameters.items():
        check_space(f"{path}.{name}", value)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration, for editor completion."""
    schema = ExperimentConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://warprec.dev/schema/config.json"
    schema["title"] = "WarpRec experiment configuration"
    return schema
