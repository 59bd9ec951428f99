"""``warprec report`` on a run folder someone edited or sent: ``results.json`` is
validated (one ``Error:`` line naming the place), every path it names stays in the
folder, text is rendered as text, and nothing outside the folder is read or written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hostile_helpers import TINY, World, finish, spawn
from warprec import run_experiment

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder: Pop and EASE with per-user values and training-free models."""
    out = tmp_path_factory.mktemp("report") / "run"
    run_experiment({"reader": {"dataset": "synthetic", "dataset_params": dict(TINY)},
                    "models": {"Pop": {}, "EASE": {"l2": [1.0, 10.0]}},
                    "splitter": {"test_splitting": {"strategy": "random_holdout",
                                                    "ratio": 0.2},
                                 "validation_splitting": {"strategy": "random_holdout",
                                                          "ratio": 0.2}},
                    "evaluation": {"top_k": [5], "metrics": ["nDCG"],
                                   "save_per_user": True}}, out, quiet=True)
    return out


@pytest.fixture
def run(finished: Path, world: World) -> Path:
    copy = world.root / "run"
    shutil.copytree(finished, copy)
    return copy


def edit(run: Path, change: Any) -> None:
    data = json.loads((run / "results.json").read_text())
    change(data)
    (run / "results.json").write_text(json.dumps(data))


def refused(cli, world: World, run: Path, *fragments: str) -> str:
    before = world.fingerprint()
    result = cli("report", run)
    line = result.error_line()
    assert result.code == 2, result.err
    for fragment in fragments:
        assert fragment in line, line
    assert world.fingerprint() == before  # no report.html, nothing else touched
    return line


def test_a_model_name_with_math_markup_is_text(cli, world: World, run: Path) -> None:
    name = r"Pop$\undefinedcommand{$ & <b>"

    def rename(data: dict[str, Any]) -> None:
        data["models"][0]["model"] = name
        data["models"][0].pop("per_user")

    edit(run, rename)
    result = cli("report", run)
    assert result.code == 0, result.err
    page = (run / "report.html").read_text()
    assert r"Pop$\undefinedcommand{$ &amp; &lt;b&gt;" in page and "<b>" not in page


def test_a_metric_given_as_a_string(cli, world: World, run: Path) -> None:
    edit(run, lambda data: data["models"][1]["test"].update({"nDCG@5": "0.5"}))
    refused(cli, world, run, "results.json: not a warprec results file: "
            "models[1].test.nDCG@5: Input should be a valid number, got '0.5'")


def test_json_nested_200000_deep(cli, world: World, run: Path) -> None:
    text = (run / "results.json").read_text()
    deep = "[" * 200_000 + "]" * 200_000
    (run / "results.json").write_text(text.replace('"models"', f'"deep": {deep}, "models"', 1))
    refused(cli, world, run, "results.json: nested too deeply")


@pytest.mark.parametrize("content", ["[]", '{"models": 3}', '{"models": [{"test": {}}]}',
                                     "null", '{"models": [], "significance": [{}]}'])
def test_results_that_are_not_a_results_file(cli, world: World, run: Path,
                                             content: str) -> None:
    (run / "results.json").write_text(content)
    refused(cli, world, run, "results.json: not a warprec results file: ")


def test_results_larger_than_the_bound_are_not_read(cli, run: Path) -> None:
    (run / "results.json").write_text("{")
    os.truncate(run / "results.json", 300 << 20)  # sparse: no disk used
    result = cli("report", run)  # (no fingerprint: it would read the 300 MB)
    assert result.code == 2 and "results.json: larger than 256 MiB" in result.error_line()
    assert not (run / "report.html").exists()


@pytest.mark.parametrize("path", ["../data/victim.txt", "{victim}", "per_user/../../x.tsv"])
def test_per_user_outside_the_folder_is_refused(cli, world: World, run: Path,
                                                path: str) -> None:
    edit(run, lambda data: data["models"][0].update(
        per_user=path.format(victim=world.victim)))
    refused(cli, world, run, "models[0].per_user", "is outside the run folder")


def test_a_link_leading_outside_is_refused(cli, world: World, run: Path) -> None:
    stem = json.loads((run / "results.json").read_text())["models"][0]["per_user"]
    (run / stem).unlink()
    (run / stem).symlink_to(world.victim)
    refused(cli, world, run, "models[0].per_user", "is outside the run folder")


def test_per_user_values_that_are_not_numbers_count_as_missing(cli, world: World,
                                                               run: Path) -> None:
    stem = json.loads((run / "results.json").read_text())["models"][0]["per_user"]
    (run / stem).write_text("user_id\tnDCG@5\n1\tlots\n2\t0.5\n")
    result = cli("report", run)
    assert result.code == 0, result.err


def test_a_report_link_is_replaced_not_followed(cli, world: World, run: Path) -> None:
    (run / "report.html").symlink_to(world.victim)
    assert cli("report", run).code == 0
    assert world.victim.read_text() == "precious\n"
    assert not (run / "report.html").is_symlink()


def test_report_of_a_long_per_user_line_is_one_line(cli, run: Path) -> None:
    stem = json.loads((run / "results.json").read_text())["models"][0]["per_user"]
    with open(run / stem, "w") as handle:
        handle.write("user_id\tnDCG@5\n")
    os.truncate(run / stem, 2 << 30)  # 2 GB without a newline, sparse
    result = cli("report", run)
    line = result.error_line()
    assert result.code == 2 and f"{stem}, line 2: longer than" in line and len(line) < 400
    assert not (run / "report.html").exists()


def test_the_cli_never_prints_a_traceback(world: World, run: Path) -> None:
    edit(run, lambda data: data["models"][1]["test"].update({"nDCG@5": [1]}))
    result = finish(spawn(["report", run], world.root), timeout=60)
    assert result.code == 2 and "models[1].test.nDCG@5" in result.error_line()


def test_warnings_are_shown_as_text(cli, run: Path) -> None:
    edit(run, lambda data: data.update(warnings=["<script>alert(1)</script> $x$"]))
    assert cli("report", run).code == 0
    page = (run / "report.html").read_text()
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt; $x$</li>" in page
    assert "<script>" not in page
