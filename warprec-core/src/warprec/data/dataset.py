"""The in-memory dataset: id maps, :class:`Interactions` and :class:`Sessions`.

Users and items are re-indexed ``0..n-1`` from the training part (sorted original ids);
index ``n_items`` is reserved as padding. Validation and test rows whose user or item
never appears in training (cold) cannot be scored by any model trained on that part:
they are dropped and counted in :attr:`Dataset.report`. A cold-start split
(``cold_start="item"`` or ``"user"``) holds out whole items or users on purpose: their
ids join the index (sorted with the training ids), as rows or columns without any
training interaction, and their evaluation rows are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from warprec.data.batches import Batch, BatchLoader
from warprec.data.context import ContextEncoder, Transactions
from warprec.data.sampling import NegativeSampler
from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER, require_columns
from warprec.errors import DataError

__all__ = ["BatchLoader", "Dataset", "Interactions", "Sessions"]

def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


class Interactions:
    """User-item interactions over a fixed index space (one split of a :class:`Dataset`).

    Args:
        users: user index of each interaction (``0..n_users-1``).
        items: item index of each interaction (``0..n_items-1``).
        n_users: number of users of the index space.
        n_items: number of items of the index space.
        ratings: explicit feedback values; ``None`` for implicit feedback (1.0).
        timestamps: interaction times, if known.
    """

    item_features: sp.csr_matrix | None = None
    """The ``(n_items, n_features)`` item feature matrix (``reader.side``), rows in item
    index order; ``None`` without side information. Set by
    :meth:`Dataset.set_item_features`."""

    negative_pool: np.ndarray | None = None
    """The sorted item indices negatives are drawn from; ``None``: every item. A
    cold-start :class:`Dataset` sets it to the items with interactions here, so that
    training never meets the held-out items, not even as negatives."""

    item_feature_names: tuple[str, ...] = ()
    """The name of each column of :attr:`item_features` (``column`` or ``column=value``),
    so that a model can tell which columns come from one side-file column."""

    transactions: Transactions | None = None
    """Every row of the part with its context columns (``reader.labels.context_labels``),
    repeated pairs included; ``None`` without context columns. Set by :class:`Dataset`."""

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        n_users: int,
        n_items: int,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
    ):
        self.users = np.asarray(users, dtype=np.int64)
        self.items = np.asarray(items, dtype=np.int64)
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        self.ratings = None if ratings is None else np.asarray(ratings, dtype=np.float32)
        self.timestamps = None if timestamps is None else np.asarray(timestamps)
        self._check()
        self._sparse: sp.csr_matrix | None = None
        self._samplers: dict[tuple[str, float], NegativeSampler] = {}

    def _check(self) -> None:
        if self.users.shape != self.items.shape:
            raise DataError(
                f"Interactions: users and items must have the same length, got "
                f"{self.users.size} users and {self.items.size} items"
            )
        for name, values, bound in (
            ("user", self.users, self.n_users),
            ("item", self.items, self.n_items),
        ):
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise DataError(
                    f"Interactions: {name} indices must lie in 0..{bound - 1}, got "
                    f"{values.min()}..{values.max()}"
                )

    def __len__(self) -> int:
        return int(self.users.size)

    def __repr__(self) -> str:
        return f"Interactions(n_users={self.n_users}, n_items={self.n_items}, n={len(self)})"

    @property
    def implicit(self) -> bool:
        """Whether the interactions carry no explicit ratings."""
        return self.ratings is None

    def get_sparse(self) -> sp.csr_matrix:
        """The ``[n_users, n_items]`` float32 CSR matrix (ratings, or 1.0 if implicit)."""
        if self._sparse is None:
            values = np.ones(len(self), dtype=np.float32) if self.ratings is None else self.ratings
            matrix = sp.csr_matrix(
                (values, (self.users, self.items)),
                shape=(self.n_users, self.n_items),
                dtype=np.float32,
            )
            matrix.sum_duplicates()
            matrix.sort_indices()
            self._sparse = matrix
        return self._sparse

    def sampler(self, neg_sampling: str = "uniform", alpha: float = 0.75) -> NegativeSampler:
        """The (cached) negative sampler over these interactions."""
        key = (neg_sampling, float(alpha) if neg_sampling == "popularity" else 0.0)
        if key not in self._samplers:
            self._samplers[key] = NegativeSampler(self.get_sparse(), neg_sampling, alpha,
                                                  pool=self.negative_pool)
        return self._samplers[key]

    def get_contrastive_dataloader(
        self,
        batch_size: int = 1024,
        shuffle: bool = True,
        seed: int = 42,
        neg_sampling: str = "uniform",
        alpha: float = 0.75,
        **kwargs: Any,
    ) -> BatchLoader:
        """Batches of ``(user, pos_item, neg_item)`` int64 tensors, one per interaction.

        The negative is drawn uniformly (or by popularity ** ``alpha``) among the items
        the user has not interacted with, afresh every epoch.
        """
        sampler = self.sampler(neg_sampling, alpha)

        def collate(index: np.ndarray, rng: np.random.Generator) -> Batch:
            users = self.users[index]
            negatives = sampler.sample(users, 1, rng)[:, 0]
            return _tensor(users), _tensor(self.items[index]), _tensor(negatives)

        return BatchLoader(len(self), batch_size, collate, shuffle, seed)

    def get_pointwise_dataloader(
        self,
        batch_size: int = 1024,
        neg_samples: int = 1,
        shuffle: bool = True,
        seed: int = 42,
        neg_sampling: str = "uniform",
        alpha: float = 0.75,
        include_context: bool = False,
        **kwargs: Any,
    ) -> BatchLoader:
        """Batches of ``(user, item, label)``: each interaction (label 1.0) and
        ``neg_samples`` unseen items per interaction (label 0.0), shuffled together.

        With ``include_context`` and context columns (:attr:`transactions`), batches are
        ``(user, item, context, label)`` over every row instead (a pair seen in two
        contexts is two positives), ``context`` the ``[B, n_columns]`` int64 category
        indices; a negative carries its positive row's context (as WarpRec). Negatives
        are never items the user has in this part, in any context.
        """
        if neg_samples < 0:
            raise DataError(f"neg_samples must be >= 0, got {neg_samples}")
        sampler = self.sampler(neg_sampling, alpha)
        rows = self.transactions if include_context else None
        users_of, items_of = (self.users, self.items) if rows is None else (rows.users,
                                                                            rows.items)
        n = users_of.size

        def collate(index: np.ndarray, rng: np.random.Generator) -> Batch:
            source = index % n
            users = users_of[source]
            items = items_of[source].copy()
            negative = index >= n
            if negative.any():
                items[negative] = sampler.sample(users[negative], 1, rng)[:, 0]
            labels = _tensor((~negative).astype(np.float32))
            if rows is None:
                return _tensor(users), _tensor(items), labels
            return _tensor(users), _tensor(items), _tensor(rows.contexts[source]), labels

        return BatchLoader(n * (1 + neg_samples), batch_size, collate, shuffle, seed)

    def get_user_rows_dataloader(
        self, batch_size: int = 512, shuffle: bool = True, seed: int = 42, **kwargs: Any
    ) -> BatchLoader:
        """Batches of ``(users int64 [B], rows float32 [B, n_items])``: dense matrix rows
        of every user (for autoencoders)."""
        matrix = self.get_sparse()

        def collate(index: np.ndarray, rng: np.random.Generator) -> Batch:
            return _tensor(index.astype(np.int64)), _tensor(matrix[index].toarray())

        return BatchLoader(self.n_users, batch_size, collate, shuffle, seed)


class Sessions:
    """Per-user item sequences in time order (ties keep their input order).

    Args:
        users: user index of each interaction.
        items: item index of each interaction.
        n_users: number of users of the index space.
        n_items: number of items; ``n_items`` is the padding index.
        timestamps: interaction times; without them the input order is the time order.
    """

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        n_users: int,
        n_items: int,
        timestamps: np.ndarray | None = None,
    ):
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        if timestamps is None:
            order = np.argsort(users, kind="stable")
        else:
            order = np.lexsort((np.asarray(timestamps), users))
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        self.items = items[order]
        self.users = users[order]
        counts = np.bincount(self.users, minlength=self.n_users)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.lengths = counts.astype(np.int64)
        self._positives = Interactions(users, items, n_users, n_items)

    def __len__(self) -> int:
        return int(self.items.size)

    @property
    def negative_pool(self) -> np.ndarray | None:
        """The items negatives are drawn from (:attr:`Interactions.negative_pool`)."""
        return self._positives.negative_pool

    @negative_pool.setter
    def negative_pool(self, pool: np.ndarray | None) -> None:
        self._positives.negative_pool = pool

    def __repr__(self) -> str:
        return f"Sessions(n_users={self.n_users}, n_items={self.n_items}, n={len(self)})"

    def get_padded_sequences(self, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(seqs [n_users, max_len], lengths [n_users])`` int64: each user's last
        ``max_len`` items, left-padded with ``n_items``, most recent item last."""
        if max_len < 1:
            raise DataError(f"max_len must be a positive integer, got {max_len}")
        from_end = self.indptr[self.users + 1] - 1 - np.arange(len(self))
        keep = from_end < max_len
        seqs = np.full((self.n_users, max_len), self.n_items, dtype=np.int64)
        seqs[self.users[keep], max_len - 1 - from_end[keep]] = self.items[keep]
        return _tensor(seqs), _tensor(np.minimum(self.lengths, max_len))

    def get_sequential_dataloader(
        self,
        max_seq_len: int = 50,
        batch_size: int = 256,
        neg_samples: int = 1,
        shuffle: bool = True,
        seed: int = 42,
        neg_sampling: str = "uniform",
        alpha: float = 0.75,
        **kwargs: Any,
    ) -> BatchLoader:
        """Batches of ``(seq [B, L], seq_len [B], pos_item [B], neg_items [B, neg_samples])``.

        One sample per position with a history: the item is the target, the (at most
        ``max_seq_len``) items before it form the left-padded sequence. Negatives are
        never items of the user's history.
        """
        if max_seq_len < 1:
            raise DataError(f"max_seq_len must be a positive integer, got {max_seq_len}")
        sampler = self._positives.sampler(neg_sampling, alpha)
        targets = np.flatnonzero(np.arange(len(self)) > self.indptr[self.users])
        window = np.arange(-max_seq_len, 0, dtype=np.int64)

        def collate(index: np.ndarray, rng: np.random.Generator) -> Batch:
            target = targets[index]
            users = self.users[target]
            start = self.indptr[users]
            positions = target[:, None] + window[None, :]
            valid = positions >= start[:, None]
            seq = np.where(valid, self.items[np.maximum(positions, 0)], self.n_items)
            seq_len = np.minimum(target - start, max_seq_len)
            negatives = sampler.sample(users, neg_samples, rng)
            return _tensor(seq), _tensor(seq_len), _tensor(self.items[target]), _tensor(negatives)

        return BatchLoader(targets.size, batch_size, collate, shuffle, seed)


class Dataset:
    """Train / validation / test :class:`Interactions` over one id space.

    Args:
        train_df: training rows with columns ``user_id``, ``item_id`` and optionally
            ``rating`` and ``timestamp``.
        test_df: test rows, same columns.
        validation_df: validation rows, or ``None``.
        implicit: treat the data as implicit feedback (matrix values 1.0). ``None``:
            implicit exactly when ``train_df`` has no ``rating`` column.
        report: counts of rows dropped upstream (reader, filters), kept in
            :attr:`report` next to the cold rows this class drops.
        cold_start: ``"item"`` or ``"user"``: the side a cold-start splitter held out
            (:attr:`~warprec.data.splitting.Splitter.holds_out`). Its ids seen only in
            validation or test are indexed too (counted in :attr:`report` as
            ``cold_items`` / ``cold_users``) instead of dropped.
        context_labels: context columns of the rows (``reader.labels.context_labels``):
            each part then keeps every row with its context as
            :attr:`Interactions.transactions`, while its matrix view merges repeated
            (user, item) rows by ``duplicates`` (a policy of
            :func:`~warprec.data.reader.read_interactions`).
        duplicates: see ``context_labels``.
    """

    def __init__(
        self,
        train_df: pd.DataFrame,
        test_df: pd.DataFrame,
        validation_df: pd.DataFrame | None = None,
        *,
        implicit: bool | None = None,
        report: dict[str, int] | None = None,
        cold_start: str | None = None,
        context_labels: Sequence[str] = (),
        duplicates: str = "last",
    ):
        if cold_start not in (None, "item", "user"):
            raise DataError(f"cold_start: got {cold_start!r}; expected 'item', 'user' or None")
        parts = {"train": train_df, "validation": validation_df, "test": test_df}
        for name, frame in parts.items():
            if frame is not None:
                require_columns(frame, (USER, ITEM, *context_labels), f"{name} data")
        if len(train_df) == 0:
            raise DataError("train data is empty: nothing to train on")
        self.implicit = RATING not in train_df.columns if implicit is None else implicit
        self.report: dict[str, int] = dict(report or {})
        held = [frame for frame in (test_df, validation_df) if frame is not None]
        train_users, user_ids = self._index(train_df, held, USER, cold_start == "user")
        train_items, item_ids = self._index(train_df, held, ITEM, cold_start == "item")
        self._user_index = pd.Index(user_ids)
        self._item_index = pd.Index(item_ids)
        self.user_ids: np.ndarray = np.asarray(user_ids)
        self.item_ids: np.ndarray = np.asarray(item_ids)
        self.n_users = len(self.user_ids)
        self.n_items = len(self.item_ids)
        self.context = ContextEncoder(train_df, context_labels) if context_labels else None
        if self.context is None:
            self.train = self._interactions(train_df, "train", (train_users, train_items))
            self.validation = (None if validation_df is None
                               else self._interactions(validation_df, "validation"))
            self.test = self._interactions(test_df, "test")
        else:
            self.train, self.validation, self.test = (
                None if frame is None else self._with_context(frame, name, duplicates)
                for name, frame in parts.items())
        self.train_validation = self._merge(self.train, self.validation)
        if cold_start == "item":
            for part in (self.train, self.train_validation):
                part.negative_pool = np.unique(part.items)
        self._sessions: dict[str, Sessions] = {}
        self._info: dict[str, Any] | None = None
        self.item_features: sp.csr_matrix | None = None
        self.item_feature_names: list[str] = []

    def _index(self, train: pd.DataFrame, held: list[pd.DataFrame], column: str,
               keep_held: bool) -> tuple[np.ndarray, pd.Index]:
        """The training rows' codes and the sorted ids of ``column``: the training ids,
        with ``keep_held`` also those only the evaluation parts hold (counted)."""
        codes, ids = pd.factorize(train[column], sort=True)
        if not keep_held:
            return codes, ids
        unseen = pd.Index(pd.concat([frame[column] for frame in held]).unique()).difference(ids)
        self.report[f"cold_{column.removesuffix('_id')}s"] = len(unseen)
        if unseen.empty:
            return codes, ids
        ids = pd.Index(ids).append(unseen).sort_values()
        return ids.get_indexer(train[column]), ids

    @property
    def train_sessions(self) -> Sessions:
        """The training part as time-ordered :class:`Sessions` (built on first use)."""
        return self.sessions("train")

    def sessions(self, part: str = "train") -> Sessions:
        """A part (``"train"`` or ``"train_validation"``) as time-ordered
        :class:`Sessions`, built on first use: the histories a sequential model reads."""
        if part not in ("train", "train_validation"):
            raise ValueError(f"sessions of {part!r}: expected 'train' or 'train_validation'")
        if part not in self._sessions:
            rows = getattr(self, part)
            self._sessions[part] = Sessions(rows.users, rows.items, self.n_users,
                                            self.n_items, rows.timestamps)
            self._sessions[part].negative_pool = rows.negative_pool
        return self._sessions[part]

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        splitter: Any = None,
        *,
        filters: Sequence[Any] = (),
        implicit: bool | None = None,
        report: dict[str, int] | None = None,
        context_labels: Sequence[str] = (),
    ) -> Dataset:
        """Filter and split one table into a dataset.

        Args:
            df: all interactions (standard column names).
            splitter: a splitter from :mod:`warprec.data.splitting` (default: a per-user
                random 80/20 holdout, seed 42).
            filters: filters from :mod:`warprec.data.filtering`, applied in order.
            implicit: see :class:`Dataset`.
            report: counts of rows already dropped upstream.
            context_labels: see :class:`Dataset`.
        """
        from warprec.data.filtering import apply_filters
        from warprec.data.splitting import RandomHoldoutPerUser

        counts = dict(report or {})
        df = apply_filters(df, filters, counts)
        splitter = splitter or RandomHoldoutPerUser()
        split = splitter.split(df)
        return cls(split.train, split.test, split.validation, implicit=implicit, report=counts,
                   cold_start=getattr(splitter, "holds_out", None),
                   context_labels=context_labels)

    def _interactions(
        self,
        frame: pd.DataFrame,
        name: str,
        codes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Interactions:
        if codes is None:
            codes = (
                self._user_index.get_indexer(frame[USER]),
                self._item_index.get_indexer(frame[ITEM]),
            )
        users, items = codes
        if name == "train":
            _check_ids(frame, users, items)
        known = (users >= 0) & (items >= 0)
        if name != "train":
            self.report[f"{name}_cold_rows"] = int(known.size - known.sum())
        keep = known & _last_of_duplicates(users, items, self.n_items)
        if (known & ~keep).any():
            self.report[f"{name}_duplicates"] = int((known & ~keep).sum())
        ratings = None
        if not self.implicit:
            require_columns(frame, (RATING,), f"{name} data (explicit feedback)")
            ratings = frame[RATING].to_numpy(dtype=np.float32)[keep]
            if np.isnan(ratings).any():
                raise DataError(f"{name} data: column {RATING!r} has empty (NaN) values")
        timestamps = frame[TIMESTAMP].to_numpy()[keep] if TIMESTAMP in frame.columns else None
        return Interactions(
            users[keep], items[keep], self.n_users, self.n_items, ratings, timestamps
        )

    def _with_context(self, frame: pd.DataFrame, name: str, duplicates: str) -> Interactions:
        """The matrix view of a part with context columns (repeated pairs merged by
        ``duplicates``) carrying every known row with its context."""
        from warprec.data.reader import merge_duplicates

        assert self.context is not None
        matrix = self._interactions(
            merge_duplicates(frame.drop(columns=self.context.labels), duplicates), name)
        users = self._user_index.get_indexer(frame[USER])
        items = self._item_index.get_indexer(frame[ITEM])
        known = (users >= 0) & (items >= 0)
        ratings = None if self.implicit else frame[RATING].to_numpy(np.float32)[known]
        matrix.transactions = Transactions(users[known], items[known],
                                           self.context.encode(frame)[known], ratings)
        return matrix

    def _merge(self, first: Interactions, second: Interactions | None) -> Interactions:
        if second is None:
            return first
        ratings = timestamps = None
        if first.ratings is not None and second.ratings is not None:
            ratings = np.concatenate([first.ratings, second.ratings])
        if first.timestamps is not None and second.timestamps is not None:
            timestamps = np.concatenate([first.timestamps, second.timestamps])
        merged = Interactions(
            np.concatenate([first.users, second.users]),
            np.concatenate([first.items, second.items]),
            self.n_users,
            self.n_items,
            ratings,
            timestamps,
        )
        if first.transactions is not None and second.transactions is not None:
            merged.transactions = first.transactions.concat(second.transactions)
        return merged

    def __repr__(self) -> str:
        validation = len(self.validation) if self.validation is not None else 0
        return (
            f"Dataset(n_users={self.n_users}, n_items={self.n_items}, train={len(self.train)}, "
            f"validation={validation}, test={len(self.test)})"
        )

    def info(self) -> dict[str, Any]:
        """What a model needs to size itself: ``n_users``, ``n_items``, the id maps
        (``user_mapping``/``item_mapping``: original id -> index), the number of training
        interactions, the feedback kind and the drop counts; with context columns,
        ``context_dims`` (``{column: number of categories}``, index 0 = unknown, in
        ``reader.labels.context_labels`` order, WarpRec's key)."""
        if self._info is None:
            self._info = {
                "n_users": self.n_users,
                "n_items": self.n_items,
                "user_mapping": dict(zip(self.user_ids.tolist(), range(self.n_users), strict=True)),
                "item_mapping": dict(zip(self.item_ids.tolist(), range(self.n_items), strict=True)),
                "n_interactions": len(self.train),
                "implicit": self.implicit,
                "report": dict(self.report),
            }
            if self.context is not None:
                self._info["context_dims"] = self.context.dims
        return self._info

    def set_item_features(self, matrix: sp.csr_matrix, names: Sequence[str]) -> None:
        """Give every part the item features (rows in item index order) and their names."""
        if matrix.shape[0] != self.n_items:
            raise DataError(f"item features have {matrix.shape[0]} rows; expected one per "
                            f"item ({self.n_items})")
        self.item_features = sp.csr_matrix(matrix, dtype=np.float32)
        self.item_feature_names = list(names)
        for part in (self.train, self.validation, self.test, self.train_validation):
            if part is not None:
                part.item_features = self.item_features
                part.item_feature_names = tuple(self.item_feature_names)

    def user_index(self, ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Indices of original user ids; :class:`DataError` names the first unknown one."""
        return _lookup(self._user_index, ids, "user")

    def item_index(self, ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Indices of original item ids; :class:`DataError` names the first unknown one."""
        return _lookup(self._item_index, ids, "item")


def _check_ids(frame: pd.DataFrame, users: np.ndarray, items: np.ndarray) -> None:
    for column, codes in ((USER, users), (ITEM, items)):
        if (codes < 0).any():
            row = frame.index[np.flatnonzero(codes < 0)[0]]
            raise DataError(f"train data: empty {column!r} at row {row!r}")


def _last_of_duplicates(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Mask keeping the last row of every repeated (user, item) pair (cold rows, with
    index -1, never collide with a real pair)."""
    keys = users.astype(np.int64) * (n_items + 1) + items
    # A stable sort keeps equal keys in row order, so the last of a run is the last row;
    # on the usual rows grouped by user it is ~2x faster than hashing.
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    keep = np.ones(keys.size, dtype=bool)
    keep[order[:-1]] = ordered[:-1] != ordered[1:]
    return keep


def _lookup(index: pd.Index, ids: Sequence[Any] | np.ndarray, kind: str) -> np.ndarray:
    values = np.asarray(ids)
    found = index.get_indexer(values)
    if (found < 0).any():
        first = values[found < 0][:1].tolist()[0]
        raise DataError(f"unknown {kind} id {first!r}: not in the training data")
    return found.astype(np.int64)
