"""``warprec plugins new``: the template through the CLI, and its one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_runner import run_cli


def test_creates_a_package_with_the_given_answers(capsys, tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path),
                       "--set", "model_kind=iterative", "--set", "model_name=AcmeMF",
                       "--set", "plugin_name=Acme")
    project = tmp_path / "warprec-acme"
    assert code == 0
    assert out.splitlines()[0] == f"Created {project}"
    model = (project / "src" / "warprec_acme" / "acme_mf.py").read_text()
    assert "class AcmeMF(IterativeRecommender):" in model


def test_invalid_answer_is_one_error_line_after_the_hooks_reason(capfd, tmp_path: Path) -> None:
    code, _, err = run_cli(capfd, "plugins", "new", "--no-input", "-o", str(tmp_path),
                       "--set", "model_name=My Model")
    assert code == 2
    lines = err.splitlines()
    assert "Error: model_name 'My Model' is not a Python identifier (letters, digits and '_', "\
           "not starting with a digit)" in lines
    assert lines[-1] == "Error: the template rejected the answers (see above)"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "model_name"], "Error: --set 'model_name': expected KEY=VALUE"),
        (["--set", "model_kind=deep"], "Error: cannot create the plugin: deep provided for "
                                       "choice variable model_kind"),
        (["--template", "/nowhere/template"], "Error: cannot create the plugin: A valid "
                                              'repository for "/nowhere/template" could not'),
    ],
)
def test_bad_options_are_one_error_line(capsys, tmp_path: Path, args: list[str],
                                        message: str) -> None:
    code, _, err = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path), *args)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1


def test_unknown_key_is_refused_with_the_valid_ones(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path),
                           "--set", "model_kind=plain", "--set", "modelname=Foo")
    assert code == 2
    assert err == ("Error: --set 'modelname': the template has no such question; did you "
                   "mean 'model_name'? (valid keys: plugin_name, project_slug, package_name, "
                   "model_name, model_kind, model_module, author, email, description, "
                   "version)\n")
    assert list(tmp_path.iterdir()) == []  # nothing generated


def test_creates_the_plain_kind(capsys, tmp_path: Path) -> None:
    code, _, _ = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path),
                         "--set", "model_kind=plain", "--set", "model_name=AcmeSVD")
    assert code == 0
    model = (tmp_path / "warprec-awesome-recommenders/src/warprec_awesome_recommenders"
             / "acme_svd.py").read_text()
    assert "class AcmeSVD(Recommender):" in model


def test_existing_folder_is_not_overwritten(capsys, tmp_path: Path) -> None:
    (tmp_path / "warprec-awesome-recommenders").mkdir()
    code, _, err = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path))
    assert code == 2
    folder = tmp_path / "warprec-awesome-recommenders"
    assert err == f'Error: cannot create the plugin: "{folder}" directory already exists\n'


def test_missing_cookiecutter_names_the_extra(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "cookiecutter.main", None)
    code, _, err = run_cli(capsys, "plugins", "new", "--no-input", "-o", str(tmp_path))
    assert code == 2
    assert err == ("Error: 'warprec plugins new' needs cookiecutter: "
                   "pip install 'warprec-core[template]'\n")
