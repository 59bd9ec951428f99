"""WarpRec's own context config (its test_context.yml, kept verbatim as
examples/frappe_context.yaml) runs unchanged with AFM, on Frappe-layout files this test
writes: tab-separated ``.csv`` parts with one 0/1 column per context value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from warprec import run_experiment
from warprec.data.synthetic import synthetic

CONFIG = Path(__file__).parents[2] / "examples" / "frappe_context.yaml"


def write_frappe_like(folder: Path, labels: list[str]) -> None:
    """train.csv/test.csv in Frappe's layout: one value of each context group per row."""
    frame = synthetic(n_users=60, n_items=150, n_interactions=3000, seed=3)
    rng = np.random.default_rng(3)
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(label.split("_")[0], []).append(label)
    for columns in groups.values():
        chosen = rng.integers(0, len(columns), len(frame))
        for index, column in enumerate(columns):
            frame[column] = (chosen == index).astype(int)
    last = rng.random(len(frame)) < 0.2
    folder.mkdir(parents=True)
    for name, part in (("train", frame[~last]), ("test", frame[last])):
        part.drop(columns="timestamp", errors="ignore").to_csv(folder / f"{name}.csv",
                                                               sep="\t", index=False)


def test_warprec_test_context_yml_runs_unchanged_with_afm(tmp_path: Path, monkeypatch) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    labels = config["reader"]["labels"]["context_labels"]
    monkeypatch.chdir(tmp_path)  # its paths are relative: data/frappe/, experiment/test/
    write_frappe_like(tmp_path / "data" / "frappe", labels)
    results = run_experiment(config, tmp_path / "run", quiet=True)
    (entry,) = results.models
    assert entry["model"] == "AFM" and entry["status"] == "ok", entry.get("error")
    for k in (10, 20, 50):
        assert 0.0 < entry["test"][f"HitRate@{k}"] <= 1.0
    assert entry["test"]["HitRate@10"] <= entry["test"]["HitRate@50"]
