"""WarpRec's file formats: recommendation lists (written and read back) and split parts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from warprec.errors import ConfigError, DataError
from warprec.io_formats import (
    read_recommendations,
    recommendation_frame,
    write_split_part,
    write_table,
)


def _text(frame: pd.DataFrame, **options: object) -> str:
    handle = io.StringIO()
    write_table(handle, frame, **options)  # type: ignore[arg-type]
    return handle.getvalue()


def test_recommendations_default_to_warprecs_three_columns() -> None:
    frame = recommendation_frame(np.array([7, 3]), np.array([[10, 11], [12, 13]]),
                                 np.array([[0.5, 0.25], [2.0, -np.inf]]))
    # Users in the given order, items best first; the masked (-inf) entry is left out.
    assert _text(frame) == ("user_id\titem_id\trating\n7\t10\t0.5\n7\t11\t0.25\n"
                            "3\t12\t2.0\n")
    assert _text(frame, sep=",", header=False) == "7,10,0.5\n7,11,0.25\n3,12,2.0\n"


def test_rank_column_only_when_asked_and_last() -> None:
    frame = recommendation_frame(np.array(["u1"]), np.array([["a", "b", "c"]]),
                                 np.array([[3.0, 2.0, np.nan]]), rank=True,
                                 rating_label="score")
    assert list(frame.columns) == ["user_id", "item_id", "score", "rank"]
    assert frame["rank"].tolist() == [1, 2]
    with pytest.raises(ConfigError, match="must be distinct"):
        recommendation_frame(np.array([1]), np.array([[1]]), np.array([[1.0]]),
                             rating_label="rank", rank=True)
    with pytest.raises(DataError, match=r"must both be \[len\(users\)=2, k\]"):
        recommendation_frame(np.array([1, 2]), np.array([[1]]), np.array([[1.0]]))


def test_split_part_uses_the_readers_labels() -> None:
    part = pd.DataFrame({"user_id": [1, 2], "item_id": [5, 6], "rating": [4.0, 3.5]},
                        index=[8, 9])
    handle = io.StringIO()
    write_split_part(handle, part, {"user_id": "u", "item_id": "i"}, sep=",")
    assert handle.getvalue() == "u,i,rating\n1,5,4.0\n2,6,3.5\n"


@pytest.mark.parametrize(("text", "header"), [
    ("user_id\titem_id\trating\n1\t5\t0.9\n2\tx\t0.1\n", True),           # WarpRec's
    ("user_id\titem_id\tscore\trank\n1\t5\t0.9\t1\n2\tx\t0.1\t1\n", True),  # ours, rank last
    ("user_id\titem_id\trank\tscore\n1\t5\t1\t0.9\n2\tx\t1\t0.1\n", True),  # rank before
    ("1\t5\t0.9\t1\n2\tx\t0.1\t1\n", False),                               # no header
])
def test_read_recommendations_of_either_format(text: str, header: bool) -> None:
    frame = read_recommendations(io.StringIO(text), header=header)
    assert frame.to_dict("list") == {"user": ["1", "2"], "item": ["5", "x"],
                                     "score": [0.9, 0.1]}


def test_read_recommendations_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_recommendations(tmp_path / "missing.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty; expected rows of user, item, score"):
        read_recommendations(empty)
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("user_id,item_id\n1,2\n")
    with pytest.raises(DataError, match=r"1 column\(s\) with separator '\\t'"):
        read_recommendations(narrow)
    bad = tmp_path / "bad.tsv"
    bad.write_text("u\ti\ts\n1\t2\t0.5\n1\t3\thigh\n")
    with pytest.raises(DataError, match="line 3: score 'high' is not a number"):
        read_recommendations(bad)
