"""Hostile data and config files: each is one ``Error:`` line (exit 2) naming the file,
the key or the line; results that cannot be trusted are never reported as complete."""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
from pathlib import Path

import pandas as pd
import pytest
from hostile_helpers import World
from hostile_helpers import refused_before_run as refused

HEADER = "user_id\titem_id\trating\ttimestamp\n"


def table(users: int = 12, per_user: int = 6, items: int = 10) -> str:
    """A small explicit table where every user has ``per_user`` distinct items."""
    rows = [f"{u}\t{(u + j) % items}\t{1 + (u + j) % 5}\t{1000 + u * 10 + j}"
            for u in range(users) for j in range(per_user)]
    return HEADER + "\n".join(rows) + "\n"


def data_config(world: World, name: str, text: str | bytes, **reader: object) -> Path:
    path = world.root / "data" / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return world.config(reader={"dataset": None, "dataset_params": None,
                                "local_path": f"data/{name}", "rating_type": "explicit",
                                **reader})


COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_a_truncated_archive_is_one_line_not_an_abort(cli, world: World, suffix: str) -> None:
    whole = COMPRESSORS[suffix](table(users=200).encode())
    config = data_config(world, f"d.tsv{suffix}", whole[: len(whole) // 2])
    line = refused(cli, world, config, f"d.tsv{suffix}: cannot be read")
    assert "Aborted" not in line


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_an_archive_that_is_not_one_is_one_line(cli, world: World, suffix: str) -> None:
    refused(cli, world, data_config(world, f"d.tsv{suffix}", table()),
            f"d.tsv{suffix}: cannot be read")


def test_a_good_archive_runs(cli, world: World) -> None:
    config = data_config(world, "d.tsv.gz", gzip.compress(table().encode()))
    assert cli("run", config, "-o", world.root / "run", "-q").code == 0


def test_an_empty_file(cli, world: World) -> None:
    refused(cli, world, data_config(world, "d.tsv", ""), "d.tsv: the file is empty")


def test_binary_garbage(cli, world: World) -> None:
    refused(cli, world, data_config(world, "d.tsv", bytes(range(256)) * 4), "d.tsv")


def test_a_folder_as_data(cli, world: World) -> None:
    (world.root / "data" / "folder.tsv").mkdir()
    config = world.config(reader={"dataset": None, "dataset_params": None,
                                  "local_path": "data/folder.tsv"})
    refused(cli, world, config, "folder.tsv: is a folder")


def test_an_unreadable_data_file(cli, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    config = data_config(world, "d.tsv", table())

    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(pd, "read_csv", denied)  # root reads any file: simulate the denial
    refused(cli, world, config, "d.tsv: cannot be read: Permission denied")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e300", "-1e39", "Infinity"])
def test_non_finite_or_huge_ratings_are_refused(cli, world: World, value: str) -> None:
    text = table().replace("0\t3\t4\t1003\n", f"0\t3\t{value}\t1003\n", 1)
    assert value in text
    refused(cli, world, data_config(world, "d.tsv", text), "d.tsv, line",
            "column 'rating' has", "expected a finite number")


def test_an_infinite_timestamp_is_refused(cli, world: World) -> None:
    text = table().replace("\t1003\n", "\tinf\n", 1)
    refused(cli, world, data_config(world, "d.tsv", text), "column 'timestamp' has inf")


def test_every_user_with_one_interaction_gives_no_test_to_evaluate(cli, world: World) -> None:
    text = table(users=30, per_user=1, items=30)
    refused(cli, world, data_config(world, "d.tsv", text), "splitter.test_splitting: the "
            "test split has no interaction to evaluate", "of users or items not in training")


def _split_config(world: World, train: str, test: str, validation: str | None = None) -> Path:
    folder = world.root / "data" / "split"
    folder.mkdir()
    (folder / "train.tsv").write_text(train)
    (folder / "test.tsv").write_text(test)
    if validation is not None:
        (folder / "validation.tsv").write_text(validation)
    return world.config(reader={"dataset": None, "dataset_params": None,
                                "loading_strategy": "split", "rating_type": "explicit",
                                "split": {"local_path": "data/split"}}, splitter=None)


def test_a_test_split_of_cold_users_only(cli, world: World) -> None:
    cold = HEADER + "900\t1\t5\t1\n901\t2\t4\t1\n"
    line = refused(cli, world, _split_config(world, table(), cold), "reader.split: the test "
                   "split has no interaction to evaluate")
    assert "2 test rows: 2 of users or items not in training" in line


def test_a_validation_split_of_cold_users_only(cli, world: World) -> None:
    cold = HEADER + "900\t1\t5\t1\n"
    test = HEADER + "1\t9\t5\t1\n"
    refused(cli, world, _split_config(world, table(), test, cold),
            "the validation split has no interaction to evaluate")


def test_a_test_split_without_positive_ratings(cli, world: World) -> None:
    test = HEADER + "1\t9\t0\t1\n2\t9\t-1\t1\n"
    refused(cli, world, _split_config(world, table(), test), "none with a rating > 0")


def test_a_non_numeric_rating_names_the_line(cli, world: World) -> None:
    text = table().replace("0\t3\t4\t1003\n", "0\t3\tfive\t1003\n", 1)
    refused(cli, world, data_config(world, "d.tsv", text), "d.tsv, line", "'five'")


# ------------------------------------------------------------------------ config files


def write(world: World, text: str | bytes, name: str = "c.yaml") -> Path:
    path = world.root / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def checked(cli, config: Path, *fragments: str) -> str:
    for command in (("config", "check", config), ("run", config, "-q")):
        result = cli(*command)
        line = result.error_line()
        assert result.code == 2, result.err
        for fragment in fragments:
            assert fragment in line, line
    return line


def test_a_yaml_alias_bomb_is_bounded(cli, world: World) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    line = checked(cli, write(world, "\n".join(lines) + "\nmodels: {Pop: {}}\n"),
                   "expands to more than")
    assert len(line) < 300


def test_duplicate_keys_are_refused(cli, world: World) -> None:
    checked(cli, write(world, "models: {Pop: {}}\nmodels: {EASE: {}}\n"),
            "key 'models' given twice")


def test_a_config_that_is_not_utf8(cli, world: World) -> None:
    checked(cli, write(world, b"models: {Pop: {}}\n# \xff\xfe\n"), "not UTF-8 text")


def test_a_config_that_is_a_folder(cli, world: World) -> None:
    (world.root / "conf.yaml").mkdir()
    checked(cli, world.root / "conf.yaml", "is a folder")


def test_a_missing_config(cli, world: World) -> None:
    checked(cli, world.root / "absent.yaml", "not found")


def test_a_config_that_is_not_a_mapping(cli, world: World) -> None:
    checked(cli, write(world, "- a\n- b\n"), "expected a mapping of sections")


def test_a_huge_value_is_shortened(cli, world: World) -> None:
    line = checked(cli, write(world, "models: {Pop: {}}\nreader: {local_path: " + "x" * 100000
                              + ", dataset: synthetic}\n"), "reader.dataset")
    assert len(line) < 400


def test_a_search_space_larger_than_max_trials(cli, world: World) -> None:
    config = world.config({"EASE": {"l2": list(range(1, 41))}}, general={"max_trials": 20})
    checked(cli, config, "more than general.max_trials (20)")


def test_a_custom_module_calling_exit(cli, world: World) -> None:
    module = world.module("import sys\nsys.exit(0)\n", "quitter.py")
    checked(cli, world.config(general={"custom_modules": [module]}),
            "general.custom_modules[0]", "SystemExit")
