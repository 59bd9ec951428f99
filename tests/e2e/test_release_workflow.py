"""The monorepo's release workflow (.github/workflows/release.yml): one tag per package,
the tag checked against the package's version and changelog, that package alone built
(the wheel from the sdist) and published through a PyPI trusted publisher.

GitHub is out of reach here: the tag-checking step's script runs under bash, on
throw-away package folders.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
MEMBERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["warprec"]["workspace"][
    "members"]


def step(job: str, step_id: str | None = None, name_part: str | None = None) -> dict:
    for candidate in WORKFLOW["jobs"][job]["steps"]:
        if (step_id and candidate.get("id") == step_id) or (
                name_part and name_part in candidate.get("name", "")):
            return candidate
    raise AssertionError(f"no step {step_id or name_part!r} in job {job}")


def test_one_tag_pattern_per_package() -> None:
    # PyYAML reads the bare key `on` as True.
    assert WORKFLOW[True]["push"]["tags"] == [f"{member}-v*" for member in MEMBERS]
    assert set(WORKFLOW[True]) == {"push"}


def test_builds_only_the_tagged_package_and_the_wheel_from_its_sdist() -> None:
    script = step("build", name_part="Build the sdist")["run"]
    build = [line.strip() for line in script.splitlines() if "-m build" in line]
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist.
    assert build == ['python -m build --outdir dist "${{ steps.tag.outputs.package }}"']
    assert step("build", name_part="Check the distributions")["run"] == \
        "twine check --strict dist/*"


def test_publishes_through_a_trusted_publisher() -> None:
    publish = WORKFLOW["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert [s.get("uses") for s in publish["steps"]][-1] == "pypa/gh-action-pypi-publish@release/v1"
    assert WORKFLOW["permissions"] == {}  # nothing else may mint tokens
    assert "with" not in publish["steps"][-1]  # no password: OIDC only


def run_tag_check(tmp_path: Path, tag: str) -> tuple[int, str, str]:
    output = tmp_path / "github_output"
    output.write_text("")
    result = subprocess.run(
        ["bash", "-e", "-c", step("build", step_id="tag")["run"]], cwd=tmp_path,
        # `python` is the runner's Python 3.11 there, this environment's here.
        env={"GITHUB_REF_NAME": tag, "GITHUB_OUTPUT": str(output),
             "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        capture_output=True, text=True,
    )
    return result.returncode, result.stdout.strip(), output.read_text()


def package(tmp_path: Path, name: str, version: str, changelog: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "{version}"\n')
    (folder / "CHANGELOG.md").write_text(f"# Changelog\n\n{changelog}\n")


@pytest.mark.parametrize("name", MEMBERS)
def test_tag_of_a_released_version_names_the_package(tmp_path: Path, name: str) -> None:
    package(tmp_path, name, "0.2.0",
            "## [Unreleased]\n\n## [0.2.0] - 2025-03-01\n\n### Added\n- ...")
    code, out, github_output = run_tag_check(tmp_path, f"{name}-v0.2.0")
    assert code == 0, out
    assert github_output == f"package={name}\nversion=0.2.0\n"


@pytest.mark.parametrize("name", MEMBERS)
def test_tag_check_accepts_the_repository_changelog(tmp_path: Path, name: str) -> None:
    """Each package's own CHANGELOG.md passes the check for its declared version, once
    the release step of docs/releasing.md has dated a pending ``[Unreleased]`` entry."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "pyproject.toml").write_bytes((ROOT / name / "pyproject.toml").read_bytes())
    version = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / name / "CHANGELOG.md").read_text()
    if f"## [{version}] - " not in changelog:
        changelog = changelog.replace("## [Unreleased]", f"## [{version}] - 2026-12-06", 1)
    (folder / "CHANGELOG.md").write_text(changelog)
    code, out, github_output = run_tag_check(tmp_path, f"{name}-v{version}")
    assert code == 0, out
    assert github_output == f"package={name}\nversion={version}\n"


NOT_KEEP_A_CHANGELOG = ("::error::warprec-models-neural/CHANGELOG.md: '{}' should read "
                        "'## [0.2.0] - YYYY-MM-DD' (Keep a Changelog)")


@pytest.mark.parametrize(
    ("tag", "version", "changelog", "error"),
    [
        ("warprec-models-neural-v0.3.0", "0.2.0", "## [0.3.0] - 2025-03-01",
         "::error::tag warprec-models-neural-v0.3.0, but warprec-models-neural/pyproject.toml "
         "says version 0.2.0"),
        # The marker of the former format, and the same word in the new one.
        ("warprec-models-neural-v0.2.0", "0.2.0", "## 0.2.0 — unreleased",
         "::error::warprec-models-neural/CHANGELOG.md: '## 0.2.0 — unreleased' is still "
         "marked unreleased"),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [0.2.0] - Unreleased",
         "::error::warprec-models-neural/CHANGELOG.md: '## [0.2.0] - Unreleased' is still "
         "marked unreleased"),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [Unreleased]\n\n### Added\n- ...",
         "::error::warprec-models-neural/CHANGELOG.md has no '## [0.2.0] - YYYY-MM-DD' entry"),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [0.2.01] - 2025-03-01",
         "::error::warprec-models-neural/CHANGELOG.md has no '## [0.2.0] - YYYY-MM-DD' entry"),
        # Released, but not in Keep a Changelog's format.
        ("warprec-models-neural-v0.2.0", "0.2.0", "## 0.2.0 — 2025-03-01",
         NOT_KEEP_A_CHANGELOG.format("## 0.2.0 — 2025-03-01")),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [0.2.0]",
         NOT_KEEP_A_CHANGELOG.format("## [0.2.0]")),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [0.2.0] - 2025-3-1",
         NOT_KEEP_A_CHANGELOG.format("## [0.2.0] - 2025-3-1")),
        ("warprec-models-neural-v0.2.0", "0.2.0", "## [0.2.0] - 2025-02-30",
         NOT_KEEP_A_CHANGELOG.format("## [0.2.0] - 2025-02-30")),
        ("warprec-models-deep-v0.2.0", "0.2.0", "## [0.2.0] - 2025-03-01",
         "::error::tag warprec-models-deep-v0.2.0: expected <package>-v<version> for "
         "warprec-core, warprec-models-classic or warprec-models-neural"),
    ],
)
def test_tag_check_refuses_with_one_error_line(
    tmp_path: Path, tag: str, version: str, changelog: str, error: str
) -> None:
    package(tmp_path, "warprec-models-neural", version, changelog)
    code, out, github_output = run_tag_check(tmp_path, tag)
    assert code == 1
    assert out == error
    assert github_output == ""  # nothing for the build step to use
