"""The experiment configuration: every section and key, defaults, WarpRec keys, search
spaces, custom modules, JSON Schema and the run folder."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from warprec.config import (
    ExperimentConfig,
    expand,
    is_search_space,
    json_schema,
    load_config,
    model_params,
    parse_metric_name,
)
from warprec.custom_modules import import_custom_modules
from warprec.errors import ConfigError
from warprec.experiment import check_config
from warprec.output import RunFolder, format_table, results_rows
from warprec.utils.registry import model_registry


def base(**sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"reader": {"dataset": "synthetic"},
                              "models": {"EASE": {"l2": 10.0}}}
    for name, value in sections.items():
        config[name] = value
    return config


def with_key(path: str, value: Any) -> dict[str, Any]:
    config = base()
    node = config
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return config


# ------------------------------------------------------------------- defaults per section


def test_defaults_fill_every_section() -> None:
    data = load_config(base()).data
    assert data["reader"]["loading_strategy"] == "dataset"
    assert data["reader"]["rating_type"] == "implicit"
    assert data["reader"]["duplicates"] == "max"
    assert data["reader"]["labels"] == {"user_id_label": "user_id", "item_id_label": "item_id",
                                        "rating_label": "rating",
                                        "timestamp_label": "timestamp",
                                        "cluster_label": "cluster", "context_labels": []}
    assert data["reader"]["dtypes"] == {"context_types": {}}
    assert data["filtering"] == {}
    assert data["evaluation"]["top_k"] == [10, 20]
    assert data["evaluation"]["validation_metric"] == "nDCG@10"
    assert data["evaluation"]["strategy"] == "full"
    assert data["evaluation"]["seed"] == 42
    assert data["writer"]["dataset_name"] == "synthetic"
    assert data["writer"]["local_experiment_path"] == "runs"
    assert data["writer"]["recommendation"]["k"] == 50
    assert data["general"] == {"device": "cpu", "seed": 42, "custom_modules": [], "refit": False,
                               "backend": "local", "ray_address": None, "threads": None,
                               "max_trials": 1000, "mlflow": None}


def test_default_splitter_is_stated_random_holdout_with_general_seed() -> None:
    data = load_config(base(general={"seed": 7})).data
    assert data["splitter"]["test_splitting"] == {
        "strategy": "random_holdout", "ratio": 0.2, "k": None, "folds": None,
        "timestamp": None, "seed": 7}
    assert data["splitter"]["validation_splitting"] is None


def test_model_defaults_inherit_general_settings() -> None:
    data = load_config(base(general={"device": "cpu", "seed": 3, "refit": True})).data
    model = data["models"]["EASE"]
    assert model["optimization"]["device"] == "cpu"
    assert model["optimization"]["refit"] is True
    assert model["optimization"]["properties"] == {
        "mode": "max", "seed": 3, "time_attr": None, "max_t": None, "grace_period": None,
        "reduction_factor": None, "n_startup_trials": None, "min_samples_required": None,
        "min_time_slice": None, "hard_stop": None}
    assert model["optimization"]["validation_metric"] == "nDCG@10"
    assert model["meta"] == {"save_model": False, "save_recs": False, "load_from": None,
                             "smoke_check": True}
    assert model["early_stopping"] is None
    assert model_params(model) == {"l2": 10.0}


def test_resolved_config_validates_again_to_itself() -> None:
    first = load_config(base(splitter={"validation_splitting": {"strategy": "random_holdout",
                                                                "ratio": 0.1}})).data
    assert load_config(copy.deepcopy(first)).data == first


def test_overrides_take_dotted_paths() -> None:
    data = load_config(base(), overrides={"general.seed": 9, "general.device": "cpu"}).data
    assert data["general"]["seed"] == 9
    assert data["splitter"]["test_splitting"]["seed"] == 9


def test_every_key_of_every_section_is_accepted() -> None:
    config = {
        "reader": {"loading_strategy": "dataset", "local_path": "data.tsv",
                   "file_format": "tabular", "sep": ",", "header": False,
                   "rating_type": "explicit", "duplicates": "mean",
                   "labels": {"user_id_label": "u", "item_id_label": "i",
                              "rating_label": "r", "timestamp_label": "t"},
                   "split": {"ext": ".csv", "sep": ",", "header": True,
                             "file_format": "tabular"}},
        "filtering": {"MinRating": {"min_rating": 3.0}, "UserMin": {"min_interactions": 2}},
        "splitter": {"test_splitting": {"strategy": "temporal_leave_k_out", "k": 1},
                     "validation_splitting": {"strategy": "k_fold_cross_validation",
                                              "folds": 3, "seed": 1}},
        "models": {"EASE": {"l2": [1.0, 10.0],
                            "optimization": {"strategy": "random", "num_samples": 2,
                                             "device": "cpu", "validation_metric": "Recall@5",
                                             "refit": True, "scheduler": "fifo",
                                             "optimizer": {"name": "SGD",
                                                           "params": {"momentum": 0.9}},
                                             "lr_scheduler": {"name": "StepLR",
                                                              "params": {"step_size": 2}},
                                             "properties": {"mode": "min", "seed": 5}},
                            "early_stopping": {"monitor": "loss", "patience": 2,
                                               "min_delta": 0.01, "grace_period": 0},
                            "meta": {"save_model": True, "save_recs": True}}},
        "evaluation": {"top_k": 5, "metrics": ["Recall", "nDCG"],
                       "validation_metric": "nDCG@5", "strategy": "sampled",
                       "num_negatives": 10, "seed": 3, "batch_size": 64,
                       "stat_significance": {"paired_t_test": True, "wilcoxon_test": True,
                                             "kruskal_test": True, "whitney_u_test": True,
                                             "corrections": {"bonferroni": True,
                                                             "holm_bonferroni": True,
                                                             "fdr": True, "alpha": 0.01}}},
        "writer": {"dataset_name": "mine", "local_experiment_path": "out", "save_split": True,
                   "split": {"sep": ",", "ext": ".csv", "header": False},
                   "recommendation": {"k": 5, "sep": ",", "ext": ".csv", "header": False,
                                      "user_label": "u", "item_label": "i",
                                      "rating_label": "s"}},
        "general": {"device": "auto", "seed": 1, "custom_modules": [], "refit": False,
                    "backend": "local"},
    }
    data = load_config(config).data
    assert data["evaluation"]["top_k"] == [5]
    assert data["reader"]["duplicates"] == "mean"
    assert data["models"]["EASE"]["optimization"]["properties"]["mode"] == "min"
    assert data["splitter"]["validation_splitting"]["folds"] == 3
    assert data["writer"]["recommendation"]["rating_label"] == "s"
    assert data["evaluation"]["stat_significance"]["corrections"]["alpha"] == 0.01


def test_choices_are_case_insensitive_and_canonical() -> None:
    data = load_config(with_key("reader.rating_type", "Explicit")).data
    assert data["reader"]["rating_type"] == "explicit"


def test_yaml_reads_exponent_floats_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("reader: {dataset: synthetic}\nmodels:\n  BPR:\n    learning_rate: 1e-3\n"
                    "    reg_weight: [1e-4, 1e-2]\n")
    params = model_params(load_config(path).data["models"]["BPR"])
    assert params == {"learning_rate": 0.001, "reg_weight": [0.0001, 0.01]}


# ------------------------------------------------------------------------------ errors

BAD_CONFIGS = [
    (with_key("reader.rating_type", "binary"),
     "reader.rating_type: got 'binary' (str); expected one of 'implicit', 'explicit'"),
    (with_key("reader.header", "yes"), "reader.header: got 'yes' (str); expected true or false"),
    (with_key("reader.sep", 4), "reader.sep: got 4 (int); expected a string"),
    (with_key("reader.duplicates", "median"), "reader.duplicates: got 'median'"),
    (with_key("reader.labels", {"user_label": "u"}),
     "reader.labels.user_label: unknown key (did you mean 'user_id_label'?)"),
    ({"reader": {}, "models": {"EASE": {}}}, "reader.local_path: missing"),
    ({"reader": {"dataset": "synthetic", "local_path": "x.tsv"}, "models": {"EASE": {}}},
     "reader.dataset: given together with reader.local_path"),
    ({"reader": {"loading_strategy": "split"}, "models": {"EASE": {}}},
     "reader.split.local_path: missing"),
    (with_key("reader.side", {"local_path": "x", "azure_blob_name": "b"}),
     "reader.side.azure_blob_name: this WarpRec key is not supported"),
    (with_key("reader.side", {"sep": ","}), "reader.side.local_path: missing"),
    (with_key("reader.side", {"local_path": "x", "keep_unseen_items": True}),
     "reader.side.keep_unseen_items: true is not supported"),
    (with_key("reader.side", {"local_path": "x", "seperator": ","}),
     "reader.side.seperator: unknown key"),
    (with_key("reader.reading_method", "azure_blob"),
     "reader.reading_method: got 'azure_blob' (str); only 'local' is supported"),
    (with_key("filtering", [{"strategy": "KCore"}]), "filtering: got [{"),
    (with_key("filtering", {"KCoore": {"k": 2}}), "filtering.KCoore: unknown filter 'KCoore'"),
    (with_key("splitter", {"strategy": "random_holdout", "test_ratio": 0.2}),
     "splitter.strategy: WarpRec's old flat splitter layout is not supported"),
    (with_key("splitter.test_splitting", {"strategy": "random_holdout"}),
     "splitter.test_splitting.ratio: missing for strategy 'random_holdout'"),
    (with_key("splitter.test_splitting", {"strategy": "random_holdout", "ratio": 1.5}),
     "splitter.test_splitting.ratio: got 1.5 (float); expected a number < 1"),
    (with_key("splitter.test_splitting", {"strategy": "random_holdout", "ratio": 0.2, "k": 1}),
     "splitter.test_splitting.k: not used by strategy 'random_holdout'"),
    (with_key("splitter.test_splitting", {"strategy": "timestamp_slicing",
                                          "timestamp": "latest"}),
     "splitter.test_splitting.timestamp"),  # 'latest': neither an integer nor 'best'
    (with_key("splitter.test_splitting", {"strategy": "k_fold_cross_validation", "folds": 3}),
     "'k_fold_cross_validation' is for validation only"),
    (with_key("splitter.test_splitting", {"strategy": "item_cold_start"}),
     "splitter.test_splitting.ratio: missing for strategy 'item_cold_start'"),
    (with_key("splitter.test_splitting", {"strategy": "user_cold_start", "ratio": 0.2, "k": 1}),
     "splitter.test_splitting.k: not used by strategy 'user_cold_start'"),
    (with_key("splitter.test_splitting", {"strategy": "random_holdout_x", "ratio": 0.2}),
     "splitter.test_splitting.strategy: unknown splitter 'random_holdout_x'"),
    ({"reader": {"dataset": "synthetic"}}, "models: missing"),
    (with_key("models", {}), "models: empty; expected at least one entry"),
    (with_key("models", {"EAZE": {}}), "models.EAZE: unknown model 'EAZE'; did you mean 'EASE'"),
    (with_key("models.EASE", {"l2": {"low": 1}}), "models.EASE.l2: got a mapping"),
    (with_key("models.EASE", {"l2": []}), "models.EASE.l2: empty list"),
    (with_key("models.EASE", {"l2": ["uniform", 1]}),
     "models.EASE.l2: got ['uniform', 1] (list); expected [uniform, low, high (numbers)]"),
    (with_key("models.EASE", {"l2": ["loguniform", 0, 1]}),
     "expected a lower bound > 0 for a log distribution"),
    (with_key("models.EASE", {"l2": ["uniform", 5, 1]}),
     "expected the lower bound below the upper bound"),
    (with_key("models.EASE", {"l2": ["choice"]}), "models.EASE.l2: [choice] has no values"),
    (with_key("models.EASE.optimization", {"strategy": "tpe"}),
     "models.EASE.optimization.strategy: got 'tpe' (str); expected one of 'grid', 'random', "
     "'hopt', 'optuna', 'bohb'"),
    (with_key("models.EASE.optimization", {"num_samples": 0}),
     "models.EASE.optimization.num_samples: got 0 (int); expected a number >= 1"),
    (with_key("models.EASE.optimization", {"scheduler": "pbt"}),
     "models.EASE.optimization.scheduler: 'pbt' is not supported"),
    (with_key("models.EASE.optimization", {"scheduler": "asha"}),
     "models.EASE.optimization.properties.max_t: missing; the 'asha' scheduler needs max_t, "
     "grace_period, reduction_factor"),
    (with_key("models.EASE.early_stopping", {"monitor": "loss"}),
     "models.EASE.early_stopping.patience: missing"),
    (with_key("models.EASE.early_stopping", {"patience": 2, "grace_period": 3}),
     "models.EASE.early_stopping.grace_period: got 3 (int); expected a number <= 0"),
    (with_key("models.EASE.meta", {"save_recs": "sure"}),
     "models.EASE.meta.save_recs: got 'sure' (str); expected true or false"),
    (with_key("evaluation.top_k", [10, 0]),
     "evaluation.top_k[1]: got 0 (int); expected a number >= 1"),
    (with_key("evaluation.top_k", "ten"), "evaluation.top_k[0]: got 'ten' (str)"),
    (with_key("evaluation.metrics", ["nDGC"]),
     "evaluation.metrics[0]: unknown metric 'nDGC'; did you mean 'nDCG'"),
    (with_key("evaluation.validation_metric", "nDCG@x"),
     "evaluation.validation_metric: got 'nDCG@x' (str); expected Metric@k"),
    (with_key("evaluation.validation_metric", "nDCG@50"),
     "evaluation.validation_metric: 'nDCG@50' is not computed; expected one of nDCG@10"),
    (with_key("evaluation.strategy", "partial"), "evaluation.strategy: got 'partial'"),
    (with_key("evaluation.num_negatives", -1), "evaluation.num_negatives: got -1"),
    (with_key("evaluation.candidates", "cold"), "evaluation.candidates: this WarpRec key is "
                                                "not supported"),
    (with_key("evaluation.stat_significance", {"t_test": True}),
     "evaluation.stat_significance.t_test: unknown key"),
    (with_key("writer.recommendation", {"k": 0}), "writer.recommendation.k: got 0"),
    (with_key("writer.save_split", 1), "writer.save_split: got 1 (int); expected true or false"),
    (with_key("general.seed", -3), "general.seed: got -3 (int); expected a number >= 0"),
    (with_key("general.seed", 1.5), "general.seed: got 1.5 (float); expected an integer"),
    (with_key("general.backend", "dask"), "general.backend: got 'dask'"),
    (with_key("general.ray_address", "ray://x:10001"),
     "general.ray_address: given with general.backend: local"),
    (with_key("general.precision", "float64"),
     "general.precision: got 'float64' (str); only 'float32' is supported"),
    (with_key("general.callback", {}), "general.callback: this WarpRec key is not supported"),
    (with_key("general.custom_modules", ["missing_script.py"]),
     "general.custom_modules[0]: script 'missing_script.py' not found"),
    (with_key("training", {}), "training: this WarpRec key is not supported"),
    (with_key("modles", {}), "modles: unknown key (did you mean 'models'?)"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS,
                         ids=[m.split(":")[0] for _, m in BAD_CONFIGS])
def test_bad_config_names_key_value_and_expectation(config: dict[str, Any], message: str
                                                    ) -> None:
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("models:\n  EASE: {l2: 1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: invalid YAML at line 3"):
        load_config(path)


def test_config_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(path)


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match=r"config file 'nowhere\.yaml' not found"):
        load_config("nowhere.yaml")


def test_harmless_warprec_keys_warn_and_run_on() -> None:
    config = base(reader={"dataset": "synthetic", "data_type": "transaction",
                          "reading_method": "local"},
                  general={"ray_verbose": 0, "backend": "polars"},
                  dashboard={"wandb": {"enabled": False}})
    config["models"]["EASE"]["optimization"] = {"block_size": 2, "num_workers": 4}
    warnings = load_config(config).warnings
    assert sorted(w.split(":")[0] for w in warnings) == [
        "dashboard", "general.backend", "general.ray_verbose",
        "models.EASE.optimization.block_size",
        "models.EASE.optimization.num_workers", "reader.data_type", "reader.reading_method"]
    assert all(w.endswith("ignored") for w in warnings)


def test_parse_metric_name() -> None:
    assert parse_metric_name("nDCG@10") == ("nDCG", 10)
    with pytest.raises(ConfigError, match="x: got 'nDCG@0'"):
        parse_metric_name("nDCG@0", "x")


# ----------------------------------------------------------------------- search spaces


def test_grid_is_the_cartesian_product_in_order() -> None:
    trials = expand({"a": [1, 2], "b": ["x", "y", "z"], "c": 0.5})
    assert len(trials) == 6
    assert trials[0] == {"a": 1, "b": "x", "c": 0.5}
    assert trials[-1] == {"a": 2, "b": "z", "c": 0.5}
    assert list(trials[0]) == ["a", "b", "c"]


def test_random_strategy_samples_lists_as_choices_reproducibly() -> None:
    space = {"a": [1, 2, 3], "lr": ["loguniform", 1e-4, 1e-1], "n": ["randint", 1, 4]}
    first = expand(space, strategy="random", num_samples=20, seed=1)
    assert first == expand(space, strategy="random", num_samples=20, seed=1)
    assert first != expand(space, strategy="random", num_samples=20, seed=2)
    assert len(first) == 20
    assert {t["a"] for t in first} <= {1, 2, 3}
    assert all(1e-4 <= t["lr"] <= 1e-1 for t in first)
    assert {t["n"] for t in first} <= {1, 2, 3}
    assert all(isinstance(t["n"], int) for t in first)


def test_grid_with_distributions_repeats_the_grid_num_samples_times() -> None:
    trials = expand({"a": [1, 2], "u": ["uniform", 0, 1]}, num_samples=3)
    assert [t["a"] for t in trials] == [1, 2, 1, 2, 1, 2]
    assert len({t["u"] for t in trials}) == 6


def test_grid_without_sampling_runs_once_whatever_num_samples() -> None:
    assert len(expand({"a": [1, 2]}, num_samples=5)) == 2


@pytest.mark.parametrize(("space", "check"), [
    (["uniform", 2, 3], lambda v: 2 <= v <= 3),
    (["quniform", 0, 10, 2.5], lambda v: v in (0, 2.5, 5, 7.5, 10)),
    (["loguniform", "1e-3", 1], lambda v: 1e-3 <= v <= 1),
    (["qloguniform", 1, 100, 5], lambda v: v % 5 == 0 and 0 <= v <= 100),
    (["normal", 0, 1], lambda v: -10 < v < 10),
    (["randn", 5, 0.1], lambda v: 4 < v < 6),
    (["qrandn", 0, 10, 3], lambda v: v % 3 == 0),
    (["randint", 3, 5], lambda v: v in (3, 4)),
    (["qrandint", 10, 50, 10], lambda v: v in (10, 20, 30, 40, 50) and isinstance(v, int)),
    (["lograndint", 1, 100], lambda v: 1 <= v < 100 and isinstance(v, int)),
    (["qlograndint", 1, 1000, 50], lambda v: v % 50 == 0 and isinstance(v, int)),
    (["choice", "a", "b"], lambda v: v in ("a", "b")),
])
def test_each_distribution_stays_in_its_support(space: list[Any], check: Any) -> None:
    values = [t["p"] for t in expand({"p": space}, strategy="random", num_samples=50)]
    assert all(check(v) for v in values), values


def test_explicit_grid_keyword_is_enumerated_under_random() -> None:
    trials = expand({"p": ["grid", 1, 2, 3]}, strategy="random", num_samples=1)
    assert [t["p"] for t in trials] == [1, 2, 3]


def test_list_valued_hyperparameter_is_one_value_unless_a_list_of_lists() -> None:
    assert expand({"dims": [64, 32]}, list_params={"dims"}) == [{"dims": [64, 32]}]
    assert expand({"dims": [[64], [128, 64]]}, list_params={"dims"}) == [
        {"dims": [64]}, {"dims": [128, 64]}]
    assert not is_search_space([64, 32], list_valued=True)
    assert is_search_space(["uniform", 0, 1])


# ----------------------------------------------------------------------- custom modules

MODEL_SCRIPT = '''
from typing import Any
from warprec.recommenders.base_recommender import ItemSimRecommender
from warprec.utils.registry import model_registry

@model_registry.register(name="{name}")
class {name}(ItemSimRecommender):
    l2: float = 1.0
'''


def test_relative_script_and_package_resolve_against_config_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project"
    (folder / "pkg_cfg_test").mkdir(parents=True)
    (folder / "script_cfg_test.py").write_text(MODEL_SCRIPT.format(name="ScriptCfgModel"))
    (folder / "pkg_cfg_test" / "__init__.py").write_text(
        MODEL_SCRIPT.format(name="PackageCfgModel"))
    (folder / "c.yaml").write_text(textwrap.dedent("""
        reader: {dataset: synthetic}
        general: {custom_modules: [script_cfg_test.py, pkg_cfg_test]}
        models: {ScriptCfgModel: {}, PackageCfgModel: {l2: 2}}
    """))
    monkeypatch.chdir(tmp_path)  # elsewhere: only the config's folder can resolve them
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        config = load_config("project/c.yaml")
        assert config.base_dir == folder.resolve()
        assert "ScriptCfgModel" in model_registry and "PackageCfgModel" in model_registry
    finally:
        for module in ("script_cfg_test", "pkg_cfg_test"):
            sys.modules.pop(module, None)
            model_registry.remove_source(module)


def test_absolute_script_path_and_idempotent_import(tmp_path: Path) -> None:
    script = tmp_path / "abs_cfg_test.py"
    script.write_text(MODEL_SCRIPT.format(name="AbsCfgModel"))
    try:
        assert import_custom_modules([str(script)], Path("/")) == ["abs_cfg_test"]
        assert import_custom_modules([str(script)], Path("/")) == ["abs_cfg_test"]
        assert "AbsCfgModel" in model_registry
    finally:
        sys.modules.pop("abs_cfg_test", None)
        model_registry.remove_source("abs_cfg_test")


def test_custom_module_that_fails_to_import_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "broken_cfg_test.py").write_text("raise ValueError('boom')\n")
    with pytest.raises(ConfigError, match=r"custom_modules\[0\]: importing 'broken_cfg_test.py' "
                                          "failed: ValueError: boom"):
        import_custom_modules(["broken_cfg_test.py"], tmp_path)
    assert "broken_cfg_test" not in sys.modules


def test_unknown_module_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'no_such_mod_xyz' is neither a \.py script, a folder"):
        import_custom_modules(["no_such_mod_xyz"], tmp_path)


# ------------------------------------------------------------------------- JSON Schema


def test_json_schema_mirrors_the_sections() -> None:
    schema = json_schema()

    def node(value: dict[str, Any]) -> dict[str, Any]:
        ref = value.get("$ref") or next((a["$ref"] for a in value.get("anyOf", [])
                                        if "$ref" in a), None)
        return schema["$defs"][ref.rsplit("/", 1)[1]] if ref else value

    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]) == set(ExperimentConfig.model_fields)
    assert schema["required"] == ["models"]
    reader = node(schema["properties"]["reader"])["properties"]
    assert reader["rating_type"]["enum"] == ["implicit", "explicit"]
    assert reader["rating_type"]["default"] == "implicit"
    assert reader["rating_type"]["description"].startswith("'implicit' (every interaction")
    model = node(schema["properties"]["models"]["additionalProperties"])
    assert set(model["properties"]) == {"optimization", "early_stopping", "meta"}
    optimization = node(model["properties"]["optimization"])["properties"]
    assert optimization["strategy"]["enum"] == ["grid", "random", "hopt", "optuna", "bohb"]
    json.dumps(schema)


def test_config_module_does_not_import_torch() -> None:
    code = ("import sys, warprec.config, warprec.custom_modules, warprec.output; "
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- run folder


def test_run_folders_are_new_and_never_reused(tmp_path: Path) -> None:
    first = RunFolder.create(tmp_path, "data")
    second = RunFolder.create(tmp_path, "data")
    assert first.path != second.path
    assert first.path.parent == second.path.parent == tmp_path / "data"


def test_output_folder_must_be_empty_or_absent(tmp_path: Path) -> None:
    with RunFolder.create(tmp_path, "d", tmp_path / "new") as folder:
        assert folder.path == tmp_path / "new"
        with pytest.raises(ConfigError, match="another warprec run is writing there"):
            RunFolder.create(tmp_path, "d", tmp_path / "new")  # claimed until closed
    RunFolder.create(tmp_path, "d", tmp_path / "new").close()  # still empty: accepted
    (tmp_path / "new" / "results.json").write_text("{}")
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        RunFolder.create(tmp_path, "d", tmp_path / "new")
    assert (tmp_path / "new" / "results.json").read_text() == "{}"


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path, "d", tmp_path / "run")
    folder.write_json("results.json", {"models": [1]})
    with pytest.raises(KeyboardInterrupt), folder.open_atomic("results.json") as handle:
        handle.write('{"models": [')
        raise KeyboardInterrupt
    assert json.loads((folder.path / "results.json").read_text()) == {"models": [1]}
    folder.close()
    assert sorted(p.name for p in folder.path.iterdir()) == ["results.json"]


def test_write_json_turns_nan_into_null_and_numpy_into_numbers(tmp_path: Path) -> None:
    import numpy as np

    folder = RunFolder.create(tmp_path, "d", tmp_path / "run")
    folder.write_json("r.json", {"x": float("nan"), "y": [float("inf"), 1.0],
                                 "z": np.float32(0.5), "n": np.int64(3)})
    assert json.loads((folder.path / "r.json").read_text()) == {"x": None, "y": [None, 1.0],
                                                                "z": 0.5, "n": 3}


def test_results_table_rows_and_failed_models() -> None:
    models = [{"model": "EASE", "status": "ok", "test": {"nDCG@10": 0.25, "Recall@10": 0.5}},
              {"model": "BPR", "status": "failed", "test": None}]
    header, rows = results_rows(models)
    assert header == ["model", "nDCG@10", "Recall@10"]
    assert rows == [["EASE", "0.2500", "0.5000"], ["BPR", "failed", "failed"]]
    assert format_table(header, rows).splitlines()[1] == "EASE    0.2500     0.5000"


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="Ray is installed")
def test_ray_backend_without_ray_names_the_extra() -> None:
    with pytest.raises(ConfigError, match=r"general\.backend: 'ray' needs Ray Tune, which is "
                                          r"not installed; pip install 'warprec-core\[ray\]'"):
        load_config(with_key("general.backend", "ray"))
