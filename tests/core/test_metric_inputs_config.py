"""WarpRec's metric inputs from the config: complex_metrics, propensity, reader.clustering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from warprec import run_experiment
from warprec.data.synthetic import synthetic
from warprec.errors import ConfigError
from warprec.experiment import check_config


def config(tmp_path: Path, **evaluation: object) -> dict:
    frame = synthetic(n_users=40, n_items=30, n_interactions=500, seed=1)
    frame.to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    users = np.unique(frame["user_id"])
    items = np.unique(frame["item_id"])
    (tmp_path / "users.tsv").write_text(
        "user_id\tcluster\n" + "".join(f"{u}\t{1 + u % 2}\n" for u in users))
    (tmp_path / "items.tsv").write_text(
        "item_id\tcluster\n" + "".join(f"{i}\t{1 + (i < 10)}\n" for i in items))
    return {"reader": {"local_path": str(tmp_path / "data.tsv"),
                       "clustering": {"user_local_path": str(tmp_path / "users.tsv"),
                                      "item_local_path": str(tmp_path / "items.tsv")}},
            "models": {"Pop": {}},
            "evaluation": {"top_k": [5], "metrics": ["nDCG"], **evaluation}}


def test_groups_propensity_and_parameters_reach_the_metrics(tmp_path: Path) -> None:
    cfg = config(tmp_path, metrics=["nDCG", "REO", "IPSRecall"],
                 complex_metrics=[{"name": "F1", "params": {"beta": 2}}],
                 propensity={"estimator": "popularity"})
    test = run_experiment(cfg, tmp_path / "run", quiet=True)["Pop"]["test"]
    assert {"REO_IC1@5", "REO_IC2@5", "IPSRecall@5"} <= set(test)
    assert any(key.startswith("F1") for key in test)
    assert all(np.isfinite(v) for k, v in test.items() if not k.startswith("REO"))


def test_clustering_needs_a_file(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    cfg["reader"]["clustering"] = {"user_sep": ","}
    with pytest.raises(ConfigError, match=r"^reader\.clustering\.user_local_path: missing"):
        check_config(cfg)


def test_unknown_complex_metric_is_named(tmp_path: Path) -> None:
    cfg = config(tmp_path, complex_metrics=[{"name": "F2"}])
    with pytest.raises(ConfigError, match=r"^evaluation\.complex_metrics\[0\]\.name: unknown "
                                          r"metric 'F2'"):
        check_config(cfg)
