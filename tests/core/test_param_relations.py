"""Relations between hyperparameters are checked where the plan runs them
(``Recommender.check_relations``): ``config check`` and ``run`` refuse such a config
with one line naming the keys, and nothing is written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_runner import run_cli
from warprec.errors import ConfigError
from warprec.utils.registry import model_registry


def config_text(models: str) -> str:
    return ("reader: {dataset: synthetic, dataset_params: {n_users: 40, n_items: 30,\n"
            "          n_interactions: 400}}\n"
            "evaluation: {top_k: [5], metrics: [nDCG]}\n"
            "models:\n" + textwrap.indent(models, "  ") + "\n")


# (models block, the one line the plan answers): the three configs of issue 22 that
# used to pass ``config check`` and fail in training, then one relation per model that
# has one.
RELATIONS = [
    ("SASRec: {n_heads: 3, embedding_size: 64}",
     "Error: models.SASRec: n_heads (3) must divide embedding_size (64); expected a "
     "divisor such as 2"),
    ("NeuMF: {mf_train: false, mlp_train: false}",
     "Error: models.NeuMF: mf_train and mlp_train are both false; expected at least one "
     "tower on"),
    ("BPR: {kernel: compiled, optimization: {optimizer: {name: Adam}}}",
     "Error: models.BPR: kernel: compiled applies its own per-sample rules (chosen by "
     "optimizer); optimization.optimizer 'Adam' cannot apply to it; expected no "
     "optimization.optimizer with kernel: compiled (or kernel: torch)"),
    ("BPR: {item_learning_rate: 0.01, optimization: {optimizer: {name: SGD}}}",
     "Error: models.BPR: item_learning_rate (0.01) is a step of BPR's own optimizer; with "
     "optimization.optimizer 'SGD' every row steps at learning_rate; expected no "
     "item_learning_rate"),
    ("gSASRec: {n_heads: 5}",
     "Error: models.gSASRec: n_heads (5) must divide embedding_size (64); expected a "
     "divisor such as 4"),
    ("BERT4Rec: {n_heads: 2, embedding_size: 9}",
     "Error: models.BERT4Rec: n_heads (2) must divide embedding_size (9); expected a "
     "divisor such as 1"),
    ("SASRec: {n_heads: [2, 3]}",  # a grid: every trial is checked
     "Error: models.SASRec: n_heads (3) must divide embedding_size (64)"),
]


@pytest.mark.parametrize(("models", "line"), RELATIONS, ids=[m for m, _ in RELATIONS])
def test_config_check_and_run_refuse_a_broken_relation(capsys, tmp_path: Path, models: str,
                                                       line: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(config_text(models))
    code, out, err = run_cli(capsys, "config", "check", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(line) and err.count("\n") == 1, err
    code, _, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "run"), "-q")
    assert code == 2 and err.startswith(line) and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # nothing written


@pytest.mark.parametrize("models", [
    "SASRec: {n_heads: 4, embedding_size: 64}",
    "NeuMF: {mf_train: false}",
    "BPR: {kernel: compiled}",
    "BPR: {optimization: {optimizer: {name: Adam}}}",
])
def test_the_related_values_that_hold_pass(capsys, tmp_path: Path, models: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(config_text(models))
    code, _, err = run_cli(capsys, "config", "check", str(path))
    assert code == 0, err


def test_the_constructor_applies_the_same_rule() -> None:
    neumf = model_registry.get_class("NeuMF")
    with pytest.raises(ConfigError, match=r"^NeuMF: mf_train and mlp_train are both false"):
        neumf({"mf_train": False, "mlp_train": False}, {"n_users": 3, "n_items": 4})
