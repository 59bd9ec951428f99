"""The experiment pipeline from Python: outputs, search, refit, k-fold, interruption,
failures, determinism, checkpoints, recommendations and saved splits."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from warprec import run_experiment
from warprec.config import load_config
from warprec.errors import ConfigError, DataError
from warprec.evaluation.significance_report import adjust
from warprec.experiment import ExperimentResults, check_config, trials
from warprec.utils.threads import default_threads

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
METRICS = ["nDCG@5", "Recall@5"]


def tiny(**models: Any) -> dict[str, Any]:
    return {
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 60, "n_items": 40, "n_interactions": 700}},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
                     "validation_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": models or {"EASE": {"l2": [1.0, 50.0]}, "Pop": {}},
        "evaluation": {"top_k": [5], "metrics": ["nDCG", "Recall"]},
    }


@pytest.fixture
def guide_models(fresh_plugins: None) -> Iterator[str]:
    """The guide's MyEASE/MyBPR script, imported afresh into a fresh plugin host; the
    module and the registries are back as they were afterwards. Configs name its models
    qualified (``my_models:MyBPR``): other tests may register the guide's names too."""
    script = str(EXAMPLES / "custom_modules" / "my_models.py")
    imported = sys.modules.pop("my_models", None)
    yield script
    sys.modules.pop("my_models", None)
    if imported is not None:
        sys.modules["my_models"] = imported


def run(config: dict[str, Any], out: Path, **kwargs: Any) -> ExperimentResults:
    return run_experiment(copy.deepcopy(config), out, quiet=True, **kwargs)


def test_outputs_of_a_run(tmp_path: Path) -> None:
    results = run(tiny(), tmp_path / "run")
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "results.json",
                                                      "results.tsv", "run.log"]
    data = json.loads((out / "results.json").read_text())
    assert data == results.data
    assert data["status"] == "complete"
    assert data["data"]["n_users"] == 60 and data["data"]["train"] > data["data"]["test"] > 0
    ease, pop = data["models"]
    assert set(ease) >= {"model", "params", "validation", "test", "fit_seconds", "trials"}
    assert ease["model"] == "EASE" and len(ease["trials"]) == 2
    best = max(ease["trials"], key=lambda t: t["validation"]["nDCG@5"])
    assert ease["params"] == best["params"]
    assert ease["validation"] == best["validation"]
    assert set(ease["test"]) == set(METRICS)
    assert pop["params"] == {} and pop["test"]["nDCG@5"] >= 0
    tsv = pd.read_csv(out / "results.tsv", sep="\t")
    assert list(tsv.columns) == ["model", *METRICS]
    assert tsv["model"].tolist() == ["EASE", "Pop"]
    assert results.table().splitlines()[0].split() == ["model", *METRICS]
    assert "[1/2] EASE: 2 trial(s)" in (out / "run.log").read_text()


def test_resolved_config_has_defaults_and_versions_and_reloads(tmp_path: Path) -> None:
    run(tiny(), tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["versions"]["warprec-core"] == "0.3.0"
    assert saved["versions"]["models"]["EASE"] == "warprec-models-classic 0.3.0"
    assert saved["splitter"]["test_splitting"]["seed"] == 42
    assert saved["evaluation"]["validation_metric"] == "nDCG@5"
    assert saved["models"]["EASE"]["dtype"] == "float32"  # a default, recorded as run
    assert load_config(saved).data["models"] == saved["models"]


def test_default_run_folder_is_new_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.chdir(tmp_path)
    config = tiny(Pop={})
    first = run(config, None).path
    second = run(config, None).path
    assert first != second
    assert first.parent == second.parent == tmp_path / "runs" / "synthetic"
    assert (first / "results.json").is_file() and (second / "results.json").is_file()


def test_output_that_is_not_empty_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        run(tiny(), out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_same_config_and_seed_give_identical_metrics(tmp_path: Path, guide_models: str
                                                     ) -> None:
    config = tiny(EASE={"l2": ["loguniform", 1, 100], "optimization": {
                      "strategy": "random", "num_samples": 2}},
                  **{"my_models:MyBPR": {"embedding_size": 8, "batch_size": 128, "epochs": 2,
                                         "learning_rate": 0.01}})
    config["general"] = {"custom_modules": [guide_models]}
    first = run(config, tmp_path / "a").data
    second = run(config, tmp_path / "b").data
    for a, b in zip(first["models"], second["models"], strict=True):
        assert a["params"] == b["params"]
        assert a["test"] == b["test"] and a["validation"] == b["validation"]
        assert [t["validation"] for t in a["trials"]] == [t["validation"] for t in b["trials"]]
    other = run(config, tmp_path / "c", overrides={"general.seed": 7}).data
    assert other["models"][1]["test"] != first["models"][1]["test"]


def test_interrupted_run_keeps_the_finished_model(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_fit = trials.fit_model

    def fit(plan: Any, *args: Any, **kwargs: Any) -> Any:
        if plan.name == "Pop":
            raise KeyboardInterrupt
        return real_fit(plan, *args, **kwargs)

    monkeypatch.setattr(trials, "fit_model", fit)
    with pytest.raises(KeyboardInterrupt):
        run(tiny(EASE={"l2": 10.0}, Pop={}, ItemKNN={"k": 5}), tmp_path / "run")
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["status"] == "interrupted"
    assert [m["model"] for m in data["models"]] == ["EASE", "Pop"]
    assert data["models"][0]["status"] == "ok" and set(data["models"][0]["test"]) == set(METRICS)
    assert data["models"][1]["status"] == "interrupted" and data["models"][1]["test"] is None
    tsv = (tmp_path / "run" / "results.tsv").read_text().splitlines()
    assert tsv[1].startswith("EASE\t") and tsv[2].startswith("Pop\tinterrupted")


def test_failing_model_is_reported_and_the_others_still_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fit = trials.fit_model

    def fit(plan: Any, *args: Any, **kwargs: Any) -> Any:
        if plan.name == "Pop":
            raise RuntimeError("boom")
        return real_fit(plan, *args, **kwargs)

    monkeypatch.setattr(trials, "fit_model", fit)
    config = tiny(EASE={"l2": 10.0}, Pop={}, ItemKNN={"k": 5})
    with pytest.raises(RuntimeError, match="boom"):
        run(config, tmp_path / "a")
    results = run(config, tmp_path / "b", raise_on_failure=False)
    assert results.data["status"] == "failed"
    assert [m["status"] for m in results.models] == ["ok", "failed", "ok"]
    assert results["Pop"]["error"] == "RuntimeError: boom"
    assert json.loads((tmp_path / "b" / "results.json").read_text()) == results.data


def test_model_config_error_at_construction_names_the_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^models\.EASE\.dtype: got 'float16' \(str\); "
                                          r"expected one of 'float32', 'float64'$"):
        run(tiny(EASE={"dtype": "float16"}), tmp_path / "run")


def test_unknown_and_missing_hyperparameters_fail_before_any_data(tmp_path: Path,
                                                                  guide_models: str) -> None:
    with pytest.raises(ConfigError, match=r"models\.EASE\.l3: unknown hyperparameter of EASE "
                                          r"\(did you mean 'l2'\?\)"):
        run(tiny(EASE={"l3": 1.0}), tmp_path / "a")
    config = tiny(**{"my_models:MyBPR": {"embedding_size": 8}})
    config["general"] = {"custom_modules": [guide_models]}
    with pytest.raises(ConfigError, match=r"models\.my_models:MyBPR\.batch_size: missing"):
        run(config, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_load_from_refuses_a_search_space_but_not_a_list_hyperparameter() -> None:
    reader = {"dataset": "synthetic"}
    searched = {"reader": reader,
                "models": {"EASE": {"l2": [1, 2], "meta": {"load_from": "m.pt"}}}}
    with pytest.raises(ConfigError, match=r"^models\.EASE\.meta\.load_from: given with a "
                       r"search space of 2 trials"):  # fmt: skip
        check_config(searched)
    listed = {"reader": reader,
              "models": {"MultVAE": {"hidden_dims": [600, 200], "meta": {"load_from": "m.pt"}}}}
    assert len(check_config(listed).models["MultVAE"].trials) == 1


def test_search_without_validation_split_selects_on_test_as_warprec(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": [1.0, 10.0, 1000.0]})
    del config["splitter"]["validation_splitting"]
    entry = run(config, tmp_path / "run")["EASE"]
    assert entry["selected_on"] == "test" and entry["validation"] is None
    scores = [t["validation"]["nDCG@5"] for t in entry["trials"]]
    assert entry["test"]["nDCG@5"] == pytest.approx(max(scores))
    assert "picks its best trial on the test split" in (tmp_path / "run" / "run.log").read_text()
    plan = check_config(config, read_data=True)
    assert any("selected_on: test" in w for w in plan.warnings)


def test_validation_metric_must_be_an_evaluator_result(tmp_path: Path) -> None:
    config = tiny()
    config["evaluation"]["validation_metric"] = "Recall"
    with pytest.raises(ConfigError, match=r"models\.EASE\.optimization\.validation_metric: "
                                          "'Recall' is not an evaluation result; expected one "
                                          "of nDCG@5, Recall@5"):
        run(config, tmp_path / "run")


def test_refit_and_min_mode(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": [1.0, 50.0], "optimization": {
        "refit": True, "validation_metric": "Recall@5", "properties": {"mode": "min"}}})
    entry = run(config, tmp_path / "run").models[0]
    worst = min(entry["trials"], key=lambda t: t["validation"]["Recall@5"])
    assert entry["params"] == worst["params"]
    assert set(entry["test"]) == set(METRICS)


def test_k_fold_validation_averages_folds_and_refits(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": [1.0, 50.0]})
    config["splitter"]["validation_splitting"] = {"strategy": "k_fold_cross_validation",
                                                  "folds": 3}
    entry = run(config, tmp_path / "run").models[0]
    assert len(entry["trials"]) == 2 and entry["validation"] is not None
    assert "3-fold cross validation" in (tmp_path / "run" / "run.log").read_text()


def test_saved_split_reads_back_as_pre_split_data(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0})
    config["writer"] = {"save_split": True}
    first = run(config, tmp_path / "a")
    split = tmp_path / "a" / "split"
    assert sorted(p.name for p in split.iterdir()) == ["test.tsv", "train.tsv",
                                                       "validation.tsv"]
    train = pd.read_csv(split / "train.tsv", sep="\t")
    assert list(train.columns) == ["user_id", "item_id", "rating", "timestamp"]
    presplit = {"reader": {"loading_strategy": "split", "split": {"local_path": str(split)}},
                "models": {"EASE": {"l2": 10.0}}, "evaluation": config["evaluation"]}
    second = run(presplit, tmp_path / "b")
    assert second.models[0]["test"] == first.models[0]["test"]


def test_recommendations_and_checkpoint_round_trip(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0, "meta": {"save_recs": True, "save_model": True}})
    config["writer"] = {"recommendation": {"k": 3}}
    first = run(config, tmp_path / "a")
    recs = pd.read_csv(tmp_path / "a" / "recommendations" / "EASE.tsv", sep="\t")
    assert list(recs.columns) == ["user_id", "item_id", "rating"]  # WarpRec's format
    assert recs.groupby("user_id").size().eq(3).all()
    assert recs["user_id"].nunique() == 60
    assert first.models[0]["checkpoint"] == "checkpoints/EASE.pt"
    loaded = tiny(EASE={"meta": {"load_from": str(tmp_path / "a" / "checkpoints" / "EASE.pt")}})
    second = run(loaded, tmp_path / "b")
    assert second.models[0]["test"] == first.models[0]["test"]
    assert second.models[0]["params"]["l2"] == 10.0
    loaded["models"]["EASE"]["l2"] = 512.0  # the config disagrees with the checkpoint
    with pytest.raises(ConfigError, match=r"^models\.EASE\.l2: the config sets 512\.0 but the "
                                          r"checkpoint .* was trained with 10\.0"):
        run(loaded, tmp_path / "c")


def test_recommendations_exclude_training_items(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0, "meta": {"save_recs": True}})
    config["writer"] = {"save_split": True, "recommendation": {"k": 5}}
    run(config, tmp_path / "run")
    recs = pd.read_csv(tmp_path / "run" / "recommendations" / "EASE.tsv", sep="\t")
    seen = pd.concat([pd.read_csv(tmp_path / "run" / "split" / f"{p}.tsv", sep="\t")
                      for p in ("train", "validation")])
    overlap = recs.merge(seen, on=["user_id", "item_id"])
    assert overlap.empty


def test_significance_between_models(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0}, Pop={}, Random={})
    config["evaluation"]["stat_significance"] = {
        "paired_t_test": True, "kruskal_test": True,
        "corrections": {"bonferroni": True, "fdr": True}}
    rows = run(config, tmp_path / "run").data["significance"]
    assert len(rows) == 3 * 2 * 2  # model pairs x metrics x tests
    row = rows[0]
    assert {row["model_a"], row["model_b"]} == {"EASE", "Pop"}
    assert set(row["p_adjusted"]) == {"bonferroni", "fdr"}
    assert row["p_adjusted"]["bonferroni"] >= row["p_value"]
    assert set(row["significant"]) == {"raw", "bonferroni", "fdr"}


def test_early_stopping_of_an_iterative_model(tmp_path: Path, guide_models: str) -> None:
    config = tiny(**{"my_models:MyBPR": {"embedding_size": 8, "batch_size": 128, "epochs": 3,
                                         "learning_rate": 0.01,
                                         "early_stopping": {"monitor": "score",
                                                            "patience": 1}}})
    config["general"] = {"custom_modules": [guide_models]}
    entry = run(config, tmp_path / "run").models[0]
    assert entry["status"] == "ok" and entry["test"]["nDCG@5"] >= 0
    assert "MyBPR epoch 1/3" in (tmp_path / "run" / "run.log").read_text()


def test_refit_after_a_loss_monitor_trains_the_epochs_it_kept(
        tmp_path: Path, guide_models: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from warprec.recommenders.trainer import Trainer

    # A training loss that rises every epoch (as a VAE's with a growing KL weight): the
    # lowest is epoch 1's, but the trainer keeps the last weights, so the refit must
    # train as many epochs as the selection trial ran, not 1.
    real_epoch = Trainer._run_epoch
    monkeypatch.setattr(Trainer, "_run_epoch", lambda self, epoch, *a: (
        real_epoch(self, epoch, *a) + 10.0 * epoch))
    real_fit = trials.fit_model
    refits: list[Any] = []

    def fit(plan: Any, *args: Any, **kwargs: Any) -> Any:
        model, info = real_fit(plan, *args, **kwargs)
        if kwargs["split"] == "train_validation":
            refits.append((kwargs["epochs"], info["epochs"]))
        return model, info

    monkeypatch.setattr(trials, "fit_model", fit)
    config = tiny(**{"my_models:MyBPR": {"embedding_size": 8, "batch_size": 128, "epochs": 3,
                                         "learning_rate": 0.01,
                                         "early_stopping": {"monitor": "loss", "patience": 5},
                                         "optimization": {"refit": True}}})
    config["general"] = {"custom_modules": [guide_models]}
    assert run(config, tmp_path / "run").models[0]["status"] == "ok"
    assert refits == [(3, 3)]


def test_filters_with_warprec_names_and_explicit_ratings(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0})
    config["reader"]["rating_type"] = "explicit"
    config["filtering"] = {"MinRating": {"min_rating": 2}, "UserMin": {"min_interactions": 3}}
    run(config, tmp_path / "run")
    log = (tmp_path / "run" / "run.log").read_text()
    assert "Rows dropped: filter_MinRating" in log
    assert log.index("Data: bundled dataset") < log.index("Run folder:")


def test_bad_filter_parameters_name_the_filter(tmp_path: Path) -> None:
    config = tiny(Pop={})
    config["filtering"] = {"KCore": {"kk": 2}}
    with pytest.raises(ConfigError, match=r"filtering\.KCore: got an unexpected keyword "
                                          "argument 'kk'"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_bad_filter_and_dataset_values_name_the_config_key(tmp_path: Path) -> None:
    config = tiny(Pop={})
    config["filtering"] = {"IterativeKCore": {"min_interactions": 0}}
    with pytest.raises(ConfigError, match=r"^filtering\.IterativeKCore: KCore\.k must be a "
                                          "positive integer, got 0$"):
        run(config, tmp_path / "a")
    config = tiny(Pop={})
    config["reader"]["dataset_params"]["n_users"] = 0
    with pytest.raises(ConfigError, match=r"^reader\.dataset_params: synthetic: n_users must "
                                          "be a positive integer, got 0$"):
        run(config, tmp_path / "b")


def test_bad_dataset_params_and_missing_file(tmp_path: Path) -> None:
    config = tiny(Pop={})
    config["reader"]["dataset_params"]["n_userz"] = 3
    with pytest.raises(ConfigError, match=r"reader\.dataset_params: .*'n_userz'"):
        run(config, tmp_path / "a")
    config = tiny(Pop={})
    config["reader"] = {"local_path": "nowhere.tsv"}
    with pytest.raises(DataError, match=r"reader\.local_path: 'nowhere.tsv' not found"):
        run(config, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_data_path_relative_to_the_config_folder(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    frame = pd.DataFrame({"u": [1, 1, 1, 2, 2, 2, 3, 3, 3] * 2,
                          "i": [1, 2, 3, 2, 3, 4, 1, 3, 4, 4, 5, 6, 1, 5, 6, 2, 5, 6]})
    frame.to_csv(folder / "data" / "inter.csv", index=False)
    config = {"reader": {"local_path": "data/inter.csv",
                         "labels": {"user_id_label": "u", "item_id_label": "i"}},
              "models": {"Pop": {}}, "evaluation": {"top_k": 2, "metrics": ["HitRate"]}}
    (folder / "c.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    results = run_experiment("project/c.yaml", tmp_path / "run", quiet=True)
    assert results.models[0]["status"] == "ok"
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["writer"]["dataset_name"] == "inter"


def test_sampled_evaluation_with_auc(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0})
    config["evaluation"] = {"top_k": [5], "metrics": ["nDCG", "AUC"], "strategy": "sampled",
                            "num_negatives": 10, "validation_metric": "nDCG@5"}
    entry = run(config, tmp_path / "run").models[0]
    assert set(entry["test"]) == {"nDCG@5", "AUC"}
    assert 0.5 < entry["test"]["AUC"] <= 1.0


@pytest.mark.parametrize(("correction", "expected"), [
    ("bonferroni", [0.04, 0.16, 0.12, 1.0]),
    ("holm_bonferroni", [0.04, 0.09, 0.09, 0.5]),
    ("fdr", [0.04, 0.16 / 3, 0.16 / 3, 0.5]),
])
def test_multiple_testing_corrections(correction: str, expected: list[float]) -> None:
    p_values = np.array([0.01, 0.04, 0.03, 0.5])  # sorted: 0.01, 0.03, 0.04, 0.5
    assert adjust(p_values, correction) == pytest.approx(np.array(expected))


def test_corrections_skip_missing_p_values() -> None:
    adjusted = adjust(np.array([0.02, np.nan, 0.03]), "bonferroni")
    assert adjusted[0] == pytest.approx(0.04) and np.isnan(adjusted[1])


def test_training_options_of_a_closed_form_model_warn(tmp_path: Path) -> None:
    config = tiny(EASE={"l2": 10.0, "early_stopping": {"patience": 2},
                        "optimization": {"optimizer": {"name": "SGD"}}})
    checked = check_config(config)
    assert len(checked.models["EASE"].trials) == 1
    assert checked.warnings == [
        "models.EASE.early_stopping: EASE is not trained iteratively, ignored",
        "models.EASE.optimization.optimizer: EASE is not trained iteratively, ignored"]


def test_file_format_and_split_extension_are_checked(tmp_path: Path) -> None:
    (tmp_path / "data.tsv").write_text("user_id\titem_id\n1\t1\n1\t2\n2\t1\n2\t2\n")
    config = {"reader": {"local_path": str(tmp_path / "data.tsv"), "file_format": "parquet"},
              "models": {"Pop": {}}}
    with pytest.raises(DataError, match=r"reader\.file_format: 'parquet' but data\.tsv has the "
                                        r"extension \.tsv; expected \.parquet or \.pq"):
        run(config, tmp_path / "a")
    split = tmp_path / "split"
    split.mkdir()
    for part in ("train", "test"):
        (split / f"{part}.csv").write_text("user_id,item_id\n1,1\n")
    config = {"reader": {"loading_strategy": "split", "split": {"local_path": str(split)}},
              "models": {"Pop": {}}}
    with pytest.raises(DataError, match=r"reader\.split\.ext: no train\.tsv in .* \(found: "
                                        r"train\.csv\)"):
        run(config, tmp_path / "b")


def test_ray_backend_gives_the_local_results(tmp_path: Path, guide_models: str) -> None:
    pytest.importorskip("ray")  # optional extra warprec-core[ray]: skipped where absent
    config = tiny(EASE={"l2": [1.0, 50.0]},
                  **{"my_models:MyBPR": {"embedding_size": [4, 8], "batch_size": 128,
                                         "epochs": 2, "learning_rate": 0.01}})
    config["general"] = {"custom_modules": [guide_models]}  # imported by each Ray worker
    local = run(config, tmp_path / "local").models
    config["general"]["backend"] = "ray"
    on_ray = run(config, tmp_path / "ray").models
    for a, b in zip(on_ray, local, strict=True):
        assert [t["params"] for t in a["trials"]] == [t["params"] for t in b["trials"]]
        for ta, tb in zip(a["trials"], b["trials"], strict=True):
            assert ta["validation"] == pytest.approx(tb["validation"], rel=1e-5)
        assert a["params"] == b["params"]
        assert a["test"] == pytest.approx(b["test"], rel=1e-5)
    assert "EASE: 2 trials on Ray Tune" in (tmp_path / "ray" / "run.log").read_text()


def test_sequential_models_score_test_after_the_validation_items(
        tmp_path: Path, fresh_plugins: None) -> None:
    import torch
    from warprec.recommenders.base_recommender import Recommender
    from warprec.utils.registry import model_registry

    class LastItem(Recommender):
        """Recommends the item after each user's last history item (a chain)."""

        def __init__(self, params: Any, info: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(params, info, *args, **kwargs)
            self.last = torch.zeros(self.n_users, dtype=torch.long)

        def set_history(self, sessions: Any) -> None:
            ends = sessions.indptr[1:] - 1
            self.last = torch.as_tensor(sessions.items[ends])

        def predict(self, user_indices: Any, *args: Any, item_indices: Any = None,
                    **kwargs: Any) -> Any:
            scores = torch.zeros(len(user_indices), self.n_items)
            nxt = (self.last[user_indices] + 1).clamp(max=self.n_items - 1)
            scores[torch.arange(len(user_indices)), nxt] = 1.0
            return scores if item_indices is None else scores.gather(1, item_indices)

    model_registry.register(LastItem, name="LastItem")
    rows = [(u, i, i) for u in range(20) for i in range(u % 5, u % 5 + 8)]
    (tmp_path / "chain.tsv").write_text(
        "user_id\titem_id\ttimestamp\n" + "".join(f"{u}\t{i}\t{t}\n" for u, i, t in rows))
    config = {"reader": {"local_path": str(tmp_path / "chain.tsv")},
              "splitter": {"test_splitting": {"strategy": "temporal_leave_k_out", "k": 1},
                           "validation_splitting": {"strategy": "temporal_leave_k_out",
                                                    "k": 1}},
              "models": {"LastItem": {}},
              "evaluation": {"top_k": [1], "metrics": ["HitRate"]}}
    entry = run(config, tmp_path / "run")["LastItem"]
    assert entry["test"]["HitRate@1"] == 1.0  # the item after the validation item


def test_general_threads_bounds_the_run_and_is_restored(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    seen: list[int] = []
    real_fit = trials.fit_model

    def fit(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(trials, "fit_model", fit)
    before = torch.get_num_threads()
    config = tiny(EASE={"l2": 10.0})
    config["general"] = {"threads": 2}
    data = run(config, tmp_path / "a").data
    two = min(2, default_threads())  # never more than the CPUs
    assert seen == [two] and data["threads"] == two
    assert torch.get_num_threads() == before
    monkeypatch.setenv("WARPREC_THREADS", "3")
    del config["general"]
    assert run(config, tmp_path / "b").data["threads"] == min(3, default_threads())
    monkeypatch.setenv("WARPREC_THREADS", "many")
    with pytest.raises(ConfigError, match=r"^WARPREC_THREADS: got 'many'; expected an integer "
                                          r"from 1 to 4096$"):
        run(config, tmp_path / "c")
    assert not (tmp_path / "c").exists()
