"""Inputs past a bound: a line or an id longer than the reader takes (one line naming the
file and line, read no further), cut-offs above the number of items (capped, said, and
the memory follows the cap), a significance test with one model (said and recorded)."""

from __future__ import annotations

import gzip
import os
import resource
import sys
from pathlib import Path

import pytest
from hostile_helpers import World, finish, results, spawn
from warprec.data.bounded import MAX_FIELD_CHARS, MAX_LINE_BYTES

HEADER = "user_id\titem_id\trating\n"
ROWS = "".join(f"{u}\t{(u + j) % 10}\t{1 + j % 5}\n" for u in range(12) for j in range(6))


def data_config(world: World, name: str) -> Path:
    return world.config(reader={"dataset": None, "dataset_params": None,
                                "local_path": f"data/{name}", "rating_type": "explicit"})


def test_a_2gb_line_without_newline_in_a_sparse_file(world: World) -> None:
    """The file of the issue, in a real process: refused after the first megabyte."""
    path = world.root / "data" / "d.tsv"  # named relative to the config's folder
    path.write_text(HEADER + ROWS)
    with open(path, "r+b") as handle:
        handle.truncate(2 << 30)  # sparse: 2 GB of zero bytes, no newline
    result = finish(spawn(["run", data_config(world, "d.tsv"), "-o", world.root / "run", "-q"],
                          world.root), timeout=60)
    line = result.error_line()
    assert result.code == 2, result.err
    assert line == (f"Error: data/d.tsv, line 74: longer than {MAX_LINE_BYTES:,} bytes; "
                    "expected one interaction per line (a text table)")
    assert not (world.root / "run").exists()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_long_line_names_its_line(cli, world: World, suffix: str) -> None:
    text = (HEADER + ROWS + "1\t" + "7" * (MAX_LINE_BYTES + 10) + "\t3\n" + ROWS).encode()
    name = f"d.tsv{suffix}"
    (world.root / "data" / name).write_bytes(gzip.compress(text) if suffix else text)
    result = cli("run", data_config(world, name), "-o", world.root / "run", "-q")
    assert result.code == 2
    assert f"{name}, line 74: longer than {MAX_LINE_BYTES:,} bytes" in result.error_line()


def test_a_line_at_the_bound_is_read(cli, world: World) -> None:
    # A comment-free line of exactly the bound: the trailing column pads it.
    long_row = "0\t1\t3\t" + "x" * (MAX_LINE_BYTES - 6) + "\n"
    text = "user_id\titem_id\trating\tnote\n" + long_row + \
        ROWS.replace("\n", "\t-\n")
    (world.root / "data" / "d.tsv").write_text(text)
    result = cli("run", data_config(world, "d.tsv"), "-o", world.root / "run", "-q")
    assert result.code == 0, result.err


def test_an_id_longer_than_the_bound_names_its_line(cli, world: World) -> None:
    text = HEADER + ROWS + "u" * (MAX_FIELD_CHARS + 1) + "\t3\t4\n"
    (world.root / "data" / "d.tsv").write_text(text)
    result = cli("run", data_config(world, "d.tsv"), "-o", world.root / "run", "-q")
    assert result.code == 2
    assert result.error_line().endswith(
        "data/d.tsv, line 74: column 'user_id' has a value "
        f"longer than {MAX_FIELD_CHARS:,} characters; expected an id (is the separator "
        "right?)")


def test_cutoffs_above_the_items_are_capped_with_a_warning(cli, world: World) -> None:
    config = world.config(evaluation={"top_k": [5, 100_000], "metrics": ["nDCG", "Recall"]})
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 0, result.err
    data = results(world.root / "run")
    n_items = data["data"]["n_items"]
    warning = (f"evaluation.top_k: 100000 above the {n_items} items of the data; its lists "
               f"are capped at {n_items} (every item; the metrics keep their definition: "
               "Precision divides by the cut-off)")
    assert f"Warning: {warning}" in result.err.splitlines() and warning in data["warnings"]
    test = data["models"][0]["test"]
    assert test["Recall@100000"] == pytest.approx(1.0)  # every item listed


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics")
def test_memory_follows_the_cap(world: World) -> None:
    """``top_k: 100000`` on 500 items under a 2.5 GB address space: the metrics' tables
    are 500 wide (padded to the cut-off, nDCG's ideal gains of 2,000 users took 1.6 GB)."""
    config = world.config(reader={"dataset_params": {
        "n_users": 2000, "n_items": 500, "n_interactions": 20_000}},
        evaluation={"top_k": [100_000], "metrics": ["nDCG"]})

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2500 << 20, 2500 << 20))

    result = finish(spawn(["run", config, "-o", world.root / "run", "-q"], world.root,
                          preexec_fn=limited), timeout=60)
    assert result.code == 0, result.err
    assert results(world.root / "run")["models"][0]["status"] == "ok"


def test_significance_with_one_model_is_said_and_recorded(cli, world: World) -> None:
    config = world.config(evaluation={"top_k": [5], "metrics": ["nDCG"],
                                      "stat_significance": {"paired_t_test": True}})
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 0, result.err
    warning = ("evaluation.stat_significance: paired_t_test compare models, but 1 model(s) "
               "finished; no test was run (expected at least two models)")
    assert f"Warning: {warning}" in result.err.splitlines()
    data = results(world.root / "run")
    assert warning in data["warnings"] and "significance" not in data


def test_a_recommendation_file_without_newlines_is_refused(tmp_path: Path) -> None:
    """The proxy model's input (another framework's top-k lists), read with the bound."""
    from warprec.errors import DataError
    from warprec.io_formats import read_recommendations

    path = tmp_path / "recs.tsv"
    path.write_text("user_id\titem_id\trating\n1\t2\t0.5\n")
    os.truncate(path, 2 << 30)  # sparse
    with pytest.raises(DataError, match=r"recs\.tsv, line 3: longer than 1,048,576 bytes"):
        read_recommendations(path)
