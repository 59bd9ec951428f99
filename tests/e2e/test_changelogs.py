"""Every changelog keeps one format, Keep a Changelog 1.1.0: the three packages' and the
one the plugin template writes (docs/releasing.md describes it, the release workflow's
tag check relies on it).

`changelog_problems` reads a changelog's headings; the tests run it on the real files and,
so that it is known to catch drift, on the former format and on broken examples.
"""

from __future__ import annotations

import datetime
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["warprec"]["workspace"][
    "members"]
KEEP_A_CHANGELOG = "https://keepachangelog.com/en/1.1.0/"
# Keep a Changelog's types, in the order a release lists them; "For plugin authors" (the
# contract changes and what an author must do) comes first.
GROUPS = ("For plugin authors", "Added", "Changed", "Deprecated", "Removed", "Fixed",
          "Security")
RELEASE = re.compile(r"## \[(?P<version>[^\]]+)\](?: - (?P<date>\S+))?")


@dataclass
class Release:
    version: str
    date: str | None
    groups: list[str] = field(default_factory=list)


@dataclass
class Changelog:
    releases: list[Release]
    problems: list[str]

    def versions(self) -> list[Version]:
        return [Version(r.version) for r in self.releases if r.version != "Unreleased"]


def read_changelog(text: str) -> Changelog:
    """The releases of a changelog and every way its headings leave the format."""
    lines = text.splitlines()
    problems = [] if lines[:1] == ["# Changelog"] else ["line 1: expected '# Changelog'"]
    intro = text.split("\n## ", 1)[0]
    if KEEP_A_CHANGELOG not in intro:
        problems.append(f"the introduction does not link {KEEP_A_CHANGELOG}")
    releases: list[Release] = []
    bullets = 0  # of the current group
    in_code = False
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            bullets += line.startswith("- ")
            if line.strip() and releases and not releases[-1].groups and not in_code:
                problems.append(f"line {number}: text outside a group: {line[:40]!r}")
            continue
        if releases and releases[-1].groups and not bullets:
            problems.append(f"line {number}: group '{releases[-1].groups[-1]}' of "
                            f"[{releases[-1].version}] has no entry")
        bullets = 0
        if line.startswith("## "):
            release, problem = _release(line)
            if problem:
                problems.append(f"line {number}: {problem}")
            if release:
                releases.append(release)
        elif line.startswith("### "):
            problems += [f"line {number}: {p}" for p in _group(line[4:], releases)]
        else:
            problems.append(f"line {number}: heading {line!r}: expected '## [<version>] - "
                            "YYYY-MM-DD' or '### <group>'")
    if releases and releases[-1].groups and not bullets:
        problems.append(f"group '{releases[-1].groups[-1]}' of [{releases[-1].version}] "
                        "has no entry")
    problems += _order(releases)
    return Changelog(releases, problems)


def _release(line: str) -> tuple[Release | None, str | None]:
    match = RELEASE.fullmatch(line)
    expected = "expected '## [Unreleased]' or '## [<version>] - YYYY-MM-DD'"
    if not match:
        return None, f"heading {line!r}: {expected}"
    version, date = match["version"], match["date"]
    if version == "Unreleased":
        return Release(version, None), None if date is None else f"{line!r}: {expected}"
    try:
        Version(version)
        datetime.date.fromisoformat(date or "")
    except (InvalidVersion, ValueError):
        return None, f"heading {line!r}: {expected}"
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", date or ""):
        return None, f"heading {line!r}: {expected}"
    return Release(version, date), None


def _group(name: str, releases: list[Release]) -> list[str]:
    if not releases:
        return [f"group '{name}' before any release"]
    if name not in GROUPS:
        return [f"group '{name}' of [{releases[-1].version}]: expected one of "
                f"{', '.join(GROUPS)}"]
    groups = releases[-1].groups
    groups.append(name)
    if groups != sorted(set(groups), key=GROUPS.index):
        return [f"[{releases[-1].version}] lists its groups as {', '.join(groups)}; "
                f"expected the order {', '.join(GROUPS)}, each once"]
    return []


def _order(releases: list[Release]) -> list[str]:
    problems = []
    if not releases or releases[0].version != "Unreleased":
        problems.append("the first release heading is not '## [Unreleased]'")
    if [r.version for r in releases].count("Unreleased") > 1:
        problems.append("more than one '## [Unreleased]'")
    released = [r for r in releases if r.version != "Unreleased"]
    problems += [f"[{r.version}] has no group" for r in released if not r.groups]
    for newer, older in itertools.pairwise(released):
        if Version(newer.version) <= Version(older.version):
            problems.append(f"[{newer.version}] is listed above [{older.version}]: versions "
                            "must decrease")
        if (newer.date or "") < (older.date or ""):
            problems.append(f"[{newer.version}] ({newer.date}) is dated before "
                            f"[{older.version}] ({older.date})")
    return problems


def version_problems(changelog: Changelog, version: str) -> list[str]:
    """The version a pyproject declares is the newest entry, or newer than every entry
    (bumped ahead of its release, its notes still under [Unreleased])."""
    versions = changelog.versions()
    if versions and Version(version) < versions[0]:
        return [f"pyproject.toml says {version}, but the newest entry is [{versions[0]}]"]
    return []


def rendered_template_changelog(tmp_path: Path) -> tuple[str, str]:
    """The CHANGELOG.md and version of a package generated from the plugin template."""
    cookiecutter = pytest.importorskip("cookiecutter.main").cookiecutter
    project = Path(cookiecutter(str(ROOT / "plugin-template"), no_input=True,
                                output_dir=str(tmp_path)))
    version = tomllib.loads((project / "pyproject.toml").read_text())["project"]["version"]
    return (project / "CHANGELOG.md").read_text(), version


@pytest.mark.parametrize("package", PACKAGES)
def test_package_changelog_keeps_the_format(package: str) -> None:
    changelog = read_changelog((ROOT / package / "CHANGELOG.md").read_text())
    declared = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"][
        "version"]
    assert changelog.problems + version_problems(changelog, declared) == []


def test_template_changelog_keeps_the_format(tmp_path: Path) -> None:
    text, version = rendered_template_changelog(tmp_path)
    changelog = read_changelog(text)
    assert changelog.problems == []
    assert [r.version for r in changelog.releases] == ["Unreleased", version]


def test_core_minor_releases_speak_to_plugin_authors() -> None:
    """A new core minor version may change the plugin contract: its entry says how."""
    releases = read_changelog((ROOT / "warprec-core" / "CHANGELOG.md").read_text()).releases
    minors = [r for r in releases if r.version != "Unreleased"
              and Version(r.version).micro == 0]
    assert minors
    assert [r.version for r in minors if r.groups[:1] != ["For plugin authors"]] == []


FORMER = """# Changelog — warprec-core

## Unreleased

### Threads (issue 17)
- `general.threads` bounds the thread pools.

## 0.1.0 — unreleased

### Plugin authors
- The conformance kit.
"""

GOOD = f"""# Changelog

The format follows [Keep a Changelog]({KEEP_A_CHANGELOG}).

## [Unreleased]

## [0.2.0] - 2026-11-30

### For plugin authors
- What changed.

### Added
- A thing.

## [0.1.0] - 2026-11-28

### Added
- First release.
"""


def test_a_well_formed_changelog_passes() -> None:
    changelog = read_changelog(GOOD)
    assert changelog.problems == []
    assert [(r.version, r.date, r.groups) for r in changelog.releases] == [
        ("Unreleased", None, []), ("0.2.0", "2026-11-30", ["For plugin authors", "Added"]),
        ("0.1.0", "2026-11-28", ["Added"])]


def test_the_former_format_is_refused() -> None:
    assert read_changelog(FORMER).problems == [
        "line 1: expected '# Changelog'",
        f"the introduction does not link {KEEP_A_CHANGELOG}",
        "line 3: heading '## Unreleased': expected '## [Unreleased]' or "
        "'## [<version>] - YYYY-MM-DD'",
        "line 5: group 'Threads (issue 17)' before any release",
        "line 8: heading '## 0.1.0 — unreleased': expected '## [Unreleased]' or "
        "'## [<version>] - YYYY-MM-DD'",
        "line 10: group 'Plugin authors' before any release",
        "the first release heading is not '## [Unreleased]'",
    ]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("### Added\n- A thing.", "### Threads (issue 17)\n- A thing.",
         "group 'Threads (issue 17)' of [0.2.0]: expected one of For plugin authors, Added"),
        ("### For plugin authors\n- What changed.\n\n### Added\n- A thing.",
         "### Added\n- A thing.\n\n### For plugin authors\n- What changed.",
         "[0.2.0] lists its groups as Added, For plugin authors; expected the order"),
        ("### Added\n- A thing.", "### Added\n\n### Fixed\n- A thing.",
         "group 'Added' of [0.2.0] has no entry"),
        ("## [0.2.0] - 2026-11-30", "## [0.0.9] - 2026-11-30",
         "[0.0.9] is listed above [0.1.0]: versions must decrease"),
        ("## [0.2.0] - 2026-11-30", "## [0.2.0] - 2026-11-27",
         "[0.2.0] (2026-11-27) is dated before [0.1.0] (2026-11-28)"),
        ("## [0.2.0] - 2026-11-30", "## [0.2.0] - 30/11/2026", "heading '## [0.2.0] - 30/11"),
        ("## [0.2.0] - 2026-11-30", "## [0.2.0] - 2026-02-30", "heading '## [0.2.0] - 2026-02"),
        ("## [0.2.0] - 2026-11-30", "## [0.2.0]", "heading '## [0.2.0]': expected"),
        ("## [0.2.0] - 2026-11-30\n", "## [0.2.0] - 2026-11-30\nNotes.\n",
         "text outside a group: 'Notes.'"),
        ("## [0.1.0] - 2026-11-28\n\n### Added\n- First release.\n",
         "## [0.1.0] - 2026-11-28\n", "[0.1.0] has no group"),
        ("## [Unreleased]\n", "", "the first release heading is not '## [Unreleased]'"),
        ("### Added\n- First", "#### Added\n- First", "heading '#### Added': expected"),
    ],
)
def test_drift_is_named(old: str, new: str, problem: str) -> None:
    assert old in GOOD
    problems = read_changelog(GOOD.replace(old, new, 1)).problems
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("version", "problems"), [
    ("0.2.0", []),
    ("0.3.0", []),  # bumped ahead of its release: the notes wait under [Unreleased]
    ("0.1.0", ["pyproject.toml says 0.1.0, but the newest entry is [0.2.0]"]),
    ("0.1.5", ["pyproject.toml says 0.1.5, but the newest entry is [0.2.0]"]),
])
def test_declared_version_is_the_newest_entry(version: str, problems: list[str]) -> None:
    assert version_problems(read_changelog(GOOD), version) == problems
