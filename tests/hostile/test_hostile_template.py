"""``warprec plugins new`` with hostile answers and paths: template markup never runs,
names that cannot be files are refused before anything is written, a bad output folder
is one ``Error:`` line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import Outcome, World
from warprec.cli import main

pytest.importorskip("cookiecutter")


@pytest.fixture
def new(capfd: pytest.CaptureFixture[str], world: World):
    """``warprec plugins new --no-input --set ANSWER...`` into ``world/out`` (made first:
    cookiecutter creates it anyway); output captured at the descriptors, where the
    template's hook prints."""
    (world.root / "out").mkdir()

    def run(*answers: str, out: Path | None = None) -> Outcome:
        args = ["plugins", "new", "--no-input", "-o", str(out or world.root / "out")]
        with pytest.raises(SystemExit) as info:
            main(args + [arg for answer in answers for arg in ("--set", answer)])
        captured = capfd.readouterr()
        return Outcome(int(info.value.code or 0), captured.out, captured.err)

    return run


@pytest.mark.parametrize("value", [
    "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
    "{% for x in range(1) %}x{% endfor %}",
    "Acme {# comment #}",
])
def test_template_markup_in_an_answer_never_runs(new, world: World, value: str) -> None:
    before = world.fingerprint()
    result = new(f"plugin_name={value}")
    assert result.code == 2
    assert result.error_line().startswith("Error: --set plugin_name: ")
    assert "holds template markup" in result.error_line()
    assert world.fingerprint() == before
    assert not Path("PWNED").exists() and not (world.root / "PWNED").exists()


@pytest.mark.parametrize(("answer", "last"), [
    ("model_name=M" + "a" * 300, "Error: the template rejected the answers (see above)"),
    ("package_name=" + "a" * 300, "Error: the template rejected the answers (see above)"),
    # cookiecutter makes the project folder before the hook runs: the OS's reason.
    ("project_slug=" + "a" * 300, "a" * 300 + ": File name too long"),
])
def test_a_name_too_long_for_a_file_is_one_line(new, world: World, answer: str,
                                                last: str) -> None:
    before = world.fingerprint()
    result = new(answer)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines()[-1].endswith(last), result.err
    assert world.fingerprint() == before


def test_the_hook_names_the_long_answer_briefly(new) -> None:
    result = new("model_name=M" + "a" * 300)
    assert f"Error: model_name 'M{'a' * 56}...' is longer than 100 characters" in \
        result.err.splitlines()


@pytest.mark.parametrize("answer", ["project_slug=../../evil", "package_name=../evil",
                                    "model_module=../../evil", "project_slug=/tmp/evil"])
def test_a_name_that_is_a_path_is_refused(new, world: World, answer: str) -> None:
    before = world.fingerprint()
    result = new(answer)
    assert result.code == 2 and result.err.splitlines()[-1] == \
        "Error: the template rejected the answers (see above)"
    assert world.fingerprint() == before
    assert not Path("/tmp/evil").exists()


def test_an_output_folder_under_a_file_is_one_line(new, world: World) -> None:
    before = world.fingerprint()
    result = new(out=world.victim / "sub")
    assert result.code == 2
    assert result.error_line() == (
        f"Error: cannot create the plugin in {world.victim / 'sub'}: Unable to create "
        f"directory at {world.victim / 'sub' / 'warprec-awesome-recommenders'}")
    assert world.fingerprint() == before
