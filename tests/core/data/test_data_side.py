"""Side information (``reader.side``): how a side file becomes the item feature matrix
and which interactions it keeps, as WarpRec reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from warprec.config import load_config
from warprec.data.side import read_side, side_information
from warprec.errors import DataError
from warprec.experiment.data import load_data
from warprec.testing.data import toy_dataset


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def dense(side, ids) -> tuple[np.ndarray, list[str]]:
    matrix, names = side.matrix(np.asarray(ids))
    return matrix.toarray(), names


def test_numeric_columns_keep_values_and_text_columns_become_indicators(tmp_path):
    path = write(tmp_path / "s.tsv", "item_id\tgenre\tyear\n1\tdrama\t1990\n2\tcomedy\t\n"
                                     "3\tdrama\t2001.5\n")
    side = read_side(path, id_column="item_id", id_dtype=np.int64)
    matrix, names = dense(side, [1, 2, 3])
    assert names == ["genre=comedy", "genre=drama", "year"]
    np.testing.assert_array_equal(matrix, [[0, 1, 1990], [1, 0, 0], [0, 1, 2001.5]])


def test_the_long_layout_gives_an_item_several_values(tmp_path):
    path = write(tmp_path / "s.tsv", "item_id\tgenre\n1\tdrama\n1\tcomedy\n2\tcomedy\n")
    matrix, names = dense(read_side(path, id_column="item_id", id_dtype=np.int64), [1, 2, 7])
    assert names == ["genre=comedy", "genre=drama"]
    np.testing.assert_array_equal(matrix, [[1, 1], [1, 0], [0, 0]])  # 7: no side row


def test_list_sep_splits_cells_as_the_long_layout_does(tmp_path):
    lists = write(tmp_path / "a.tsv", "item_id\tgenres\tyear\n1\tAction|Comedy\t1995\n"
                                      "2\tComedy\t1990\n")
    long = write(tmp_path / "b.tsv", "item_id\tgenres\tyear\n1\tAction\t1995\n"
                                     "1\tComedy\t1995\n2\tComedy\t1990\n")
    split = dense(read_side(lists, id_column="item_id", id_dtype=np.int64, list_sep="|"),
                  [1, 2])
    expected = dense(read_side(long, id_column="item_id", id_dtype=np.int64), [1, 2])
    np.testing.assert_array_equal(split[0], expected[0])
    assert split[1] == expected[1] == ["genres=Action", "genres=Comedy", "year"]
    # Without list_sep a cell is one value, as in WarpRec.
    whole = dense(read_side(lists, id_column="item_id", id_dtype=np.int64), [1, 2])
    assert whole[1] == ["genres=Action|Comedy", "genres=Comedy", "year"]


def test_a_headerless_file_takes_the_first_column_as_the_id(tmp_path):
    path = write(tmp_path / "s.csv", "b1,x\nb2,y\n")
    side = read_side(path, id_column="item_id", id_dtype=object, sep=",", header=False)
    assert dense(side, ["b2", "b1"])[1] == ["feature_1=x", "feature_1=y"]
    np.testing.assert_array_equal(dense(side, ["b2", "b1"])[0], [[0, 1], [1, 0]])


def test_restrict_drops_and_counts_the_rows_of_items_without_features():
    side = side_information(pd.DataFrame({"item_id": [1, 2], "g": ["a", "b"]}), np.int64)
    train = pd.DataFrame({"user_id": [0, 0, 1], "item_id": [1, 3, 2]})
    test = pd.DataFrame({"user_id": [0, 1], "item_id": [3, 1]})
    report: dict[str, int] = {}
    kept = side.restrict({"train": train, "validation": None, "test": test}, "item_id",
                         report)
    assert kept["train"]["item_id"].tolist() == [1, 2]
    assert kept["test"]["item_id"].tolist() == [1]
    assert kept["validation"] is None
    assert report == {"train_without_features": 1, "test_without_features": 1}


def test_ids_that_match_no_item_are_an_error():
    side = side_information(pd.DataFrame({"item_id": [8, 9], "g": ["a", "b"]}), np.int64)
    with pytest.raises(DataError, match="none of its ids is an item id"):
        side.restrict({"train": pd.DataFrame({"user_id": [0], "item_id": [1]})}, "item_id", {})


def test_a_run_carries_features_aligned_with_the_dataset_items(tmp_path):
    rows = [(u, (u + j) % 8, 1000 + j) for u in range(10) for j in range(5)]
    write(tmp_path / "d.tsv", "user_id\titem_id\ttimestamp\n"
          + "".join(f"{u}\t{i}\t{t}\n" for u, i, t in rows))
    # Item 7 has no features: its interactions leave every part.
    write(tmp_path / "side.tsv", "item_id\tgenre\n" + "".join(
        f"{i}\tg{i % 2}\n" for i in range(7)) + "99\tg0\n")
    config_path = write(tmp_path / "c.yaml", yaml.safe_dump({
        "reader": {"local_path": "d.tsv", "side": {"local_path": "side.tsv"}},
        "splitter": {"test_splitting": {"strategy": "temporal_leave_k_out", "k": 1}},
        "evaluation": {"top_k": [3], "metrics": ["nDCG"]},
        "models": {"Pop": {}}}))
    data = load_data(load_config(config_path))
    main = data.main
    assert 7 not in main.item_ids
    assert main.report["train_without_features"] + main.report.get(
        "test_without_features", 0) == sum(1 for _, i, _ in rows if i == 7)
    expected = np.stack([[i % 2 == 0, i % 2 == 1] for i in main.item_ids]).astype(float)
    np.testing.assert_array_equal(main.item_features.toarray(), expected)
    assert main.item_feature_names == ["genre=g0", "genre=g1"]
    assert main.train.item_features is main.item_features
    assert main.test.item_features is main.item_features


def test_the_kit_toy_dataset_carries_item_features():
    dataset = toy_dataset()
    features = dataset.item_features.toarray()
    assert features.shape == (dataset.n_items, len(dataset.item_feature_names))
    genre = dataset.item_feature_names.index("genre=g1")
    np.testing.assert_array_equal(features[:, genre], dataset.item_ids % 4 == 1)
    mixed = dataset.item_feature_names.index("genre=mixed")
    np.testing.assert_array_equal(features[:, mixed], dataset.item_ids % 5 == 0)
    assert dataset.train.item_features is dataset.item_features


def test_pre_split_files_keep_only_items_with_features(tmp_path):
    folder = tmp_path / "split"
    folder.mkdir()
    write(folder / "train.tsv", "user_id\titem_id\n0\t1\n0\t2\n1\t2\n1\t3\n")
    write(folder / "test.tsv", "user_id\titem_id\n0\t3\n1\t1\n")
    write(tmp_path / "side.tsv", "item_id\tyear\n1\t1990\n3\t2001\n")
    config_path = write(tmp_path / "c.yaml", yaml.safe_dump({
        "reader": {"loading_strategy": "split", "split": {"local_path": "split"},
                   "side": {"local_path": "side.tsv"}},
        "evaluation": {"top_k": [1], "metrics": ["nDCG", "SRecall"]},
        "models": {"Pop": {}}}))
    main = load_data(load_config(config_path)).main
    assert main.item_ids.tolist() == [1, 3]
    assert main.report["train_without_features"] == 2
    np.testing.assert_array_equal(main.item_features.toarray(), [[1990.0], [2001.0]])


def test_the_kit_fixture_dataset_carries_item_features(warprec_dataset):
    assert warprec_dataset.train.item_features is not None
    assert warprec_dataset.item_features.shape[0] == warprec_dataset.n_items
    assert "genre=mixed" in warprec_dataset.item_feature_names


def test_a_wrong_separator_is_named(tmp_path):
    path = write(tmp_path / "s.csv", "item_id,genre\n1,drama\n")
    with pytest.raises(DataError, match=r"no id column 'item_id'; found item_id,genre .*"
                                        r"is '\\t' its separator \(reader.side.sep\)\?"):
        read_side(path, id_column="item_id", id_dtype=np.int64)


def test_a_parquet_side_file_reads_like_a_text_one(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"item_id": [1, 1, 2], "genre": ["a", "b", None],
                          "year": [1990.0, 1990.0, 2000.0]})
    frame.to_parquet(tmp_path / "s.parquet")
    matrix, names = dense(read_side(tmp_path / "s.parquet", id_column="item_id",
                                    id_dtype=np.int64), [1, 2])
    assert names == ["genre=a", "genre=b", "year"]
    np.testing.assert_array_equal(matrix, [[1, 1, 1990], [0, 0, 2000]])


def test_a_value_repeated_across_an_items_rows_counts_once(tmp_path):
    path = write(tmp_path / "s.tsv", "item_id\tgenre\ttag\n1\tdrama\tcult\n"
                                     "1\tcomedy\tcult\n")
    matrix, names = dense(read_side(path, id_column="item_id", id_dtype=np.int64), [1])
    assert names == ["genre=comedy", "genre=drama", "tag=cult"]
    np.testing.assert_array_equal(matrix, [[1, 1, 1]])


def test_the_evaluator_keeps_item_features_only_for_a_metric_that_reads_them():
    from warprec.evaluation import Evaluator

    features = sp.random(50, 400, density=0.01, format="csr", random_state=0)
    assert Evaluator(["nDCG"], [5], item_features=features).item_features is None
    kept = Evaluator(["nDCG", "SRecall"], [5], item_features=features).item_features
    np.testing.assert_array_equal(kept, features.toarray())
