"""Readers: every option, pre-split folders, and each bad input's message."""

from __future__ import annotations

import builtins
import gzip
from pathlib import Path

import pandas as pd
import pytest
from warprec.data.reader import read_interactions, read_split
from warprec.errors import DataError

HEADER = "user_id,item_id,rating,timestamp\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n2,11,3.5,101\n")
    result = read_interactions(path)
    assert list(result.data.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert result.data["rating"].tolist() == [4.0, 3.5]
    assert not result.implicit and result.dropped == {}


def test_headerless_tsv_takes_default_column_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.tsv", "1\t10\t4\t100\n2\t11\t3\t101\n")
    data = read_interactions(path, header=False).data
    assert data["item_id"].tolist() == [10, 11] and data["timestamp"].tolist() == [100, 101]


def test_headerless_with_names_and_custom_separator(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.txt", "100;a;x\n101;b;y\n")
    data = read_interactions(
        path,
        sep=";",
        header=False,
        names=["ts", "user", "item"],
        user_col="user",
        item_col="item",
        timestamp_col="ts",
        implicit=True,
    ).data
    assert data.to_dict("list") == {
        "user_id": ["a", "b"],
        "item_id": ["x", "y"],
        "timestamp": [100, 101],
    }


def test_custom_column_labels_and_extra_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", "uid,iid,score,extra\n1,2,5,zz\n")
    data = read_interactions(path, user_col="uid", item_col="iid", rating_col="score").data
    assert data.to_dict("list") == {"user_id": [1], "item_id": [2], "rating": [5]}


def test_multi_character_separator(tmp_path: Path) -> None:
    path = _write(tmp_path, "ratings.dat", "1::10::5::978300760\n2::10::3::978300761\n")
    data = read_interactions(path, sep="::", header=False).data
    assert data["user_id"].tolist() == [1, 2] and data["rating"].tolist() == [5, 3]


def test_implicit_needs_no_rating(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", "user_id,item_id\n1,2\n1,3\n")
    result = read_interactions(path, implicit=True)
    assert result.implicit and list(result.data.columns) == ["user_id", "item_id"]


def test_explicit_without_rating_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", "user_id,item_id\n1,2\n")
    with pytest.raises(DataError, match=r"d\.csv: missing column 'rating' \(columns present"):
        read_interactions(path)


@pytest.mark.parametrize(
    ("policy", "rating", "timestamp"),
    [("first", 1.0, 5), ("last", 3.0, 7), ("max", 4.0, 9), ("mean", 8 / 3, 9), ("sum", 8.0, 9)],
)
def test_duplicate_policies(tmp_path: Path, policy: str, rating: float, timestamp: int) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,1,5\n2,10,2,6\n1,10,4,9\n1,10,3,7\n")
    result = read_interactions(path, duplicates=policy)
    row = result.data[result.data["user_id"] == 1]
    assert len(result.data) == 2 and result.dropped == {"duplicates": 2}
    assert row["rating"].item() == pytest.approx(rating)
    assert row["timestamp"].item() == timestamp


def test_missing_values_error_names_file_column_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n1,11,,101\n2,12,,102\n")
    with pytest.raises(DataError, match=r"d\.csv, line 3: empty value in column 'rating'"):
        read_interactions(path)


def test_missing_values_dropped_and_counted(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n1,11,,101\n,12,3,102\n3,12,3,\n")
    result = read_interactions(path, missing="drop")
    assert len(result.data) == 1
    assert result.dropped == {"missing_rating": 1, "missing_timestamp": 1, "missing_user_id": 1}


def test_missing_user_id_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n,11,3,101\n")
    with pytest.raises(DataError, match=r"line 3: empty value in column 'user_id'"):
        read_interactions(path)


def test_non_numeric_rating_names_line_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n1,11,good,101\n")
    with pytest.raises(
        DataError, match=r"d\.csv, line 3: column 'rating' has 'good', expected a number"
    ):
        read_interactions(path)


def test_non_numeric_timestamp_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.tsv", "u\ti\tr\tt\n1\t10\t4\t100\n1\t11\t4\tsoon\n")
    with pytest.raises(DataError, match=r"line 3: column 't' has 'soon', expected a number or"):
        read_interactions(path, user_col="u", item_col="i", rating_col="r", timestamp_col="t")


def test_date_timestamps_become_unix_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,2020-01-01\n1,11,4,2020-01-02 00:00:10\n")
    assert read_interactions(path).data["timestamp"].tolist() == [1577836800, 1577923210]


def test_missing_file_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.csv: file not found"):
        read_interactions(tmp_path / "nothing.csv")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        read_interactions(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(DataError, match=r"head\.csv: no data rows"):
        read_interactions(_write(tmp_path, "head.csv", HEADER))


def test_unknown_policies_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", HEADER + "1,10,4,100\n")
    with pytest.raises(DataError, match="unknown duplicates policy 'median'"):
        read_interactions(path, duplicates="median")
    with pytest.raises(DataError, match="unknown missing-value policy 'skip'"):
        read_interactions(path, missing="skip")


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame({"user_id": ["a", "b"], "item_id": [1, 2], "rating": [1.0, None]}).to_parquet(path)
    with pytest.raises(DataError, match=r"d\.parquet, row 2: empty value in column 'rating'"):
        read_interactions(path)
    result = read_interactions(path, missing="drop")
    assert result.data["user_id"].tolist() == ["a"] and result.dropped == {"missing_rating": 1}


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame({"user_id": [1], "item_id": [1], "rating": [1.0]}).to_parquet(path)
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: object, **kwargs: object) -> object:
        if name == "pyarrow":
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(DataError, match=r"needs pyarrow; .*warprec-core\[parquet\]"):
        read_interactions(path)


def test_pre_split_folder(tmp_path: Path) -> None:
    _write(tmp_path, "train.csv", HEADER + "1,10,4,1\n1,10,5,2\n2,11,3,3\n")
    _write(tmp_path, "test.csv", HEADER + "1,11,4,4\n")
    split = read_split(tmp_path)
    assert len(split.train) == 2 and len(split.test) == 1 and split.validation is None
    assert split.dropped == {"train_duplicates": 1} and not split.implicit
    _write(tmp_path, "validation.csv", HEADER + "2,10,4,5\n")
    assert len(read_split(tmp_path).validation) == 1


def test_pre_split_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a folder"):
        read_split(tmp_path / "missing")
    _write(tmp_path, "train.csv", HEADER + "1,10,4,1\n")
    with pytest.raises(DataError, match=r"no test file \(expected e\.g\. test\.tsv"):
        read_split(tmp_path)
    _write(tmp_path, "test.csv", HEADER + "1,10,4,1\n")
    _write(tmp_path, "test.tsv", "user_id\titem_id\trating\n1\t10\t4\n")
    with pytest.raises(DataError, match=r"several test files \(test\.csv, test\.tsv\)"):
        read_split(tmp_path)


def test_compressed_files_keep_their_format(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "train.csv.gz", "wt") as handle:
        handle.write(HEADER + "1,10,4,1\n2,11,3,2\n")
    assert read_interactions(tmp_path / "train.csv.gz").data["item_id"].tolist() == [10, 11]
    _write(tmp_path, "test.tsv", "user_id\titem_id\trating\n1\t11\t4\n")
    split = read_split(tmp_path)
    assert len(split.train) == 2 and split.test["item_id"].tolist() == [11]


@pytest.mark.parametrize(
    "rows",
    [
        "1,10,1,5\n1,10,4,9\n2,10,2,6\n",
        "a,x,1,5\na,x,4,9\nb,x,2,6\n",
        "2,10,2,6\n1,10,1,5\n1,10,4,9\n",
    ],
    ids=["grouped-int-ids", "string-ids", "ungrouped-int-ids"],
)
def test_duplicates_found_in_every_layout(tmp_path: Path, rows: str) -> None:
    result = read_interactions(_write(tmp_path, "d.csv", HEADER + rows), duplicates="max")
    assert len(result.data) == 2 and result.dropped == {"duplicates": 1}
    assert sorted(result.data["rating"].tolist()) == [2, 4]
