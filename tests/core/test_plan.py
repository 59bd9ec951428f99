"""The plan: every mistake of a config is one line from ``config check`` and from
``warprec run`` before anything is written (the ``--output`` folder never appears)."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warprec.errors import ConfigError
from warprec.experiment import check_config, run_experiment
from warprec.recommenders.hyperparameters import MISSING, spec
from warprec.utils.registry import model_registry


def config_text(models: str, extra: str = "") -> str:
    return ("reader: {dataset: synthetic, dataset_params: {n_users: 40, n_items: 30,\n"
            "          n_interactions: 400}}\n"
            "evaluation: {top_k: [5], metrics: [nDCG]}\n"
            "models:\n" + textwrap.indent(models, "  ") + "\n" + extra)


# (models block or whole-file extra, expected one-line error)
MISTAKES = [
    ("EASE: {l2: -5}", "", "models.EASE.l2: got -5 (int); expected a number >= 0"),
    ("EASE: {l2: .inf}", "", "models.EASE.l2: got inf (float); expected a finite number"),
    ("BPR: {embedding_size: 0}", "", "models.BPR.embedding_size: got 0 (int); expected a "
                                     "number > 0"),
    ("ItemKNN: {similarity: dot}", "", "models.ItemKNN.similarity: got 'dot' (str); expected "
                                       "one of 'cosine', 'jaccard', 'asymmetric'"),
    ("EASE: {l2: [10, -1]}", "", "models.EASE.l2: got -1 (int); expected a number >= 0"),
    ("EASE: {l2: [uniform, -5, 10]}", "", "models.EASE.l2: got -5.0 (float); expected a "
                                          "number >= 0 (a bound of the distribution"),
    ("EASE: {}", "general: {seed: 10000000000000000000000000000000000000000}\n",
     "general.seed: got 10000000000000000000000000000000000000000 (int); expected a number "
     "<= 4294967295"),
    ("EASE: {}", "models: {Pop: {}}\n", "key 'models' given twice in one mapping (lines 4 "
                                        "and 6); expected each key once"),
    ("EASE: {}", "evaluation: {}\n", "key 'evaluation' given twice"),
    ("EASE: {l2: 7, l2: 8}", "", "key 'l2' given twice in one mapping (lines 5 and 5)"),
    ("EASE: {l2: '7'}", "", "models.EASE.l2: got '7' (str); expected a number"),
    ("EASE: {l2: true}", "", "models.EASE.l2: got True (bool); expected a number"),
    ("BPR: {optimization: {optimizer: {name: RMSprop}}}", "",
     "models.BPR.optimization.optimizer.name: got 'RMSprop'; expected one of BPR honours "
     "Adam, Adagrad, SGD"),
    ("BPR: {optimization: {optimizer: {name: SGD, params: {momentum: 0.9}}}}", "",
     "models.BPR.optimization.optimizer.params.momentum: not an argument BPR applies to SGD"),
    ("LightGCN: {optimization: {optimizer: {name: Adamm}}}", "",
     "models.LightGCN.optimization.optimizer.name: got 'Adamm'; expected one of Adam, AdamW, "
     "SGD, Adagrad, RMSprop, SparseAdam (did you mean 'Adam'?)"),
    ("LightGCN: {optimization: {optimizer: {name: SGD, params: {momentun: 0.9}}}}", "",
     "models.LightGCN.optimization.optimizer.params.momentun: not an argument of SGD "
     "(did you mean 'momentum'?)"),
    ("LightGCN: {optimization: {lr_scheduler: {name: StepLRR}}}", "",
     "models.LightGCN.optimization.lr_scheduler.name: got 'StepLRR'; expected a class of "
     "torch.optim.lr_scheduler (did you mean 'StepLR'?)"),
    ("EASE: {l2: [1, 2, 3]}", "general: {max_trials: 2}\n",
     "models.EASE: the search space has 3 trials, more than general.max_trials (2)"),
    ("BPR: {embedding_size: 1000000000000000000000000000000}", "",
     "models.BPR.embedding_size: got 1000000000000000000000000000000 (int); expected a "
     "number <= "),
]


@pytest.mark.parametrize(("models", "extra", "message"), MISTAKES,
                         ids=[m for _, _, m in MISTAKES])
def test_config_check_and_run_refuse_before_writing(capsys, tmp_path: Path, models: str,
                                                    extra: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(config_text(models, extra))
    code, out, err = run_cli(capsys, "config", "check", str(path))
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1, err
    code, out, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "run"))
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_empty_metrics_is_one_line_not_a_crash(capsys, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("reader: {dataset: synthetic}\nevaluation: {metrics: []}\n"
                    "models: {EASE: {}}\n")
    code, _, err = run_cli(capsys, "config", "check", str(path))
    assert code == 2
    assert err == "Error: evaluation.metrics: got [] (list); expected a non-empty list\n"


def test_output_problems_are_found_by_the_plan(capsys, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(config_text("Pop: {}"))
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, "config", "check", str(path), "-o",
                           str(tmp_path / "file" / "run"))
    assert code == 2 and "is a file; expected a folder" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "full"))
    assert code == 2 and "exists and is not an empty folder" in err


def test_data_errors_leave_no_run_folder(capsys, tmp_path: Path) -> None:
    (tmp_path / "data.tsv").write_text("user_id\titem_id\n1\t2\n")
    path = tmp_path / "c.yaml"
    path.write_text("reader: {local_path: data.tsv}\nmodels: {EASE: {l2: [1, 2]}}\n"
                    "splitter: {test_splitting: {strategy: random_leave_k_out, k: 1}}\n")
    code, _, err = run_cli(capsys, "config", "check", str(path), "--data")
    assert code == 2 and "Error: " in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "run", str(path), "-o", str(tmp_path / "run"))
    assert code == 2 and not (tmp_path / "run").exists()


def test_defaults_and_providers_are_recorded(tmp_path: Path) -> None:
    config = yaml.safe_load(config_text("EASE: {}\nItemKNN: {k: 5}"))
    results = run_experiment(config, tmp_path / "run", quiet=True)
    ease = results["EASE"]
    from warprec_models_classic.ease import EASE

    assert ease["params"] == {"l2": EASE.l2, "dtype": "float32"}  # the defaults
    assert ease["provider"] == {"distribution": "warprec-models-classic", "version": "0.3.0"}
    from warprec_models_classic.knn import ItemKNN

    assert results["ItemKNN"]["params"] == {  # the given k, every other value the default
        "k": 5, "similarity": ItemKNN.similarity, "shrink": ItemKNN.shrink,
        "asymmetric_alpha": ItemKNN.asymmetric_alpha}
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["models"]["EASE"]["l2"] == EASE.l2
    assert saved["versions"]["models"]["ItemKNN"] == "warprec-models-classic 0.3.0"
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["models"][0]["params"] == ease["params"]


def test_a_plan_holds_validated_trials() -> None:
    plan = check_config(yaml.safe_load(config_text("EASE: {l2: [10, 20]}")))
    assert plan.models["EASE"].trials == [{"l2": 10.0, "dtype": "float32"},
                                          {"l2": 20.0, "dtype": "float32"}]


# ----------------------------------------------- every registered model, invalid values

def _invalid_values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values outside a hyperparameter's declared domain (or of the wrong type)."""
    import typing

    from annotated_types import Ge, Gt, Le, Lt

    optional = _allows_none(annotation)
    if optional:
        (annotation,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
    wrong = [[1.5], {"a": 1}, math.nan] + ([] if optional else [None])
    wrong_type = st.sampled_from(wrong + ([] if annotation is str else ["x"]))
    if typing.get_origin(annotation) is not typing.Annotated:
        return wrong_type
    base, *metadata = typing.get_args(annotation)
    outside = []
    for item in metadata:
        if isinstance(item, (Ge, Gt)):
            low = item.ge if isinstance(item, Ge) else item.gt
            strict = isinstance(item, Gt)
            outside.append(st.just(low) if strict else st.just(low - 1))
        if isinstance(item, (Le, Lt)):
            high = item.le if isinstance(item, Le) else item.lt
            outside.append(st.just(high) if isinstance(item, Lt) else st.just(high + 1))
    if base is float:
        outside.append(st.sampled_from([math.inf, -math.inf]))
    return st.one_of(*outside, wrong_type) if outside else wrong_type


def _allows_none(annotation: Any) -> bool:
    """Whether ``annotation`` is ``X | None`` (an optional hyperparameter takes null)."""
    import types
    import typing

    return (typing.get_origin(annotation) in (typing.Union, types.UnionType)
            and type(None) in typing.get_args(annotation))


def _model_names() -> list[str]:
    return [e.name for e in model_registry.entries() if e.source.kind == "plugin"]


@pytest.mark.parametrize("name", _model_names())
def test_invalid_hyperparameter_values_are_refused_with_their_path(name: str) -> None:
    cls = model_registry.get_class(name)
    domains = {n: hp.annotation for n, hp in spec(cls).items()}
    if not domains:
        pytest.skip(f"{name} has no hyperparameters")

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        hyperparameter = data.draw(st.sampled_from(sorted(domains)))
        value = data.draw(_invalid_values(domains[hyperparameter]))
        with pytest.raises(ConfigError) as info:
            cls.validate_params({hyperparameter: value}, path=f"models.{name}")
        required = [n for n, hp in spec(cls).items() if hp.default is MISSING]
        named = required[0] if required and hyperparameter != required[0] else hyperparameter
        assert str(info.value).startswith(f"models.{name}.{named}")
        assert "\n" not in str(info.value)

    check()
