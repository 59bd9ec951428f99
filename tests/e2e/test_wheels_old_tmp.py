"""Wheels of all three packages; the neural plugin installed alone into a fresh virtual
environment pulls warprec-core by itself and shows up in ``warprec plugins list``."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["warprec-core", "warprec-models-classic", "warprec-models-neural"]

pytestmark = pytest.mark.slow


def sh(*args: str | Path) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    for package in PACKAGES:
        sh(
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            out,
            ROOT / package,
        )
    return out


def test_each_package_builds_one_versioned_wheel(wheels: Path) -> None:
    names = sorted(p.name for p in wheels.glob("*.whl"))
    assert names == [
        "warprec_core-0.1.0-py3-none-any.whl",
        "warprec_models_classic-0.1.0-py3-none-any.whl",
        "warprec_models_neural-0.1.0-py3-none-any.whl",
    ]


def test_core_wheel_ships_the_plugin_template(wheels: Path) -> None:
    names = zipfile.ZipFile(wheels / "warprec_core-0.1.0-py3-none-any.whl").namelist()
    assert "warprec/_plugin_template/cookiecutter.json" in names
    assert "warprec/_plugin_template/hooks/pre_gen_project.py" in names


def test_neural_plugin_alone_pulls_core_and_is_listed(wheels: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv)
    pip = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    sh(*pip, "-c", ROOT / "constraints-dev.txt", "--find-links", wheels, "warprec-models-neural")
    installed = sh(venv / "bin" / "python", "-m", "pip", "list", "--format=json")
    versions = {p["name"]: p["version"] for p in json.loads(installed)}
    assert versions["warprec-core"] == "0.1.0"
    assert "warprec-models-classic" not in versions
    listing = json.loads(sh(venv / "bin" / "warprec", "plugins", "list", "--json"))
    assert [(p["name"], p["status"], p["version"]) for p in listing] == [
        ("warprec-models-neural", "ok", "0.1.0")
    ]
    assert listing[0]["provides"]["models"] == ["BPR", "MultVAE", "LightGCN", "SASRec"]
