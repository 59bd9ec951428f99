"""Context columns (``reader.labels.context_labels``): read with their rows, kept through
filtering and splitting, encoded as WarpRec does (0 = unknown, ``context_dims`` =
categories + 1), and handed to the models as row-level batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from warprec.data.dataset import Dataset
from warprec.data.filtering import UserMinInteractions, apply_filters
from warprec.data.reader import read_interactions
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.errors import DataError


def rows() -> pd.DataFrame:
    """Eight users with twelve rows each; every user has item 0 in two contexts."""
    records = []
    for user in range(8):
        for j in range(12):
            item = 0 if j < 2 else (user + j) % 15
            records.append((user, item, 1 + j % 5, ["am", "pm", "night"][j % 3], j % 2))
    return pd.DataFrame(records, columns=["user_id", "item_id", "rating", "daytime", "weekend"])


def test_the_reader_keeps_every_row_and_reads_the_context_types(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("user_id\titem_id\trating\tzone\tweekend\n"
                    "1\t5\t3\t007\t1\n1\t5\t4\t008\t0\n2\t6\t1\t007\t1\n")
    read = read_interactions(path, context_cols=["zone", "weekend"],
                             context_types={"zone": "str"})
    assert len(read.data) == 3  # the pair (1, 5) in two contexts: two rows
    assert read.data["zone"].tolist() == ["007", "008", "007"]
    assert read.data["weekend"].tolist() == [1, 0, 1]
    assert "duplicates" not in read.dropped
    merged = read_interactions(path)  # without context columns pairs still merge
    assert len(merged.data) == 2


def test_dataset_encodes_contexts_as_warprec() -> None:
    frame = rows()
    test = frame.iloc[:3].assign(daytime=["am", "dawn", "pm"])
    data = Dataset(frame, test, context_labels=["daytime", "weekend"])
    # Sorted training values get 1..n; 0 is the unknown value ("dawn").
    assert data.info()["context_dims"] == {"daytime": 4, "weekend": 3}
    assert list(data.info()["context_dims"]) == ["daytime", "weekend"]
    assert data.test.transactions.contexts[:, 0].tolist() == [1, 0, 3]
    # The matrix view holds each pair once; the rows keep every context.
    assert len(data.train.transactions) == len(frame)
    assert len(data.train) == len(frame.drop_duplicates(["user_id", "item_id"]))
    assert "context_dims" not in Dataset(frame, test).info()


def test_matrix_view_merges_repeated_pairs_by_the_policy() -> None:
    frame = rows()
    data = Dataset(frame, frame.iloc[:2], context_labels=["daytime"], duplicates="max")
    # Item 0 of user 0 is rated 1 (am) and 2 (pm): "max" keeps 2.
    assert data.train.get_sparse()[0, data.item_index([0])[0]] == 2.0


def test_filtering_and_splitting_keep_each_context_with_its_row() -> None:
    frame = rows().assign(row=np.arange(96))
    frame = apply_filters(frame, [UserMinInteractions(5)], {})
    split = RandomHoldoutPerUser(0.25, seed=3).split(frame)
    original = rows().assign(row=np.arange(96)).set_index("row")
    for part in (split.train, split.test):
        kept = original.loc[part["row"]]
        assert (part["daytime"].to_numpy() == kept["daytime"].to_numpy()).all()
        assert (part["weekend"].to_numpy() == kept["weekend"].to_numpy()).all()
    assert len(split.train) + len(split.test) == 96


def test_pointwise_batches_carry_each_rows_context() -> None:
    frame = rows()
    data = Dataset(frame, frame.iloc[:2], context_labels=["daytime", "weekend"])
    batches = list(data.train.get_pointwise_dataloader(batch_size=50, neg_samples=2,
                                                       seed=1, include_context=True))
    user, item, context, label = (np.concatenate([b[i].numpy() for b in batches])
                                  for i in range(4))
    rows_ = data.train.transactions
    assert context.shape == (3 * len(rows_), 2) and context.dtype == np.int64
    positives = label == 1.0
    assert positives.sum() == len(rows_)  # every row, repeated pairs included
    seen = data.train.get_sparse()
    assert not seen[user[~positives], item[~positives]].any()  # unseen negatives
    # A negative carries a context of one of its user's rows (its positive's).
    contexts_of = {(u, tuple(c)) for u, c in zip(rows_.users, rows_.contexts, strict=True)}
    assert all((u, tuple(c)) in contexts_of for u, c in
               zip(user[~positives], context[~positives], strict=True))
    plain = next(iter(data.train.get_pointwise_dataloader(batch_size=8)))
    assert len(plain) == 3  # without include_context: (user, item, label) as before


def test_a_context_column_missing_from_a_part_is_refused() -> None:
    frame = rows()
    with pytest.raises(DataError, match="test data: missing column 'weekend'"):
        Dataset(frame, frame.iloc[:2].drop(columns="weekend"),
                context_labels=["daytime", "weekend"])


def test_seen_in_context_is_per_user_and_exact_context() -> None:
    frame = rows()
    data = Dataset(frame, frame.iloc[:2], context_labels=["daytime"])
    train = data.train.transactions
    am = data.context.encode(pd.DataFrame({"daytime": ["am"]}))
    queries, items = train.seen_in_context(np.array([0, 0]), np.vstack([am, [[0]]]))
    expected = set(frame[(frame.user_id == 0) & (frame.daytime == "am")].item_id)
    assert set(data.item_ids[items[queries == 0]]) == expected
    assert not (queries == 1).any()  # a context never seen masks nothing


def test_a_tab_separated_csv_is_read_as_warprec_reads_it(tmp_path: Path) -> None:
    # WarpRec's default separator is a tab whatever the extension (its Frappe files).
    path = tmp_path / "train.csv"
    path.write_text("user_id\titem_id\trating\tdaytime_morning\n1\t5\t3\t1\n2\t6\t4\t0\n")
    read = read_interactions(path, context_cols=["daytime_morning"])
    assert read.data.columns.tolist() == ["user_id", "item_id", "rating", "daytime_morning"]
    assert read.data["daytime_morning"].tolist() == [1, 0]
    commas = tmp_path / "commas.csv"
    commas.write_text("user_id,item_id,rating\n1,5,3\n")
    assert read_interactions(commas).data["item_id"].tolist() == [5]


def test_a_context_column_mixing_kinds_of_values_is_refused() -> None:
    from warprec.data.context import check_context_columns

    frame = pd.DataFrame({"daytime": ["am", 3, "pm"]})  # e.g. a parquet object column
    with pytest.raises(DataError, match="row 1: context column 'daytime' mixes str and int"):
        check_context_columns(frame, ["daytime"], {}, lambda values, bad:
                              f"row {int(np.flatnonzero(bad)[0])}")
