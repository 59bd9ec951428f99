"""``general.mlflow``: a run logged to a real local MLflow store (SQLite in tmp_path) and
read back from it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from warprec import run_experiment
from warprec.errors import ConfigError
from warprec.experiment import check_config
from warprec.reporting.tracking import metric_name

mlflow = pytest.importorskip("mlflow")


def config(store: str) -> dict:
    return {
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 50, "n_items": 30, "n_interactions": 600}},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
                     "validation_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": {"EASE": {"l2": [1.0, 50.0]},
                   "BPR": {"epochs": 2, "batch_size": 256, "embedding_size": 8}},
        "evaluation": {"top_k": [5], "metrics": ["nDCG", "Recall"]},
        "general": {"mlflow": {"tracking_uri": store, "experiment": "warprec-test"}},
    }


def test_run_is_logged_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root (./mlruns) goes here
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "run"
    run_experiment({**config(store), "evaluation": {"top_k": [5], "metrics": ["nDCG", "Recall"],
                                                    "save_per_user": True}}, out, quiet=True)
    results = json.loads((out / "results.json").read_text())
    entries = {m["model"]: m for m in results["models"]}

    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("warprec-test")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(runs) == 3
    parent = parents[0]
    assert parent.info.run_name == "run" and parent.info.status == "FINISHED"
    assert parent.data.params["data.n_users"] == str(results["data"]["n_users"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "results.tsv", "config.yaml", "run.log"} <= artifacts
    assert not any(name.startswith(".") for name in artifacts)
    per_user = {a.path for a in client.list_artifacts(parent.info.run_id, "per_user")}
    assert per_user == {"per_user/EASE.tsv", "per_user/BPR.tsv"}  # folders keep their place

    children = {r.info.run_name: r for r in runs if r is not parent}
    assert set(children) == {"EASE", "BPR"}
    for name, child in children.items():
        entry = entries[name]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params == {k: json.dumps(v) if not isinstance(v, str) else v
                                     for k, v in entry["params"].items()}
        for split in ("validation", "test"):
            for metric, value in entry[split].items():
                assert child.data.metrics[f"{split}/{metric_name(metric)}"] == \
                    pytest.approx(value)
    assert children["EASE"].data.params["l2"] in ("1.0", "50.0")
    assert metric_name("nDCG@5") == "nDCG/5"

    bpr = entries["BPR"]["history"]
    losses = client.get_metric_history(children["BPR"].info.run_id, "epoch/loss")
    losses = sorted(losses, key=lambda m: m.step)
    assert [m.step for m in losses] == [1, 2]
    assert [m.value for m in losses] == pytest.approx(bpr["loss"])
    tracked = client.get_metric_history(children["BPR"].info.run_id, "epoch/nDCG/5")
    assert sorted(m.step for m in tracked) == [1, 2]
    assert sorted(m.value for m in tracked) == pytest.approx(
        sorted(v["nDCG@5"] for v in bpr["validation"]))


def test_missing_mlflow_is_refused_before_anything_runs(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # A module set to None in sys.modules is how Python marks it unavailable.
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ConfigError, match=r"^general\.mlflow: needs mlflow.*"
                                          r"warprec-core\[mlflow\]"):
        check_config(config("sqlite:///x.db"), output=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_mlflow_section_is_closed() -> None:
    bad = config("sqlite:///x.db")
    bad["general"]["mlflow"]["experiments"] = "typo"
    with pytest.raises(ConfigError, match=r"general\.mlflow\.experiments: unknown key "
                                          r"\(did you mean 'experiment'\?\)"):
        check_config(bad)
