"""The documentation stands on its own: no file links outside the repository into the
development workspace, relative links in the docs resolve, and the package READMEs
(rendered on PyPI, where no repository is around) use absolute links only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PACKAGES = ["warprec-core", "warprec-models-classic", "warprec-models-neural"]
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = ["../" + "shared", "shared/" + "DESIGN", "shared/" + "guide"]


def tracked_files() -> list[Path]:
    result = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode == 0:
        return [ROOT / line for line in result.stdout.splitlines()]
    return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts
            and ".git" not in p.parts]


# What users and plugin authors read or install. bench/ is left out on purpose: its
# benchmarks run on the development machines and name their resources (a reference
# WarpRec install, data download scripts).
USER_FACING = ("README.md", "docs/", "examples/", "plugin-template/", ".github/", *(
    f"{package}/" for package in PACKAGES))


def test_nothing_points_into_the_development_workspace() -> None:
    offenders = []
    for path in tracked_files():
        if not path.relative_to(ROOT).as_posix().startswith(USER_FACING):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary or vanished
        offenders += [f"{path.relative_to(ROOT)}: {word}" for word in FORBIDDEN if word in text]
    assert offenders == []


@pytest.mark.parametrize("doc", ["README.md", *sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))])
def test_relative_links_of_the_docs_resolve(doc: str) -> None:
    path = ROOT / doc
    text = path.read_text()
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.is_file(), f"{doc}: link {target!r} points to nothing"
        if anchor:
            headings = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
                        for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)}
            assert anchor in headings, f"{doc}: link {target!r}: no such heading"


@pytest.mark.parametrize("package", PACKAGES)
def test_package_readmes_use_absolute_links(package: str) -> None:
    text = (ROOT / package / "README.md").read_text()
    relative = [t for t in LINK.findall(text) if not re.match(r"(https?:|#)", t)]
    assert relative == [], f"{package}/README.md is shown on PyPI, where {relative} break"
