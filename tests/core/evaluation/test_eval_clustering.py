"""WarpRec's clustering files into the evaluator's group arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from warprec.data.clustering import group_lookup, read_clusters, read_groups
from warprec.errors import DataError
from warprec.evaluation import Evaluator


def write(tmp_path: Path, text: str, name: str = "clusters.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_file_by_column_name(tmp_path: Path) -> None:
    # Columns in any order, extra columns ignored (found by name, as WarpRec does).
    path = write(tmp_path, "cluster\tnote\tuser_id\nB\tx\t10\nA\ty\t20\nB\tz\t30\n")
    clusters = read_clusters(path)
    assert clusters.to_dict() == {10: "B", 20: "A", 30: "B"}
    # Sorted distinct clusters A, B -> 1, 2; id 40 of the dataset is in no cluster -> 0;
    # id 30 of the file is not in the dataset and is ignored.
    assert read_groups(path, np.array([10, 20, 40])).tolist() == [2, 1, 0]


def test_headerless_item_file_and_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "i1,5\ni2,3\ni3,5\n", "items.csv")
    groups = read_groups(path, np.array(["i1", "i2", "i3"]), kind="item", sep=",", header=False)
    assert groups.tolist() == [2, 1, 2]


def test_ids_read_as_numbers_match_string_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "item_id\tcluster\n1\t7\n2\t8\n")
    assert read_groups(path, np.array(["2", "1", "3"]), kind="item").tolist() == [2, 1, 0]
    assert group_lookup({"a": 3, "b": 1}, np.array(["b", "a"])).tolist() == [1, 2]


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_clusters(tmp_path / "missing.tsv")
    with pytest.raises(DataError, match="has no column 'cluster'"):
        read_clusters(write(tmp_path, "user_id\tgroup\n1\t2\n"))
    with pytest.raises(DataError, match="puts id 1 in two clusters"):
        read_clusters(write(tmp_path, "user_id\tcluster\n1\t2\n1\t3\n"))
    with pytest.raises(DataError, match="line 3 has no cluster"):
        read_clusters(write(tmp_path, "user_id\tcluster\n1\t2\n2\t\n"))
    with pytest.raises(DataError, match="kind must be 'user' or 'item'"):
        read_groups(write(tmp_path, "user_id\tcluster\n1\t2\n"), np.array([1]), kind="both")


def test_groups_from_a_file_drive_reo(tmp_path: Path, tools: Any) -> None:
    path = write(tmp_path, "item_id\tcluster\n0\tpop\n1\tpop\n2\tniche\n3\tniche\n")
    groups = read_groups(path, np.arange(4), kind="item")  # niche -> 1, pop -> 2
    assert groups.tolist() == [2, 2, 1, 1]
    result = Evaluator(["REO"], [1], item_groups=groups).evaluate(
        tools.model_for([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]]),
        tools.build([[0, 0, 0, 0], [0, 0, 0, 0]], [[1, 0, 1, 0], [1, 0, 0, 1]]),
        "test",
    )
    # Hits at 1: item 0 (pop) and item 3 (niche); relevant: pop 2, niche 2 -> equal rates.
    assert result.values == {"REO@1": 0.0, "REO_IC1@1": 0.5, "REO_IC2@1": 0.5}
