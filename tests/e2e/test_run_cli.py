"""``warprec run`` and ``warprec config`` end to end: the examples, exit statuses and the
one-line errors of bad configs and data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from cli_runner import run_cli
from warprec.cli import main
from warprec.experiment import trials

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SMALL = {"n_users": 60, "n_items": 40, "n_interactions": 700}




def small(config: dict[str, Any]) -> dict[str, Any]:
    """An example config on tiny data with short training, for the test budget."""
    if config["reader"].get("dataset") == "synthetic":
        config["reader"]["dataset_params"] = dict(SMALL)
    for params in config["models"].values():
        if "epochs" in params:
            params["epochs"] = 2
    return config


@pytest.fixture
def example(tmp_path: Path):
    """Copy an example (and what sits beside it) into tmp, shrunk; return the config path."""

    def make(relative: str) -> Path:
        source = EXAMPLES / relative
        folder = tmp_path / "example"
        shutil.copytree(source.parent, folder)
        target = folder / source.name
        shrunk = small(yaml.safe_load(source.read_text()))
        target.write_text(yaml.safe_dump(shrunk, sort_keys=False))
        return target

    return make


def test_quickstart_runs_and_prints_the_table(capsys, example, tmp_path: Path) -> None:
    config = example("quickstart.yaml")
    code, out, err = run_cli(capsys, "run", str(config), "--output", str(tmp_path / "run"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "nDCG@10", "nDCG@20"]
    assert [line.split()[0] for line in lines[1:]] == ["EASE", "BPR"]
    assert "[2/2] BPR" in err and f"Results written to {tmp_path / 'run'}" in err
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [m["status"] for m in data["models"]] == ["ok", "ok"]


@pytest.mark.parametrize("name", ["grid_search.yaml", "random_search.yaml", "presplit.yaml"])
def test_examples_run(capsys, example, tmp_path: Path, name: str) -> None:
    config = example(name)
    code, out, err = run_cli(capsys, "run", str(config), "-q",
                         "-o", str(tmp_path / "run"))
    assert code == 0, err
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["status"] == "complete"
    assert all(m["status"] == "ok" for m in data["models"])
    assert out.splitlines()[0].startswith("model")


def cli_process(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process: the guide's model names are also registered by other
    tests of this session, and a user's run starts from a clean registry."""
    command = [sys.executable, "-c", "from warprec.cli import main; main()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["custom_modules/script.yaml", "custom_modules/package.yaml"])
def test_custom_module_examples_resolve_beside_the_config(example, tmp_path: Path,
                                                          name: str) -> None:
    config = example(name)
    # Run from tmp_path, not the config's folder: the modules resolve against the config.
    done = cli_process(tmp_path, "run", str(config.relative_to(tmp_path)), "-q",
                       "-o", "run", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ["MyEASE", "MyBPR"]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "complete"


def test_seed_and_device_options_override_the_config(capsys, example, tmp_path: Path) -> None:
    config = example("presplit.yaml")
    code, _, err = run_cli(capsys, "run", str(config), "-q", "--seed", "5", "--device", "cpu",
                       "-o", str(tmp_path / "run"))
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["general"]["seed"] == 5 and saved["general"]["device"] == "cpu"


def test_config_check_and_schema(capsys, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("reader: {dataset: synthetic, reading_method: local}\n"
                    "splitter: {validation_splitting: {strategy: random_holdout, ratio: 0.1}}\n"
                    "models: {EASE: {l2: [1, 10, 100]}, Pop: {}}\n")
    code, out, err = run_cli(capsys, "config", "check", str(path))
    assert code == 0
    assert out.strip() == f"{path}: OK (EASE: 3 trials, Pop: 1 trial)"
    assert err.strip() == ("Warning: reader.reading_method: WarpRec key not used by this "
                           "version, ignored")
    assert not (tmp_path / "runs").exists()
    code, out, _ = run_cli(capsys, "config", "schema")
    assert code == 0 and json.loads(out)["title"] == "WarpRec experiment configuration"


def test_every_example_passes_config_check(capsys) -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        code, _, err = run_cli(capsys, "config", "check", str(path))
        assert code == 0, f"{path}: {err}"
    # The custom-module examples run, so are checked, in their own processes (above).
    assert len(sorted(EXAMPLES.glob("custom_modules/*.yaml"))) == 2


# --------------------------------------------------------------------- bad configs: exit 2


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def base_yaml(**sections: str) -> str:
    parts = {"reader": "{dataset: synthetic, dataset_params: {n_users: 60, n_items: 40, "
                       "n_interactions: 700}}",
             "models": "{EASE: {l2: 10.0}}"}
    parts.update(sections)
    return "".join(f"{k}: {v}\n" for k, v in parts.items() if v)


BAD = [
    ("missing file", None, "config file"),
    ("yaml syntax", "models: {EASE: [1, 2\n", "invalid YAML at line 2"),
    ("not a mapping", "- EASE\n", "expected a mapping of sections"),
    ("unknown section", base_yaml(modles="{}"), "modles: unknown key (did you mean 'models'?)"),
    ("unsupported warprec key", base_yaml(training="{negative_sampling: popularity}"),
     "training: this WarpRec key is not supported by this version"),
    ("bad choice", base_yaml(reader="{dataset: synthetic, rating_type: binary}"),
     "reader.rating_type: got 'binary' (str); expected one of 'implicit', 'explicit'"),
    ("no data source", base_yaml(reader="{}"), "reader.local_path: missing"),
    ("data file absent", base_yaml(reader="{local_path: absent.tsv}"),
     "reader.local_path: 'absent.tsv' not found"),
    ("missing column", base_yaml(reader="{local_path: no_item.tsv}"),
     "no_item.tsv: missing column 'item_id'"),
    ("bad rating", base_yaml(reader="{local_path: bad_rating.tsv, rating_type: explicit}"),
     "bad_rating.tsv, line 3: column 'rating' has 'five', expected a number"),
    ("unknown dataset option", base_yaml(reader="{dataset: synthetic, dataset_params: "
                                                "{n_userz: 5}}"),
     "reader.dataset_params: got an unexpected keyword argument 'n_userz'"),
    ("unknown filter", base_yaml(filtering="{KCoore: {k: 2}}"),
     "filtering.KCoore: unknown filter 'KCoore'; did you mean 'KCore'"),
    ("bad filter option", base_yaml(filtering="{KCore: {kk: 2}}"),
     "filtering.KCore: got an unexpected keyword argument 'kk'"),
    ("splitter needs ratio", base_yaml(splitter="{test_splitting: {strategy: random_holdout}}"),
     "splitter.test_splitting.ratio: missing for strategy 'random_holdout'"),
    ("unknown model", base_yaml(models="{EAZE: {}}"),
     "models.EAZE: unknown model 'EAZE'; did you mean 'EASE'"),
    ("unknown hyperparameter", base_yaml(models="{EASE: {l3: 1}}"),
     "models.EASE.l3: unknown hyperparameter of EASE (did you mean 'l2'?)"),
    ("bad hyperparameter value", base_yaml(models="{EASE: {dtype: float16}}"),
     "models.EASE.dtype: got 'float16' (str); expected one of 'float32', 'float64'"),
    ("bad distribution", base_yaml(models="{EASE: {l2: [loguniform, 0, 10]}}"),
     "models.EASE.l2: got ['loguniform', 0, 10] (list); expected a lower bound > 0"),
    ("unsupported search", base_yaml(models="{EASE: {l2: [1, 2], optimization: "
                                            "{scheduler: pbt}}}"),
     "models.EASE.optimization.scheduler: 'pbt' is not supported by this version"),
    ("early stopping without patience", base_yaml(models="{EASE: {early_stopping: "
                                                         "{monitor: loss}}}"),
     "models.EASE.early_stopping.patience: missing; expected an integer >= 1"),
    ("unknown metric", base_yaml(evaluation="{metrics: [nDGC]}"),
     "evaluation.metrics[0]: unknown metric 'nDGC'; did you mean 'nDCG'"),
    ("validation metric not computed", base_yaml(evaluation="{top_k: 5, validation_metric: "
                                                            "nDCG@10}"),
     "evaluation.validation_metric: 'nDCG@10' is not computed; expected one of nDCG@5"),
    ("sampled-only metric", base_yaml(evaluation="{metrics: [PairwiseAUC]}"),
     "evaluation: metric 'PairwiseAUC' ranks positives against sampled negatives"),
    ("negative seed", base_yaml(general="{seed: -1}"),
     "general.seed: got -1 (int); expected a number >= 0"),
    ("missing custom script", base_yaml(general="{custom_modules: [mine.py]}"),
     "general.custom_modules[0]: script 'mine.py' not found"),
    ("old splitter layout", base_yaml(splitter="{strategy: temporal_holdout, test_ratio: 0.2}"),
     "splitter.strategy: WarpRec's old flat splitter layout is not supported"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_with_one_line(capsys, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, name: str,
                                          text: str | None, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no_item.tsv").write_text("user_id\trating\n1\t5\n")
    (tmp_path / "bad_rating.tsv").write_text("user_id\titem_id\trating\n1\t1\t4\n1\t2\tfive\n")
    path = tmp_path / "missing.yaml" if text is None else write(tmp_path, "c.yaml", text)
    code, out, err = run_cli(capsys, "run", str(path), "--quiet", "-o", str(tmp_path / "run"))
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    assert out == ""


def test_enough_bad_configs() -> None:
    assert len(BAD) >= 20


def test_model_of_a_disabled_plugin_says_so(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None) -> None:
    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "warprec-models-neural")
    path = write(tmp_path, "c.yaml", base_yaml(models="{BPR: {}}"))
    code, _, err = run_cli(capsys, "run", str(path))
    assert code == 2
    assert err.startswith("Error: models.BPR: unknown model 'BPR'")
    assert err.endswith(" It is provided by the plugin warprec-models-neural, which is "
                        "installed but disabled (WARPREC_DISABLE_PLUGINS).\n")
    assert err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_config_error(capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", base_yaml(general="{device: cuda}"))
    code, _, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("Error: general.device: 'cuda' requested but CUDA is not available")
    assert not (tmp_path / "run").exists()


def test_output_not_empty_exits_2(capsys, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.json").write_text("{}")
    path = write(tmp_path, "c.yaml", base_yaml())
    code, _, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "run"))
    assert code == 2 and "exists and is not an empty folder" in err
    assert os.listdir(tmp_path / "run") == ["old.json"]


# ------------------------------------------------------------ unexpected failures, Ctrl-C


def failing_fit(exception: BaseException):
    real = trials.fit_model

    def fit(plan: Any, *args: Any, **kwargs: Any) -> Any:
        if plan.name == "Pop":
            raise exception
        return real(plan, *args, **kwargs)

    return fit


def test_unexpected_failure_exits_1_and_keeps_finished_models(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trials, "fit_model", failing_fit(ZeroDivisionError("oops")))
    path = write(tmp_path, "c.yaml", base_yaml(models="{EASE: {l2: 10.0}, Pop: {}}"))
    code, _, err = run_cli(capsys, "run", str(path), "-q", "-o", str(tmp_path / "run"))
    assert code == 1
    assert err.splitlines()[-1] == ("Error: unexpected ZeroDivisionError: oops (run with "
                                    "--debug for the traceback)")
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [m["status"] for m in data["models"]] == ["ok", "failed"]


def test_debug_shows_the_traceback(capsys, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trials, "fit_model", failing_fit(ZeroDivisionError("oops")))
    path = write(tmp_path, "c.yaml", base_yaml(models="{EASE: {l2: 10.0}, Pop: {}}"))
    with pytest.raises(ZeroDivisionError, match="oops"):
        main(["--debug", "run", str(path), "-q", "-o", str(tmp_path / "run")])


def test_ctrl_c_exits_130_and_keeps_finished_models(capsys, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trials, "fit_model", failing_fit(KeyboardInterrupt()))
    path = write(tmp_path, "c.yaml", base_yaml(models="{EASE: {l2: 10.0}, Pop: {}}"))
    code, _, err = run_cli(capsys, "run", str(path), "-q", "-o", str(tmp_path / "run"))
    assert code == 130 and err.rstrip().endswith("Aborted (Ctrl-C).")
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["status"] == "interrupted"
    assert [m["status"] for m in data["models"]] == ["ok", "interrupted"]
