"""The released artefacts, used the way a user gets them.

Each package is built as an sdist; the sdist is unpacked where no checkout surrounds it
and the wheel is built from it (what PyPI users and ``python -m build`` do). The wheels
go into one fresh virtual environment (torch from ``constraints-dev.txt``: no download),
where the installed ``warprec`` lists the plugins, runs the quick start, generates a
plugin from the template it ships, and the generated package's CI commands pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["warprec-core", "warprec-models-classic", "warprec-models-neural"]
VERSION = "0.3.0"
TEMPLATE_IN_WHEEL = "warprec/_plugin_template/"

pytestmark = pytest.mark.slow


def sh(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            env=env)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def dist_name(package: str) -> str:
    return package.replace("-", "_")


@dataclass(frozen=True)
class Dists:
    sdists: dict[str, Path]
    wheels: dict[str, Path]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """Every package's sdist, and the wheel built from the unpacked sdist."""
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "build", "--no-isolation"]
    sdists, wheels = {}, {}
    for package in PACKAGES:
        sh(*build, "--sdist", "--outdir", out / "sdist", ROOT / package)
        (sdist,) = (out / "sdist").glob(f"{dist_name(package)}-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(out / "unpacked", filter="data")
        # The unpacked sdist has no ../plugin-template (or anything else) beside it.
        sh(*build, "--wheel", "--outdir", out / "wheel",
           out / "unpacked" / sdist.name.removesuffix(".tar.gz"))
        (wheel,) = (out / "wheel").glob(f"{dist_name(package)}-*.whl")
        sdists[package], wheels[package] = sdist, wheel
    return Dists(sdists, wheels)


def test_each_package_builds_a_versioned_sdist_and_wheel(dists: Dists) -> None:
    assert sorted(p.name for p in dists.sdists.values()) == [
        f"{dist_name(p)}-{VERSION}.tar.gz" for p in PACKAGES
    ]
    assert sorted(p.name for p in dists.wheels.values()) == [
        f"{dist_name(p)}-{VERSION}-py3-none-any.whl" for p in PACKAGES
    ]


def test_twine_check_passes(dists: Dists) -> None:
    files = [*dists.sdists.values(), *dists.wheels.values()]
    out = sh(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert out.count("PASSED") == 6, out


def template_files() -> set[str]:
    """The checkout's template files (what a release must carry), bytecode left out."""
    template = ROOT / "plugin-template"
    return {
        p.relative_to(template).as_posix()
        for p in template.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_core_sdist_and_wheel_carry_the_whole_template(dists: Dists) -> None:
    expected = template_files()
    assert {"cookiecutter.json", "hooks/pre_gen_project.py", "hooks/post_gen_project.py"} \
        <= expected
    sdist_prefix = f"{dist_name('warprec-core')}-{VERSION}/src/{TEMPLATE_IN_WHEEL}"
    with tarfile.open(dists.sdists["warprec-core"]) as archive:
        in_sdist = {n.removeprefix(sdist_prefix) for n in archive.getnames()
                    if n.startswith(sdist_prefix) and archive.getmember(n).isfile()}
    in_wheel = {n.removeprefix(TEMPLATE_IN_WHEEL)
                for n in zipfile.ZipFile(dists.wheels["warprec-core"]).namelist()
                if n.startswith(TEMPLATE_IN_WHEEL)}
    assert in_sdist == expected
    assert in_wheel == expected


def test_no_distribution_ships_bytecode(dists: Dists) -> None:
    for sdist in dists.sdists.values():
        with tarfile.open(sdist) as archive:
            names = archive.getnames()
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")], sdist.name
    for wheel in dists.wheels.values():
        names = zipfile.ZipFile(wheel).namelist()
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")], wheel.name


@dataclass(frozen=True)
class Venv:
    path: Path
    env: dict[str, str]
    neural_alone_versions: dict[str, str]
    neural_alone_listing: list[dict]
    listing: list[dict]
    listing_text: str

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name


@pytest.fixture(scope="module")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """One fresh virtual environment: the neural plugin alone first (it must pull the
    core), then the classic plugin and the core's template extra."""
    path = tmp_path_factory.mktemp("venv") / "venv"
    sh(sys.executable, "-m", "venv", path)
    # The checkout must not leak in: no PYTHONPATH, no pytest variables.
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("PYTEST_") and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join([str(path / "bin"), env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # toy sizes; the suite's workers share the cores
    python = path / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "-c", ROOT / "constraints-dev.txt", "--find-links", dists.wheels["warprec-core"].parent]
    sh(*pip, dists.wheels["warprec-models-neural"], env=env)
    versions = {p["name"]: p["version"] for p in json.loads(
        sh(python, "-m", "pip", "list", "--format=json", env=env))}
    alone = json.loads(sh(path / "bin" / "warprec", "plugins", "list", "--json", env=env))
    sh(*pip, dists.wheels["warprec-models-classic"], "warprec-core[template]", env=env)
    located = sh(python, "-c", "import warprec; print(warprec.__file__)", env=env, cwd=path)
    assert Path(located.strip()).is_relative_to(path), located  # not the checkout
    return Venv(
        path, env, versions, alone,
        json.loads(sh(path / "bin" / "warprec", "plugins", "list", "--json", env=env)),
        sh(path / "bin" / "warprec", "--strict", "plugins", "list", env=env),
    )


def test_neural_plugin_alone_pulls_core_and_is_listed(venv: Venv) -> None:
    assert venv.neural_alone_versions["warprec-core"] == VERSION
    assert "warprec-models-classic" not in venv.neural_alone_versions
    assert [(p["name"], p["status"], p["version"]) for p in venv.neural_alone_listing] == [
        ("warprec-models-neural", "ok", VERSION)
    ]
    from warprec_models_neural.plugin import MODELS

    assert venv.neural_alone_listing[0]["provides"]["models"] == list(MODELS)


def test_plugins_list_shows_both_official_plugins(venv: Venv) -> None:
    assert [(p["name"], p["status"], p["version"]) for p in venv.listing] == [
        ("warprec-models-classic", "ok", VERSION),
        ("warprec-models-neural", "ok", VERSION),
    ]
    rows = venv.listing_text.splitlines()
    assert rows[0].split() == ["plugin", "version", "status", "provides"]
    assert [row.split()[:3] for row in rows[1:]] == [
        ["warprec-models-classic", VERSION, "ok"], ["warprec-models-neural", VERSION, "ok"]
    ]


def readme_table() -> list[str]:
    """The quick-start results table the README promises."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model  nDCG@10"))
    return [line.split() for line in lines[start:start + 3]]


def test_quickstart_runs_from_the_installed_packages(venv: Venv, tmp_path: Path) -> None:
    out = tmp_path / "run"
    table = sh(venv.bin("warprec"), "run", ROOT / "examples" / "quickstart.yaml",
               "--output", out, env=venv.env, cwd=tmp_path)
    results = json.loads((out / "results.json").read_text())
    assert [(m["model"], m["status"]) for m in results["models"]] == [("EASE", "ok"),
                                                                       ("BPR", "ok")]
    # Seeded and deterministic on CPU: the README's numbers, from the released wheels.
    printed = [line.split() for line in table.splitlines()
               if line.split()[:1] in (["model"], ["EASE"], ["BPR"])]
    assert printed == readme_table()


@dataclass(frozen=True)
class Generated:
    path: Path
    bytecode: list[Path]  # __pycache__ folders and .pyc files right after generation


@pytest.fixture(scope="module")
def generated(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """A plain-kind plugin generated by the installed ``warprec plugins new``."""
    # pip compiled the installed template: its folders hold bytecode of template files.
    site_template = next(venv.path.glob("lib/python*/site-packages/warprec/_plugin_template"))
    assert list(site_template.rglob("__pycache__"))
    out = tmp_path_factory.mktemp("generated")
    created = sh(venv.bin("warprec"), "plugins", "new", "--no-input", "-o", out,
                 "--set", "model_kind=plain", "--set", "model_name=AcmeSVD", env=venv.env)
    project = out / "warprec-awesome-recommenders"
    assert created.splitlines()[0] == f"Created {project}"
    # Recorded now: running the package's tests later writes bytecode of its own.
    return Generated(project, [*project.rglob("__pycache__"), *project.rglob("*.pyc")])


def test_generated_package_carries_no_bytecode(generated: Generated) -> None:
    assert (generated.path / "src/warprec_awesome_recommenders/acme_svd.py").is_file()
    assert generated.bytecode == []


def workflow_scripts(workflow: Path) -> list[tuple[str, str]]:
    """``(job/step, script)`` of every ``run`` step, in order."""
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    return [(f"{job}/{step.get('name', step['run'].splitlines()[0])}", step["run"])
            for job, spec in jobs.items() for step in spec["steps"] if "run" in step]


def test_generated_ci_commands_pass_in_the_fresh_venv(venv: Venv, generated: Generated) -> None:
    # What GitHub runs, minus what only makes sense there: actions (checkout,
    # setup-python, artifacts) and upgrading the runner's pip. The torch line stays: the
    # venv's torch already satisfies it, so it needs no network.
    # A step whose every command an earlier step already ran (the release workflow's
    # build repeats CI's) is not run twice.
    ran, skipped, done = [], [], set()
    project = generated.path
    for workflow in sorted((project / ".github" / "workflows").glob("*.yml")):
        for name, script in workflow_scripts(workflow):
            kept = "\n".join(line for line in script.splitlines()
                             if "--upgrade pip" not in line)
            commands = {line.strip() for line in kept.splitlines() if line.strip()}
            if commands <= done:
                skipped.append(f"{workflow.name}:{name}")
                continue
            done |= commands
            env = {**venv.env, "GITHUB_REF_NAME": "v0.1.0"}
            result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", kept],
                                    cwd=project, env=env, capture_output=True, text=True)
            assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
            ran.append((f"{workflow.name}:{name}", result.stdout))
    assert [name for name, _ in ran] == [
        "ci.yml:test/Install (CPU build of torch, then the plugin with its test extra)",
        "ci.yml:test/Lint",
        "ci.yml:test/The plugin is discovered",
        "ci.yml:test/Tests (conformance kit included)",
        "ci.yml:build/python -m pip install build twine",
        "ci.yml:build/Build the sdist, then the wheel from the sdist",
        "ci.yml:build/twine check --strict dist/*",
        "release.yml:build/The tag matches the version and the changelog",
    ]
    assert skipped == [
        "release.yml:build/Build the sdist, then the wheel from the sdist, and check them"
    ]
    listed = dict(ran)["ci.yml:test/The plugin is discovered"]
    assert "warprec-awesome-recommenders" in listed
    assert (project / "dist" / "warprec_awesome_recommenders-0.1.0.tar.gz").is_file()
    assert (project / "dist" / "warprec_awesome_recommenders-0.1.0-py3-none-any.whl").is_file()
