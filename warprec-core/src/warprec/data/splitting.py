"""Splitters: interactions -> train / validation / test.

Every splitter is deterministic for its ``seed`` and carves the validation part out of
the training part with the same strategy (its ``validation_*`` parameter; 0 or
``None``: no validation). Per-user splitters always leave every user at least one
training row. Rows of users or items that end up only in validation or test (cold) are
kept here; :class:`~warprec.data.dataset.Dataset` drops them and counts them in its
``report``.

In a config they are written ``splitting: {strategy: RandomHoldout, test_ratio: 0.2}``:
the name is looked up in ``splitter_registry`` and the other keys are constructor
arguments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from warprec.data.schema import TIMESTAMP, USER, require_columns
from warprec.errors import ConfigError
from warprec.utils.checks import check_integer, check_ratio

__all__ = [
    "KFold",
    "RandomHoldout",
    "RandomLeaveKOut",
    "Split",
    "Splitter",
    "TemporalHoldout",
    "TemporalLeaveKOut",
    "TimestampSlicing",
]


class Split(NamedTuple):
    """The parts of a split; ``validation`` is ``None`` when none was asked for."""

    train: pd.DataFrame
    validation: pd.DataFrame | None
    test: pd.DataFrame


class Splitter(ABC):
    """Base class: subclasses say which rows are held out for test and for validation."""

    seed: int = 42

    def split(self, df: pd.DataFrame) -> Split:
        """Split ``df`` (standard column names) into train, validation and test."""
        require_columns(df, (USER,), type(self).__name__)
        rng = np.random.default_rng(self.seed)
        test = self._test_mask(df, rng)
        train = df[~test]
        validation = None
        if self._has_validation():
            held = self._validation_mask(train, rng)
            validation = train[held]
            train = train[~held]
        return Split(train, validation, df[test])

    @abstractmethod
    def _test_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Boolean mask of the rows of ``df`` held out for test."""

    @abstractmethod
    def _validation_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Boolean mask of the training rows ``df`` held out for validation."""

    @abstractmethod
    def _has_validation(self) -> bool:
        """Whether the parameters ask for a validation part."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _timestamps(df: pd.DataFrame, owner: str) -> np.ndarray:
    require_columns(df, (TIMESTAMP,), f"{owner} (a temporal splitter)")
    return df[TIMESTAMP].to_numpy()


def _user_order(codes: np.ndarray, key: np.ndarray | np.random.Generator) -> np.ndarray:
    """Row order grouped by user code, by ``key`` inside a group (ties: input order), or
    at random when ``key`` is a random generator."""
    if isinstance(key, np.random.Generator):
        # Random 31-bit keys below the user code. Timsort ("stable") runs near linear
        # time on the usual files already grouped by user.
        random = key.integers(0, 2**31, codes.size)
        return np.argsort((codes.astype(np.int64) << 31) | random, kind="stable")
    if np.issubdtype(key.dtype, np.integer) and key.size:
        low, span = int(key.min()), int(key.max()) - int(key.min()) + 1
        if span * (int(codes.max()) + 1) < 2**62:
            # One stable sort of a combined integer key beats lexsort by ~3x, and is
            # near linear on files already grouped by user and time.
            return np.argsort(codes * span + (key - low), kind="stable")
    return np.lexsort((key, codes))


def _rank_in_user(
    df: pd.DataFrame, key: np.ndarray | np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's position among its user's rows ordered by ``key`` (ties: input order;
    a random generator: a random order), each row's user code, and the rows per user."""
    codes, _ = pd.factorize(df[USER], sort=False)
    order = _user_order(codes, key)
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(codes.size, dtype=np.int64)
    rank[order] = np.arange(codes.size) - np.repeat(starts, counts)
    return rank, codes, counts


def _hold_last(
    df: pd.DataFrame, key: np.ndarray | np.random.Generator, held: Callable[[np.ndarray], Any]
) -> np.ndarray:
    """Mask of each user's last ``held(rows of the user)`` rows in ``key`` order."""
    rank, codes, counts = _rank_in_user(df, key)
    return rank >= (counts - held(counts))[codes]


def _ratio_held(count: np.ndarray, ratio: float) -> np.ndarray:
    # Round half up, but always keep one row in the remaining part.
    return np.minimum(np.floor(count * ratio + 0.5).astype(np.int64), count - 1)


def _k_held(count: np.ndarray, k: int) -> np.ndarray:
    return np.where(count > k, k, 0)


class _PerUser(Splitter):
    """Holds out each user's last rows: in a random order, or in time order when
    ``temporal``. Subclasses say how many rows per user (:meth:`_held`)."""

    temporal: ClassVar[bool] = False

    @abstractmethod
    def _held(self, count: np.ndarray, test: bool) -> np.ndarray:
        """Rows held out of users with ``count`` rows, for test or for validation."""

    def _hold(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        key = _timestamps(df, type(self).__name__) if self.temporal else rng
        return _hold_last(df, key, lambda count: self._held(count, test))

    def _test_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self._hold(df, rng, test=True)

    def _validation_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self._hold(df, rng, test=False)


class _Holdout(_PerUser):
    """A ``test_ratio`` share of each user's rows for test (rounded half up, at least one
    row stays in training), then ``validation_ratio`` of the rest for validation."""

    def __init__(self, test_ratio: float = 0.2, validation_ratio: float = 0.0):
        owner = type(self).__name__
        self.test_ratio = check_ratio(test_ratio, f"{owner}.test_ratio")
        self.validation_ratio = check_ratio(validation_ratio, f"{owner}.validation_ratio")

    def _held(self, count: np.ndarray, test: bool) -> np.ndarray:
        return _ratio_held(count, self.test_ratio if test else self.validation_ratio)

    def _has_validation(self) -> bool:
        return self.validation_ratio > 0


class _LeaveKOut(_PerUser):
    """``test_k`` rows of each user with more than that for test, then ``validation_k``
    of the rest for validation; users with too few rows stay whole in training."""

    def __init__(self, test_k: int = 1, validation_k: int = 0):
        owner = type(self).__name__
        self.test_k = check_integer(test_k, 0, f"{owner}.test_k")
        self.validation_k = check_integer(validation_k, 0, f"{owner}.validation_k")

    def _held(self, count: np.ndarray, test: bool) -> np.ndarray:
        return _k_held(count, self.test_k if test else self.validation_k)

    def _has_validation(self) -> bool:
        return self.validation_k > 0


class RandomHoldout(_Holdout):
    """Per user, a random ``test_ratio`` of the rows is held out for test (rounded half
    up, at least one row stays in training), and ``validation_ratio`` of the remaining
    rows for validation.

    Args:
        test_ratio: fraction of each user's rows in test, in [0, 1).
        validation_ratio: fraction of each user's remaining rows in validation.
        seed: random seed.
    """

    def __init__(self, test_ratio: float = 0.2, validation_ratio: float = 0.0, seed: int = 42):
        super().__init__(test_ratio, validation_ratio)
        self.seed = seed


class TemporalHoldout(_Holdout):
    """Per user, the latest ``test_ratio`` of the rows (by timestamp, ties in input
    order) is held out for test, the latest ``validation_ratio`` of the rest for
    validation; at least one row per user stays in training.

    Args:
        test_ratio: fraction of each user's rows in test, in [0, 1).
        validation_ratio: fraction of each user's remaining rows in validation.
    """

    temporal = True


class RandomLeaveKOut(_LeaveKOut):
    """Per user with more than ``test_k`` rows, ``test_k`` random rows go to test;
    then ``validation_k`` of the remaining rows (users with more than that) go to
    validation. Users with too few rows stay whole in training.

    Args:
        test_k: rows per user in test.
        validation_k: rows per user in validation (0: no validation).
        seed: random seed.
    """

    def __init__(self, test_k: int = 1, validation_k: int = 0, seed: int = 42):
        super().__init__(test_k, validation_k)
        self.seed = seed


class TemporalLeaveKOut(_LeaveKOut):
    """Per user with more than ``test_k`` rows, the latest ``test_k`` go to test; the
    latest ``validation_k`` of the rest go to validation (leave-one-out when 1).

    Args:
        test_k: rows per user in test.
        validation_k: rows per user in validation (0: no validation).
    """

    temporal = True


class TimestampSlicing(Splitter):
    """Global time split: rows at or after a cut-off go to test, and rows at or after a
    second cut-off of the rest to validation. Each cut-off is a timestamp or, as a
    ratio, the time that leaves that fraction of the rows after it. Users and items
    seen only after the cut-off are cold (dropped by the Dataset, and counted).

    Args:
        test_timestamp: first timestamp of the test part.
        test_ratio: or the fraction of all rows (the latest) in test.
        validation_timestamp: first timestamp of the validation part.
        validation_ratio: or the fraction of the remaining rows in validation.
    """

    def __init__(
        self,
        test_timestamp: float | None = None,
        test_ratio: float | None = None,
        validation_timestamp: float | None = None,
        validation_ratio: float | None = None,
    ):
        if (test_timestamp is None) == (test_ratio is None):
            raise ConfigError("TimestampSlicing needs exactly one of test_timestamp and test_ratio")
        if validation_timestamp is not None and validation_ratio is not None:
            raise ConfigError(
                "TimestampSlicing takes validation_timestamp or validation_ratio, not both"
            )
        self.test_timestamp = test_timestamp
        self.test_ratio = (
            None if test_ratio is None else check_ratio(test_ratio, "TimestampSlicing.test_ratio")
        )
        self.validation_timestamp = validation_timestamp
        self.validation_ratio = (
            None
            if validation_ratio is None
            else check_ratio(validation_ratio, "TimestampSlicing.validation_ratio")
        )

    @staticmethod
    def _hold(df: pd.DataFrame, cutoff: float | None, ratio: float | None) -> np.ndarray:
        times = _timestamps(df, "TimestampSlicing")
        if cutoff is None:
            n_held = int(np.floor(len(times) * (ratio or 0.0) + 0.5))
            if n_held == 0:
                return np.zeros(len(times), dtype=bool)
            cutoff = np.sort(times)[len(times) - n_held]
        return times >= cutoff

    def _test_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self._hold(df, self.test_timestamp, self.test_ratio)

    def _validation_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self._hold(df, self.validation_timestamp, self.validation_ratio)

    def _has_validation(self) -> bool:
        return self.validation_timestamp is not None or bool(self.validation_ratio)


class KFold(Splitter):
    """Per-user k-fold cross validation: each user's rows are dealt at random into
    ``k`` folds (starting at a random fold per user, so folds stay balanced); fold
    ``fold`` is the test part. :meth:`folds` gives all ``k`` splits. Validation is a
    per-user random ``validation_ratio`` of the training part.

    Args:
        k: number of folds (>= 2).
        fold: which fold is the test part, ``0..k-1``.
        validation_ratio: fraction of each user's training rows in validation.
        seed: random seed (the same for every fold, so folds are disjoint).
    """

    def __init__(self, k: int = 5, fold: int = 0, validation_ratio: float = 0.0, seed: int = 42):
        self.k = check_integer(k, 2, "KFold.k")
        if isinstance(fold, bool) or fold not in range(self.k):
            raise ConfigError(f"KFold.fold must be an integer in 0..{self.k - 1}, got {fold!r}")
        self.fold = int(fold)
        self.validation_ratio = check_ratio(validation_ratio, "KFold.validation_ratio")
        self.seed = seed

    def folds(self, df: pd.DataFrame) -> Iterator[Split]:
        """The ``k`` splits, fold 0 first; their test parts partition ``df``."""
        for fold in range(self.k):
            yield KFold(self.k, fold, self.validation_ratio, self.seed).split(df)

    def _test_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        rank, codes, counts = _rank_in_user(df, rng)
        offset = rng.integers(0, self.k, size=counts.size)
        return (rank + offset[codes]) % self.k == self.fold

    def _validation_mask(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return _hold_last(df, rng, lambda count: _ratio_held(count, self.validation_ratio))

    def _has_validation(self) -> bool:
        return self.validation_ratio > 0
