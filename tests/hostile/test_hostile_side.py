"""Hostile side-information files (``reader.side``): each is one ``Error:`` line (exit 2)
naming the file and the line, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import World, results
from hostile_helpers import refused_before_run as refused

HEADER = "user_id\titem_id\trating\ttimestamp\n"
ITEMS = 10


def interactions() -> str:
    """Twelve users with six distinct items each, items ``0..9``."""
    rows = [f"{u}\t{(u + j) % ITEMS}\t{1 + (u + j) % 5}\t{1000 + u * 10 + j}"
            for u in range(12) for j in range(6)]
    return HEADER + "\n".join(rows) + "\n"


def good_side() -> str:
    return "item_id\tgenre\tlength\n" + "".join(
        f"{i}\tg{i % 3}\t{i % 4}\n" for i in range(ITEMS))


def side_config(world: World, side_text: str | bytes | None, models: dict | None = None,
                metrics: tuple[str, ...] = ("nDCG",), splitter: dict | None = None,
                **side: object) -> Path:
    """A config reading the interactions and, unless ``side_text`` is None, a side file."""
    data = world.root / "data"
    (data / "d.tsv").write_text(interactions())
    reader: dict[str, object] = {"dataset": None, "dataset_params": None,
                                 "local_path": "data/d.tsv", "rating_type": "explicit"}
    if side_text is not None:
        (data / "side.tsv").write_bytes(side_text if isinstance(side_text, bytes)
                                        else side_text.encode())
        reader["side"] = {"local_path": "data/side.tsv", **side}
    return world.config(
        models=models, reader=reader, evaluation={"top_k": [5], "metrics": list(metrics)},
        splitter=splitter or {"test_splitting": {"strategy": "temporal_leave_k_out", "k": 1}})


BAD_SIDE_FILES = {
    "empty": (b"", ["side.tsv", "is empty"]),
    "header only": ("item_id\tgenre\n", ["side.tsv", "has no rows"]),
    "only the id column": ("item_id\n1\n2\n", ["side.tsv", "only the id column"]),
    "features without id": (good_side() + "\tg1\t2\n", ["side.tsv", "line 12",
                                                        "features but no id"]),
    "id without features": (good_side() + "3\t\t\n", ["side.tsv", "line 12", "id 3",
                                                     "no feature value"]),
    "mixed types": (good_side().replace("\t2\n", "\tlong\n", 1),
                    ["side.tsv", "column 'length' mixes numbers", "'long'"]),
    "duplicated row": (good_side() + "4\tg1\t0\n", ["side.tsv", "lines 6 and 12",
                                                   "same row"]),
    "two values of a number": (good_side() + "4\tg2\t3\n",
                               ["side.tsv", "'length'", "id 4 two values"]),
    "text ids beside numeric ones": (good_side().replace("\n5\t", "\nfive\t"),
                                     ["side.tsv", "line 7", "'five'", "expected a number"]),
    "ids of other items": ("item_id\tgenre\n" + "".join(f"{100 + i}\tg\n" for i in range(3)),
                           ["side.tsv", "none of its ids is an item id", "100"]),
    "no id column": (good_side().replace("item_id", "movie"),
                     ["side.tsv", "no id column 'item_id'", "movie"]),
}


@pytest.mark.parametrize("case", list(BAD_SIDE_FILES))
def test_a_bad_side_file_is_one_line(cli, world: World, case: str) -> None:
    text, fragments = BAD_SIDE_FILES[case]
    refused(cli, world, side_config(world, text), *fragments)


def test_a_side_file_that_is_missing_is_one_line(cli, world: World) -> None:
    config = side_config(world, good_side())
    (world.root / "data" / "side.tsv").unlink()
    refused(cli, world, config, "reader.side.local_path", "'data/side.tsv' not found")


def test_column_names_that_do_not_fit_a_headerless_file(cli, world: World) -> None:
    headerless = good_side().split("\n", 1)[1]
    refused(cli, world, side_config(world, headerless, header=False,
                                    column_names=["item_id", "genre"]),
            "column_names names 2 columns, the file has 3")


def test_keeping_unseen_items_is_refused(cli, world: World) -> None:
    refused(cli, world, side_config(world, good_side(), keep_unseen_items=True),
            "reader.side.keep_unseen_items", "expected false")


def test_a_model_that_reads_features_needs_reader_side(cli, world: World) -> None:
    config = side_config(world, None, models={"AttributeItemKNN": {"k": 3}})
    refused(cli, world, config, "models.AttributeItemKNN", "reads item features",
            "expected reader.side")


def test_the_good_side_file_runs_and_feeds_srecall(cli, world: World) -> None:
    config = side_config(world, good_side(), models={"AttributeItemKNN": {"k": 3}},
                         metrics=("nDCG", "SRecall"))
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 0, result.err
    (model,) = results(world.root / "run")["models"]
    assert model["status"] == "ok"
    assert 0 < model["test"]["SRecall@5"] <= 1


def cold_config(world: World, test: dict, validation: dict | None = None) -> Path:
    """The good side file split by ``test`` (and ``validation``)."""
    splitter = {"test_splitting": test}
    if validation is not None:
        splitter["validation_splitting"] = validation
    return side_config(world, good_side(), models={"AttributeItemKNN": {"k": 3}},
                       splitter=splitter)


BAD_COLD_START = {
    "no ratio": ({"strategy": "item_cold_start"}, None,
                 ["splitter.test_splitting.ratio: missing for strategy 'item_cold_start'"]),
    "ratio 0": ({"strategy": "item_cold_start", "ratio": 0}, None,
                ["splitter.test_splitting.ratio: got 0"]),
    "a k": ({"strategy": "user_cold_start", "ratio": 0.2, "k": 1}, None,
            ["splitter.test_splitting.k: not used by strategy 'user_cold_start'"]),
    "every item held out": ({"strategy": "item_cold_start", "ratio": 0.99}, None,
                            ["splitter.test_splitting: ItemColdStart: a ratio of 0.99 over "
                             "10 distinct 'item_id' values holds out 10 of them"]),
    "validation cold, test warm": (
        {"strategy": "temporal_leave_k_out", "k": 1},
        {"strategy": "item_cold_start", "ratio": 0.2},
        ["splitter.validation_splitting: ItemColdStart holds items out of training but the "
         "test split (TemporalLeaveKOut) does not"]),
}


@pytest.mark.parametrize("case", list(BAD_COLD_START))
def test_a_bad_cold_start_splitter_is_one_line(cli, world: World, case: str) -> None:
    test, validation, fragments = BAD_COLD_START[case]
    refused(cli, world, cold_config(world, test, validation), *fragments)


def test_an_item_cold_start_run_evaluates_the_held_out_items(cli, world: World) -> None:
    config = cold_config(world, {"strategy": "item_cold_start", "ratio": 0.2, "seed": 5},
                         {"strategy": "item_cold_start", "ratio": 0.25})
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 0, result.err
    data = results(world.root / "run")["data"]
    assert data["n_items"] == ITEMS and data["cold_start"] == {"cold_items": 4}
    assert "test_cold_rows" not in data["dropped"]
