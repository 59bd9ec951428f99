"""Generating packages from plugin-template/: names, files, and the hook's validation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[2] / "plugin-template"


def generate(output: Path, **answers: str) -> Path:
    """Render the template without prompting; returns the generated project folder."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers,
                             output_dir=str(output)))


def files_of(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())


KINDS = ["classic", "iterative", "plain", "features"]
BASES = {"classic": "ItemSimRecommender", "iterative": "IterativeRecommender",
         "plain": "Recommender", "features": "ItemSimRecommender"}


def test_the_kinds_offered_are_the_ones_tested() -> None:
    assert json.loads((TEMPLATE / "cookiecutter.json").read_text())["model_kind"] == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_default_names_and_file_list(tmp_path: Path, kind: str) -> None:
    project = generate(tmp_path, model_kind=kind)
    assert project.name == "warprec-awesome-recommenders"
    assert files_of(project) == [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        ".gitignore",
        "CHANGELOG.md",
        "LICENSE",
        "README.md",
        "examples/config.yaml",
        *(["examples/items.tsv"] if kind == "features" else []),
        "pyproject.toml",
        "src/warprec_awesome_recommenders/__init__.py",
        "src/warprec_awesome_recommenders/my_model.py",
        "src/warprec_awesome_recommenders/plugin.py",
        "tests/test_my_model.py",
        "tests/test_plugin.py",
    ]


@pytest.mark.parametrize(
    ("answers", "slug", "package", "module"),
    [
        ({"plugin_name": "Acme Graph Models", "model_name": "GraphSim"},
         "warprec-acme-graph-models", "warprec_acme_graph_models", "graph_sim"),
        ({"project_slug": "acme-recs", "model_name": "MyBPR2"},
         "acme-recs", "acme_recs", "my_bpr2"),
        ({"package_name": "acme", "model_name": "EASEPlus", "model_module": "ease_plus"},
         "warprec-awesome-recommenders", "acme", "ease_plus"),
    ],
)
def test_derived_names(
    tmp_path: Path, answers: dict[str, str], slug: str, package: str, module: str
) -> None:
    project = generate(tmp_path, **answers)
    model = answers["model_name"]
    assert project.name == slug
    assert (project / "src" / package / f"{module}.py").is_file()
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == slug
    assert meta["project"]["entry-points"]["warprec"] == {package: f"{package}.plugin"}
    assert "warprec-core>=0.3,<0.4" in meta["project"]["dependencies"]
    assert meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{package}"]
    plugin = (project / "src" / package / "plugin.py").read_text()
    assert f'"{model}": "{package}.{module}:{model}"' in plugin
    assert f"class {model}(" in (project / "src" / package / f"{module}.py").read_text()
    assert f"{model}: {{}}" in (project / "examples" / "config.yaml").read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_model_module_uses_the_chosen_base_class(tmp_path: Path, kind: str) -> None:
    project = generate(tmp_path, model_kind=kind)
    source = (project / "src/warprec_awesome_recommenders/my_model.py").read_text()
    assert f"class MyModel({BASES[kind]}):" in source
    # Only the features kind reads item features.
    assert ("needs_item_features = True" in source) == (kind == "features")
    for other in set(BASES.values()) - {BASES[kind]}:
        assert f"import {other}" not in source and f"({other})" not in source
    # Only the plain kind states it: the other bases already answer for it.
    assert ("needs_training_data = True" in source) == (kind == "plain")
    for generated in project.rglob("*"):
        if generated.is_file():
            text = generated.read_text()
            assert "{{" not in text.replace("${{", "") and "{%" not in text, generated
    compile(source, "my_model.py", "exec")


def test_bytecode_of_an_installed_template_is_not_copied(tmp_path: Path) -> None:
    # pip compiles the template's .py files when it installs warprec-core, leaving
    # __pycache__ folders inside it.
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(template)],
                   capture_output=True, check=False)
    assert list(template.rglob("__pycache__"))
    project = Path(cookiecutter(str(template), no_input=True, output_dir=str(tmp_path / "out")))
    assert (project / "src/warprec_awesome_recommenders/__init__.py").is_file()
    assert list(project.rglob("__pycache__")) == []
    assert list(project.rglob("*.pyc")) == []


def test_quotes_in_free_text_answers_stay_valid_toml(tmp_path: Path) -> None:
    project = generate(tmp_path, author='Ann "the Dev" O\'Neil', description='Say "hi"\\ok')
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["authors"][0]["name"] == 'Ann "the Dev" O\'Neil'
    assert meta["project"]["description"] == 'Say "hi"\\ok'


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "1acme"}, "package_name '1acme' is not a Python identifier"),
        ({"package_name": "acme-recs"}, "package_name 'acme-recs' is not a Python identifier"),
        ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
        ({"package_name": "Acme"}, "package_name 'Acme' must be lower case"),
        ({"model_name": "My Model"}, "model_name 'My Model' is not a Python identifier"),
        ({"model_name": "acme:Model"}, "model_name 'acme:Model' is not a Python identifier"),
        ({"model_module": "plugin"}, "model_module 'plugin' is taken by the hook module"),
        ({"project_slug": "-acme"}, "project_slug '-acme' is not a valid distribution name"),
        ({"version": "one"}, "version 'one' is not a PEP 440 version"),
    ],
)
def test_invalid_names_are_rejected_by_the_hook(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], message: str
) -> None:
    with pytest.raises(FailedHookException):
        generate(tmp_path, **answers)
    err = capfd.readouterr().err
    assert f"Error: {message}" in err
    assert list(tmp_path.iterdir()) == []  # nothing is left behind


def test_unknown_model_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="choices are"):
        generate(tmp_path, model_kind="deep")


def test_official_model_name_warns_about_the_clash(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path, model_name="EASE")
    err = capfd.readouterr().err
    assert "Warning: warprec-models-classic also provides a model named 'EASE'" in err
    assert "'warprec-awesome-recommenders:EASE'" in err


@pytest.mark.parametrize(
    ("tag", "code", "error"),
    [
        ("v0.1.0", 0, ""),
        ("v0.2.0", 1, "::error::tag v0.2.0, but pyproject.toml says version 0.1.0"),
    ],
)
def test_generated_release_workflow_checks_the_tag(tmp_path: Path, tag: str, code: int,
                                                   error: str) -> None:
    import yaml

    project = generate(tmp_path)
    workflow = yaml.safe_load((project / ".github/workflows/release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads `on` as True
    assert workflow["jobs"]["publish"]["permissions"] == {"id-token": "write"}
    (check,) = [s for s in workflow["jobs"]["build"]["steps"] if "tag matches" in s.get("name", "")]
    result = subprocess.run(
        ["bash", "-e", "-c", check["run"]], cwd=project, capture_output=True, text=True,
        env={"GITHUB_REF_NAME": tag, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert (result.returncode, result.stdout.strip()) == (code, error), result.stderr
