"""Dataset, Interactions and Sessions: id maps, matrices, dataloaders, cold rows."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch
from warprec.data.dataset import BatchLoader, Dataset, Interactions, Sessions
from warprec.data.filtering import KCore
from warprec.data.splitting import ItemColdStart, RandomHoldoutPerUser, TemporalLeaveKOut
from warprec.data.synthetic import synthetic
from warprec.errors import DataError


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


@pytest.fixture
def tiny() -> Dataset:
    train = _frame(
        [("u2", "b", 3.0, 5), ("u1", "a", 5.0, 3), ("u1", "c", 1.0, 1), ("u2", "a", 2, 9)]
    )
    test = _frame([("u1", "b", 4.0, 10), ("u3", "a", 1.0, 11), ("u2", "z", 2.0, 12)])
    validation = _frame([("u2", "c", 4.0, 7)])
    return Dataset(train, test, validation)


def test_a_cold_start_dataset_keeps_the_held_out_items_in_its_catalogue() -> None:
    train = _frame([("u1", "a", 5.0, 1), ("u2", "c", 3.0, 2), ("u2", "a", 1.0, 3)])
    test = _frame([("u1", "b", 4.0, 4), ("u2", "d", 2.0, 5), ("u3", "b", 1.0, 6)])
    warm = Dataset(train, test)
    assert warm.item_ids.tolist() == ["a", "c"] and len(warm.test) == 0
    cold = Dataset(train, test, cold_start="item")
    assert cold.item_ids.tolist() == ["a", "b", "c", "d"]  # sorted with the training ids
    assert cold.train.get_sparse()[:, [1, 3]].nnz == 0  # held out of training
    assert cold.test.get_sparse().toarray().tolist() == [[0, 4, 0, 0], [0, 0, 0, 2]]
    # The user side is not held out: u3 (only in test) is still cold and dropped.
    assert cold.user_ids.tolist() == ["u1", "u2"]
    assert cold.report == {"cold_items": 2, "test_cold_rows": 1}
    by_user = Dataset(train, test, cold_start="user")
    assert by_user.user_ids.tolist() == ["u1", "u2", "u3"] and len(by_user.test) == 0
    with pytest.raises(DataError, match="cold_start: got 'items'; expected 'item'"):
        Dataset(train, test, cold_start="items")


def test_from_dataframe_with_a_cold_start_splitter_evaluates_the_held_out_items() -> None:
    frame = synthetic(n_users=40, n_items=60, n_interactions=800, seed=2)
    dataset = Dataset.from_dataframe(frame, ItemColdStart(0.2, seed=4))
    held = np.unique(dataset.test.items)
    assert dataset.n_items == frame["item_id"].nunique()
    assert held.size == dataset.report["cold_items"] == 12
    assert np.asarray(dataset.train.get_sparse()[:, held].sum()) == 0
    # Training never meets the held-out items, not even as negatives.
    batches = dataset.train.get_pointwise_dataloader(batch_size=4096, neg_samples=4)
    _, items, labels = next(iter(batches))
    assert not np.isin(items[labels == 0].numpy(), held).any()
    sequences = dataset.train_sessions.get_sequential_dataloader(batch_size=4096, neg_samples=4)
    *_, negatives = next(iter(sequences))
    assert not np.isin(negatives.numpy(), held).any()


def test_id_maps_are_sorted_and_round_trip(tiny: Dataset) -> None:
    assert tiny.user_ids.tolist() == ["u1", "u2"]
    assert tiny.item_ids.tolist() == ["a", "b", "c"]
    info = tiny.info()
    assert info["n_users"] == 2 and info["n_items"] == 3
    assert info["user_mapping"] == {"u1": 0, "u2": 1}
    assert info["item_mapping"] == {"a": 0, "b": 1, "c": 2}
    assert tiny.user_ids[tiny.user_index(["u2", "u1"])].tolist() == ["u2", "u1"]
    assert tiny.item_ids[tiny.item_index(["c", "a"])].tolist() == ["c", "a"]
    with pytest.raises(DataError, match="unknown item id 'nope'"):
        tiny.item_index(["a", "nope"])


def test_cold_test_rows_are_dropped_and_counted(tiny: Dataset) -> None:
    assert len(tiny.test) == 1  # u3 (cold user) and z (cold item) dropped
    assert tiny.report["test_cold_rows"] == 2
    assert tiny.report["validation_cold_rows"] == 0
    assert tiny.info()["report"]["test_cold_rows"] == 2
    assert tiny.test.n_users == tiny.train.n_users == 2
    assert tiny.test.n_items == tiny.validation.n_items == 3


def test_sparse_matrix_values_and_cache(tiny: Dataset) -> None:
    matrix = tiny.train.get_sparse()
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32
    assert matrix.toarray().tolist() == [[5.0, 0.0, 1.0], [2.0, 3.0, 0.0]]
    assert tiny.train.get_sparse() is matrix
    implicit = Dataset(tiny_train_frame(), tiny_train_frame(), implicit=True)
    assert set(implicit.train.get_sparse().data.tolist()) == {1.0}


def tiny_train_frame() -> pd.DataFrame:
    return _frame([("u1", "a", 5.0, 1), ("u1", "b", 2.0, 2), ("u2", "a", 1.0, 3)])


def test_implicit_by_default_without_rating_column() -> None:
    frame = tiny_train_frame().drop(columns="rating")
    dataset = Dataset(frame, frame)
    assert dataset.implicit and dataset.train.implicit
    assert dataset.train.get_sparse().toarray().tolist() == [[1.0, 1.0], [1.0, 0.0]]


def test_train_validation_merges_both_parts(tiny: Dataset) -> None:
    merged = tiny.train_validation.get_sparse().toarray()
    assert merged[1, 2] == 4.0 and len(tiny.train_validation) == 5
    assert Dataset(tiny_train_frame(), tiny_train_frame()).validation is None


def test_empty_train_and_missing_columns_are_errors() -> None:
    empty = tiny_train_frame().iloc[:0]
    with pytest.raises(DataError, match="train data is empty"):
        Dataset(empty, tiny_train_frame())
    with pytest.raises(DataError, match="test data: missing column 'item_id'"):
        Dataset(tiny_train_frame(), tiny_train_frame().drop(columns="item_id"))


def test_from_dataframe_filters_splits_and_reports() -> None:
    frame = synthetic(n_users=80, n_items=60, n_interactions=1500, seed=1)
    dataset = Dataset.from_dataframe(
        frame, TemporalLeaveKOut(test_k=1, validation_k=1), filters=[KCore(3)]
    )
    assert dataset.validation is not None
    assert "filter_KCore" in dataset.report
    total = len(dataset.train) + len(dataset.validation) + len(dataset.test)
    assert (
        total + dataset.report["test_cold_rows"] + dataset.report["validation_cold_rows"]
        == len(frame) - dataset.report["filter_KCore"]
    )
    default = Dataset.from_dataframe(frame)
    assert abs(len(default.test) / len(frame) - 0.2) < 0.03


def test_contrastive_dataloader_contract() -> None:
    dataset = Dataset.from_dataframe(synthetic(50, 40, 600, seed=3), RandomHoldoutPerUser(0.2))
    loader = dataset.train.get_contrastive_dataloader(batch_size=64, seed=7)
    assert len(loader) == -(-len(dataset.train) // 64)
    batches = list(loader)
    assert len(batches) == len(loader)
    users, positives, negatives = (torch.cat(parts).numpy() for parts in zip(*batches, strict=True))
    assert all(t.dtype == torch.int64 for t in batches[0])
    matrix = dataset.train.get_sparse()
    assert np.asarray(matrix[users.copy(), positives.copy()]).min() > 0
    assert np.asarray(matrix[users.copy(), negatives.copy()]).max() == 0
    pairs = sorted(zip(users.tolist(), positives.tolist(), strict=True))
    stored = sorted(zip(dataset.train.users.tolist(), dataset.train.items.tolist(), strict=True))
    assert pairs == stored
    second = torch.cat([b[2] for b in loader])
    assert not torch.equal(second, torch.from_numpy(negatives))  # fresh negatives per epoch
    again = dataset.train.get_contrastive_dataloader(batch_size=64, seed=7)
    assert torch.equal(torch.cat([b[2] for b in again]), torch.from_numpy(negatives))



def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "warprec-batch-prefetch"]


def test_prefetching_yields_the_same_batches_and_stops_when_abandoned() -> None:
    dataset = Dataset.from_dataframe(synthetic(50, 40, 600, seed=3), RandomHoldoutPerUser(0.2))
    plain = dataset.train.get_contrastive_dataloader(batch_size=32, seed=5)
    plain.prefetch = 0
    ahead = dataset.train.get_contrastive_dataloader(batch_size=32, seed=5)
    ahead.prefetch = 3
    for _ in range(2):  # two epochs: fresh negatives, still identical
        for left, right in zip(plain, ahead, strict=True):
            assert all(torch.equal(a, b) for a, b in zip(left, right, strict=True))
    epoch = iter(ahead)
    next(epoch)
    assert _prefetch_threads()
    epoch.close()  # abandoned mid-epoch: the thread ends
    assert not _prefetch_threads()


def test_prefetching_raises_collate_errors_and_rejects_negative_depth() -> None:
    def collate(index: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        if index[0] >= 4:
            raise ValueError("bad batch")
        return (torch.from_numpy(index),)

    loader = BatchLoader(10, 2, collate, shuffle=False, prefetch=2)
    with pytest.raises(ValueError, match="bad batch"):
        list(loader)
    assert not _prefetch_threads()
    with pytest.raises(DataError, match="prefetch"):
        BatchLoader(10, 2, collate, prefetch=-1)

def test_pointwise_dataloader_labels_and_negatives() -> None:
    dataset = Dataset.from_dataframe(synthetic(40, 30, 400, seed=4))
    loader = dataset.train.get_pointwise_dataloader(batch_size=100, neg_samples=3, seed=1)
    users, items, labels = (torch.cat(p) for p in zip(*loader, strict=True))
    assert labels.dtype == torch.float32 and users.dtype == torch.int64
    n = len(dataset.train)
    assert users.numel() == 4 * n and labels.sum().item() == n
    matrix = dataset.train.get_sparse()
    seen = np.asarray(matrix[users.numpy().copy(), items.numpy().copy()]).ravel() > 0
    assert np.array_equal(seen, labels.numpy() == 1.0)


def test_user_rows_dataloader_dense_rows() -> None:
    dataset = Dataset(tiny_train_frame(), tiny_train_frame(), implicit=True)
    loader = dataset.train.get_user_rows_dataloader(batch_size=1, shuffle=False)
    batches = list(loader)
    assert len(loader) == 2 and batches[0][0].tolist() == [0]
    assert batches[0][1].dtype == torch.float32
    assert batches[0][1].tolist() == [[1.0, 1.0]] and batches[1][1].tolist() == [[1.0, 0.0]]


def _sessions() -> Sessions:
    # user 0: items 3, 1, 2 in time order (given out of order); user 1: item 0; user 2: none
    users = np.array([0, 1, 0, 0])
    items = np.array([2, 0, 3, 1])
    times = np.array([30, 5, 10, 20])
    return Sessions(users, items, n_users=3, n_items=5, timestamps=times)


def test_padded_sequences_left_padded_most_recent_last() -> None:
    seqs, lengths = _sessions().get_padded_sequences(max_len=2)
    assert seqs.tolist() == [[1, 2], [5, 0], [5, 5]]
    assert lengths.tolist() == [2, 1, 0]
    full, _ = _sessions().get_padded_sequences(max_len=4)
    assert full[0].tolist() == [5, 3, 1, 2]


def test_sequential_dataloader_prefix_to_next_item() -> None:
    loader = _sessions().get_sequential_dataloader(
        max_seq_len=2, batch_size=10, neg_samples=2, shuffle=False
    )
    assert len(loader) == 1
    seq, seq_len, target, negatives = next(iter(loader))
    assert seq.tolist() == [[5, 3], [3, 1]]
    assert seq_len.tolist() == [1, 2] and target.tolist() == [1, 2]
    assert negatives.shape == (2, 2)
    assert set(negatives.ravel().tolist()) <= {0, 4}  # never items of user 0's history


def test_dataset_train_sessions_follow_timestamps(tiny: Dataset) -> None:
    seqs, lengths = tiny.train_sessions.get_padded_sequences(3)
    assert seqs[0].tolist() == [3, 2, 0]  # u1: c (t=1) then a (t=3)
    assert lengths.tolist() == [2, 2]


def test_interactions_reject_out_of_range_indices() -> None:
    with pytest.raises(DataError, match=r"item indices must lie in 0\.\.1"):
        Interactions(np.array([0]), np.array([2]), n_users=1, n_items=2)
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        Interactions(np.array([0]), np.array([1]), 1, 2).get_contrastive_dataloader(batch_size=0)


def test_repeated_pairs_keep_the_last_row_and_are_counted() -> None:
    train = _frame([("u1", "a", 1.0, 1), ("u1", "a", 4.0, 2), ("u2", "a", 3.0, 3)])
    dataset = Dataset(train, train)
    assert dataset.train.get_sparse().toarray().tolist() == [[4.0], [3.0]]
    assert dataset.report["train_duplicates"] == 1 and dataset.report["test_duplicates"] == 1


def test_empty_ids_and_ratings_in_frames_are_errors() -> None:
    train = _frame([("u1", "a", 1.0, 1), (None, "b", 2.0, 2)])
    with pytest.raises(DataError, match="train data: empty 'user_id' at row 1"):
        Dataset(train, train)
    train = _frame([("u1", "a", 1.0, 1), ("u1", "b", float("nan"), 2)])
    with pytest.raises(DataError, match=r"train data: column 'rating' has empty \(NaN\) values"):
        Dataset(train, train)
