"""Packages generated from plugin-template/, built and installed: their own tests pass,
WarpRec lists them, and a config that uses their models with defaults runs.

The packages are installed with ``pip --target`` into a temporary folder put on
``PYTHONPATH`` of subprocesses, so the shared virtual environment is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[2] / "plugin-template"
WARPREC = Path(sys.executable).with_name("warprec")


@dataclass(frozen=True)
class Generated:
    kind: str
    slug: str
    package: str
    model: str
    path: Path


ANSWERS = [
    {"model_kind": "classic"},
    {"model_kind": "iterative", "plugin_name": "Acme Factors", "model_name": "AcmeMF"},
    {"model_kind": "plain", "plugin_name": "Acme SVD", "model_name": "AcmeSVD"},
    {"model_kind": "features", "plugin_name": "Acme Content", "model_name": "AcmeContent"},
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Generated], dict[str, str]]:
    """The four kinds generated, built and installed into one folder; the env to use it."""
    root = tmp_path_factory.mktemp("plugins")
    projects = []
    for answers in ANSWERS:
        path = Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers,
                                 output_dir=str(root)))
        slug = path.name
        model = answers.get("model_name", "MyModel")
        projects.append(Generated(answers["model_kind"], slug, slug.replace("-", "_"), model,
                                  path))
    site = root / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site)]
    run_ok([*pip, *(str(p.path) for p in projects)], os.environ.copy())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    # Toy-sized tensors: one thread each avoids oversubscribing the cores the two
    # concurrent suites (and pytest-xdist workers) share.
    env["OMP_NUM_THREADS"] = "1"
    return projects, env


def run_ok(command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_generated_packages_pass_their_own_tests(installed) -> None:
    projects, env = installed
    # The suites at once: they are independent, and mostly wait on torch start-up.
    runs = [
        # (hypothesis, installed here for the core's tests, is no business of the plugins)
        subprocess.Popen([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                          "-p", "no:hypothesispytest"],
                         cwd=p.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
        for p in projects
    ]
    outputs = [run.communicate()[0] for run in runs]
    for project, run, output in zip(projects, runs, outputs, strict=True):
        assert run.returncode == 0, f"{project.slug} tests failed:\n{output}"
        # The kit ran every check on both parameter sets of the generated test class.
        kit = [line for line in output.splitlines() if "Conformance::test_" in line]
        assert len(kit) == 2 * 12, output
        passed = [line for line in kit if " PASSED" in line]
        assert len(passed) >= 2 * (11 if project.kind == "iterative" else 9), output


def test_generated_plugins_are_listed_ok(installed) -> None:
    projects, env = installed
    listing = {p["name"]: p for p in json.loads(
        run_ok([str(WARPREC), "--strict", "plugins", "list", "--json"], env))}
    for project in projects:
        info = listing[project.slug]
        assert info["status"] == "ok" and info["error"] is None
        assert info["version"] == "0.1.0"
        assert info["entry_point"] == f"{project.package} = {project.package}.plugin"
        assert info["provides"] == {"models": [project.model]}


def test_config_using_the_generated_models_runs(installed, tmp_path: Path) -> None:
    # `{}`: every hyperparameter has a default.
    projects, env = installed
    # The features kind's model reads item features: its example side file describes
    # the synthetic items.
    (features,) = [p for p in projects if p.kind == "features"]
    lines = [
        "reader:",
        "  dataset: synthetic",
        "  dataset_params: {n_users: 120, n_items: 60, n_interactions: 1800}",
        f"  side: {{local_path: {features.path / 'examples' / 'items.tsv'}}}",
        "evaluation:",
        "  top_k: [10]",
        "  metrics: [nDCG, Recall]",
        "models:",
        *(f"  {p.model}: {{}}" for p in projects),
    ]
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    table = run_ok([str(WARPREC), "run", str(config), "--output", str(out), "--quiet"], env)
    results = json.loads((out / "results.json").read_text())
    by_model = {m["model"]: m for m in results["models"]}
    for project in projects:
        assert project.model in table
        entry = by_model[project.model]
        assert entry["status"] == "ok", entry
        assert entry["test"]["nDCG@10"] > 0.0


@pytest.mark.parametrize("kind", ["classic", "features"])
def test_example_config_of_the_generated_package_is_valid(installed, kind: str) -> None:
    projects, env = installed
    (project,) = [p for p in projects if p.kind == kind]
    out = run_ok([str(WARPREC), "config", "check", "examples/config.yaml"], env, cwd=project.path)
    assert out.strip() == f"examples/config.yaml: OK ({project.model}: 1 trial)"
