"""Configs written in WarpRec's documented style run here unchanged (tiny data): the
shared models under WarpRec's names and hyperparameters, custom_models, a grid search
without a validation split, and the searchers through `config check`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from warprec import run_experiment
from warprec.data.synthetic import synthetic
from warprec.experiment import check_config


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    frame = synthetic(n_users=40, n_items=30, n_interactions=500, seed=3)
    frame["timestamp"] = range(len(frame))
    path = tmp_path / "interactions.tsv"
    frame.to_csv(path, sep="\t", index=False)
    return path


def warprec_yaml(data: Path, models: str, splitter: str = "") -> dict:
    """WarpRec's layout: reader/splitter/models/evaluation as its docs write them."""
    return yaml.safe_load(f"""
reader:
  loading_strategy: dataset
  data_type: transaction
  reading_method: local
  local_path: {data}
  rating_type: explicit
  sep: "\\t"
  labels: {{user_id_label: user_id, item_id_label: item_id, rating_label: rating,
           timestamp_label: timestamp}}
splitter:
  test_splitting: {{strategy: temporal_leave_k_out, k: 1}}
{splitter}
models:
{models}
evaluation:
  top_k: [5]
  metrics: [nDCG, Recall]
  validation_metric: nDCG@5
general:
  device: cpu
""")


SHARED_MODELS = """
  MultiVAE: {intermediate_dim: 16, latent_dim: 8, corruption: 0.5, anneal_cap: 0.2,
             anneal_step: 2, epochs: 2, batch_size: 16, learning_rate: 0.001}
  RP3Beta: {k: 10, alpha: 1.0, beta: 0.5, normalize: true}
  SASRec: {embedding_size: 16, n_layers: 1, n_heads: 2, inner_size: 32, dropout_prob: 0.1,
           attn_dropout_prob: 0.1, reg_weight: 0.0, max_seq_len: 10, neg_samples: 0,
           epochs: 1, batch_size: 32, learning_rate: 0.001}
"""


def test_shared_models_with_warprecs_names(tmp_path: Path, data_file: Path) -> None:
    results = run_experiment(warprec_yaml(data_file, SHARED_MODELS), tmp_path / "run",
                             quiet=True)
    assert [m["model"] for m in results.models] == ["MultiVAE", "RP3Beta", "SASRec"]
    assert all(m["status"] == "ok" for m in results.models)


def test_grid_search_without_validation_selects_on_test(tmp_path: Path,
                                                        data_file: Path) -> None:
    config = warprec_yaml(data_file, "  EASE: {l2: [10, 100, 1000]}")
    entry = run_experiment(config, tmp_path / "run", quiet=True)["EASE"]
    assert entry["selected_on"] == "test" and len(entry["trials"]) == 3


def test_custom_models_is_warprecs_alias(data_file: Path, fresh_plugins: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    script = Path(__file__).parents[2] / "examples" / "custom_modules" / "my_models.py"
    config = warprec_yaml(data_file, "  my_models:MyEASE: {l2: 50}")
    config["general"]["custom_models"] = [str(script)]
    monkeypatch.delitem(sys.modules, "my_models", raising=False)  # imported afresh
    plan = check_config(config)
    assert any(w.startswith("general.custom_models: read as general.custom_modules")
               for w in plan.warnings)
    assert plan.models["my_models:MyEASE"].trials == [{"l2": 50.0}]


def test_hopt_with_asha_in_warprecs_style_is_planned(data_file: Path) -> None:
    pytest.importorskip("hyperopt")
    config = warprec_yaml(data_file, """
  LightGCN:
    optimization:
      strategy: hopt
      scheduler: asha
      num_samples: 20
      cpu_per_trial: 1
      properties: {mode: max, max_t: 10, grace_period: 2, reduction_factor: 2}
    embedding_size: [randint, 16, 64]
    learning_rate: [loguniform, 0.0001, 0.01]
    epochs: 10
""", splitter="  validation_splitting: {strategy: temporal_leave_k_out, k: 1}")
    plan = check_config(config)
    lightgcn = plan.models["LightGCN"]
    assert lightgcn.ray and lightgcn.searched and len(lightgcn.trials) == 20
