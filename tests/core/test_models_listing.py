"""``warprec models list`` reads hyperparameters from the plugins' cached manifests (no
torch, no model module imported) and says exactly what the imported class says;
``warprec models show``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from annotated_types import Ge
from warprec.recommenders.hyperparameters import describe_hyperparameters
from warprec.utils.registry import model_registry

from tests.cli_runner import run_cli

MODEL_PACKAGES = ("warprec_models_classic", "warprec_models_neural")


@pytest.mark.parametrize("args", [["models", "list", "--json"], ["models", "list"]])
def test_models_list_imports_neither_torch_nor_model_modules(args: list[str]) -> None:
    code = (
        "import sys, json; from warprec.cli import main\n"
        f"try: main({args!r})\n"
        "except SystemExit: pass\n"
        "bad = [m for m in sys.modules if m in ('torch', 'numpy') or (m.startswith("
        f"{MODEL_PACKAGES!r}) and not m.endswith(('.plugin', '_classic', '_neural')))]\n"
        "print('IMPORTED', bad, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "IMPORTED []" in out.stderr
    if "--json" in args:
        models = {m["name"]: m for m in json.loads(out.stdout)}
        assert models["EASE"]["params"]["l2"]["type"] == "float >= 0, <= 1000000000000"
        sasrec = describe_hyperparameters(model_registry.get_class("SASRec"))
        assert models["SASRec"]["params"]["batch_size"] == sasrec["batch_size"]
    else:
        assert "EASE" in out.stdout and "l2: float >= 0" in out.stdout


def test_models_show_imports_neither_torch_nor_the_model() -> None:
    code = (
        "import sys; from warprec.cli import main\n"
        "try: main(['models', 'show', 'EASE', '--json'])\n"
        "except SystemExit: pass\n"
        "print('IMPORTED', [m for m in sys.modules if m == 'torch' or m.startswith("
        "'warprec_models_classic.ease')], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "IMPORTED []" in out.stderr
    shown = json.loads(out.stdout)
    assert shown["doc"].startswith("Embarrassingly Shallow Autoencoder")
    assert shown["params"]["l2"]["type"].startswith("float")


def test_the_listing_says_what_the_imported_class_says() -> None:
    # One introspection: the manifest is describe_hyperparameters run in a child process.
    listed = {m["name"]: m for m in json.loads(subprocess.run(
        [sys.executable, "-c", "from warprec.cli import main; main(['models', 'list', "
         "'--json'])"], capture_output=True, text=True, check=True).stdout)}
    for entry in [e for e in model_registry.entries() if e.source.kind == "plugin"]:
        expected = json.loads(json.dumps(describe_hyperparameters(entry.load()), default=repr))
        assert listed[entry.name]["params"] == expected, entry.name


EDITABLE_MODEL = """
from typing import Annotated
from annotated_types import Ge
from warprec.recommenders.base_recommender import ItemSimRecommender


class Editable(ItemSimRecommender):
    alpha: Annotated[float, Ge(0)] = {default}
    \"\"\"Made up.\"\"\"
"""


def test_an_editable_plugin_is_read_again_when_its_files_change(fake_dist, tmp_path: Path
                                                                ) -> None:
    from warprec import plugins

    project = tmp_path / "site"
    info = fake_dist("acme-editable", """
        from warprec import hookimpl

        @hookimpl
        def warprec_register_models(register):
            register("Editable", "acme_editable_models:Editable")
        """)
    (info / "direct_url.json").write_text(json.dumps(
        {"url": project.as_uri(), "dir_info": {"editable": True}}))
    model = project / "acme_editable_models.py"
    model.write_text(EDITABLE_MODEL.format(default=0.5))

    def listed_default() -> float:
        with plugins.host.isolated():
            entry = model_registry.entry("Editable")
            return plugins.host.description("models", entry)["params"]["alpha"]["default"]

    assert listed_default() == 0.5
    assert listed_default() == 0.5 and "acme_editable_models" not in sys.modules
    model.write_text(EDITABLE_MODEL.format(default=0.75))
    assert listed_default() == 0.75


def test_the_listing_reads_a_cache_it_wrote(fresh_plugins: None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from warprec import plugins

    monkeypatch.setenv("WARPREC_CACHE_DIR", str(tmp_path / "cache"))
    with plugins.host.isolated():
        plugins.sync()
        assert {m.cached for m in plugins.host.manifests.values()} == {False}
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "plugins").iterdir())
    with plugins.host.isolated():
        plugins.sync()
        assert {m.cached for m in plugins.host.manifests.values()} == {True}


def test_models_show_prints_domains_defaults_and_docs(capsys) -> None:
    code, out, _ = run_cli(capsys, "models", "show", "ItemKNN")
    assert code == 0
    assert out.startswith("ItemKNN (warprec-models-classic ")
    line = next(line for line in out.splitlines() if line.startswith("k "))
    assert "int >= 1, <= 2147483647" in line and "100" in line and "Neighbours kept" in line
    code, out, _ = run_cli(capsys, "models", "show", "ease", "--json")
    shown = json.loads(out)
    from warprec_models_classic.ease import EASE

    assert shown["name"] == "EASE" and shown["params"]["l2"]["default"] == EASE.l2
    code, _, err = run_cli(capsys, "models", "show", "EASY")
    assert code == 2 and err.startswith("Error: unknown model 'EASY'") and "EASE" in err


def test_a_model_registered_in_process_is_described_from_the_class(capsys,
                                                                   fresh_plugins: None) -> None:
    from warprec.recommenders.base_recommender import ItemSimRecommender

    class InMemory(ItemSimRecommender):  # no source file to read: described by the class
        alpha: Annotated[float, Ge(0)] = 0.5
        """Made up."""

    model_registry.register(InMemory)
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    listed = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    assert listed["InMemory"]["params"] == {"alpha": {"type": "float >= 0", "default": 0.5,
                                                      "doc": "Made up."}}
