"""docs/writing-models.md stays true: its complete example scripts load through
``general.custom_modules`` and pass the conformance kit, and its config snippet is a valid
config for them."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from warprec.experiment import check_config
from warprec.recommenders.base_recommender import IterativeRecommender, needs_interactions
from warprec.testing import check_model, toy_dataset
from warprec.utils.registry import model_registry

try:
    from warprec.custom_modules import import_custom_modules
except ImportError:  # before the config rewrite, the importer lived in warprec.config
    from warprec.config import import_custom_modules  # type: ignore[no-redef]

DOC = Path(__file__).parents[2] / "docs" / "writing-models.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language]


EXAMPLES = {
    match.group(1): code
    for code in blocks("python")
    if (match := re.match(r"# example: (\w+\.py)\n", code))
}
MODELS = {"simple_ease.py": "SimpleEASE", "pure_svd.py": "PureSVD",
          "pointwise_mf.py": "PointwiseMF"}


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example scripts written to a folder, as a user would save them."""
    folder = tmp_path_factory.mktemp("doc_examples")
    for name, code in EXAMPLES.items():
        (folder / name).write_text(code)
    yield folder
    for name in EXAMPLES:
        model_registry.remove_source(name.removesuffix(".py"))
        sys.modules.pop(name.removesuffix(".py"), None)


def test_the_doc_has_one_example_per_base_class() -> None:
    assert sorted(EXAMPLES) == sorted(MODELS)


@pytest.mark.parametrize("script", sorted(MODELS))
def test_example_loads_as_a_custom_module_and_keeps_the_contract(scripts: Path,
                                                                 script: str) -> None:
    (module,) = import_custom_modules([script], scripts)
    model_class = model_registry.get_class(f"{module}:{MODELS[script]}")
    iterative = issubclass(model_class, IterativeRecommender)
    report = check_model(model_class, {"epochs": 3} if iterative else {},
                         dataset=toy_dataset())
    passed = {r.name for r in report.with_status("passed")}
    assert {"constructs", "save_load", "deterministic", "sampled_matches_full"} <= passed
    assert iterative == ({"train_step_loss", "loss_decreases"} <= passed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stated by the class, not guessed from its signature
        assert needs_interactions(model_class) == (script != "pointwise_mf.py")


def test_config_snippet_is_valid_for_the_example(scripts: Path) -> None:
    (snippet,) = [code for code in blocks("yaml") if "PointwiseMF:" in code]
    config = {
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 50, "n_items": 30, "n_interactions": 400}},
        "general": {"custom_modules": [str(scripts / "pointwise_mf.py")]},
        **yaml.safe_load(snippet),
    }
    checked = check_config(config)
    # A (config, trials per model) pair before the plan rewrite, a Plan after it.
    trials = checked[1] if isinstance(checked, tuple) else {
        name: len(model.trials) for name, model in checked.models.items()}
    assert trials == {"PointwiseMF": 3}


def test_the_item_features_snippet_keeps_the_contract() -> None:
    (code,) = [code for code in blocks("python") if "class FeatureCosine" in code]
    namespace: dict = {}
    exec(compile(code, "writing-models.md", "exec"), namespace)  # the doc's own code
    report = check_model(namespace["FeatureCosine"], {}, dataset=toy_dataset())
    assert report.ok, str(report)
    assert {"constructs", "save_load", "sampled_matches_full"} <= {
        r.name for r in report.with_status("passed")}


def test_the_context_snippet_keeps_the_contract_with_and_without_context() -> None:
    (code,) = [code for code in blocks("python") if "class ContextMF" in code]
    namespace: dict = {}
    exec(compile(code, "writing-models.md", "exec"), namespace)  # the doc's own code
    model_class = namespace["ContextMF"]
    assert model_class.uses_context
    for dataset in (toy_dataset(context=True), toy_dataset()):
        report = check_model(model_class, {}, dataset=dataset)
        assert report.ok, str(report)
