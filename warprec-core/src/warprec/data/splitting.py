"""Splitters: interactions -> train / validation / test.

The strategies WarpRec has keep WarpRec's names and give the same rows as WarpRec 2.2.8
on the same table (checked on MovieLens-100K, ``bench/bench_split_parity.py``):

==========================  =====================  =======================================
config ``strategy``         class                  rows held out
==========================  =====================  =======================================
``random_holdout``          :class:`RandomHoldout`        ``ratio`` of the whole table, at
                                                           random (not per user)
``temporal_holdout``        :class:`TemporalHoldout`      per user, the latest rows past
                                                           ``floor(n * (1 - ratio))``
``random_leave_k_out``      :class:`RandomLeaveKOut`      per user, ``k`` random rows
``temporal_leave_k_out``    :class:`TemporalLeaveKOut`    per user, the latest ``k`` rows
``timestamp_slicing``       :class:`TimestampSlicing`     rows at or after a time (or the
                                                           ``best`` time)
``k_fold_cross_validation`` :class:`KFold`                per user, every ``k``-th row
==========================  =====================  =======================================

WarpRec's cold-start strategies hold out whole entities instead of rows:

==========================  =====================  =======================================
``item_cold_start``         :class:`ItemColdStart`        every row of a sampled ``ratio`` of
                                                           the items
``user_cold_start``         :class:`UserColdStart`        every row of a sampled ``ratio`` of
                                                           the users
==========================  =====================  =======================================

Their :attr:`Splitter.holds_out` (``"item"`` or ``"user"``) tells the
:class:`~warprec.data.dataset.Dataset` to keep the held-out entities in its catalogue
instead of dropping their rows as cold (WarpRec's ``cold_start`` of its dataset).

Our own strategy: ``random_holdout_per_user`` (:class:`RandomHoldoutPerUser`, this
project's former ``random_holdout``: a ratio of each user's rows).

Every splitter is deterministic for its ``seed`` and carves the validation part out of
the training part with the same strategy (its ``validation_*`` parameter; 0 or ``None``:
no validation), as WarpRec applies the validation strategy to the training part the test
split left. A random strategy draws afresh from its seed for each of the two splits, as
WarpRec does. Leave-k-out splitters drop the users with ``k`` rows or fewer from both
parts (WarpRec's rule); the other splitters keep every row. Rows of users or items that
end up only in validation or test (cold) are kept here;
:class:`~warprec.data.dataset.Dataset` drops them and counts them in its ``report``,
except the side a cold-start splitter holds out.

In a config they are written ``splitter: {test_splitting: {strategy: random_holdout,
ratio: 0.2}}``; a registry name (``RandomHoldout``) works too, with constructor arguments
``test_ratio``, ``test_k``, ``test_timestamp``, ``seed``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from warprec.data.schema import ITEM, TIMESTAMP, USER, require_columns
from warprec.errors import ConfigError, DataError
from warprec.utils.checks import check_integer, check_ratio

__all__ = [
    "ItemColdStart",
    "KFold",
    "RandomHoldout",
    "RandomHoldoutPerUser",
    "RandomLeaveKOut",
    "Split",
    "Splitter",
    "TemporalHoldout",
    "TemporalLeaveKOut",
    "TimestampSlicing",
    "UserColdStart",
    "aligned",
]

logger = logging.getLogger("warprec")

# What _assign says of each row.
TRAIN, HELD, DROPPED = 0, 1, -1


class Split(NamedTuple):
    """The parts of a split; ``validation`` is ``None`` when none was asked for."""

    train: pd.DataFrame
    validation: pd.DataFrame | None
    test: pd.DataFrame


class Splitter(ABC):
    """Base class: subclasses say, row by row, what is held out for test and validation.

    :meth:`_assign` returns one code per row: ``TRAIN`` (0), ``HELD`` (1) or ``DROPPED``
    (-1, in neither part).
    """

    seed: int = 42
    holds_out: ClassVar[str | None] = None
    """``"item"`` or ``"user"`` when the splitter holds out whole items or users (cold
    start): the side whose unseen ids the evaluation keeps; ``None`` otherwise."""

    def split(self, df: pd.DataFrame) -> Split:
        """Split ``df`` (standard column names) into train, validation and test; each
        part keeps the rows in their input order."""
        name = type(self).__name__
        require_columns(df, (USER,), name)
        rng = np.random.default_rng(self.seed)
        parts = self._assign(df, rng, test=True)
        train, test = df[parts == TRAIN], df[parts == HELD]
        dropped = int((parts == DROPPED).sum())
        validation = None
        if self._has_validation():
            held = self._assign(train, rng, test=False)
            dropped += int((held == DROPPED).sum())
            validation, train = train[held == HELD], train[held == TRAIN]
        if dropped:
            logger.info("%s: %d rows of users with too few rows dropped", name, dropped)
        return Split(train, validation, test)

    @abstractmethod
    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        """Per row of ``df``: ``TRAIN``, ``HELD`` (for test, or for validation when
        ``test`` is false) or ``DROPPED``. ``rng`` is shared by the two calls of one
        :meth:`split`; WarpRec's strategies ignore it and draw from :attr:`seed`."""

    @abstractmethod
    def _has_validation(self) -> bool:
        """Whether the parameters ask for a validation part."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def aligned(train: pd.DataFrame, evaluation: pd.DataFrame,
            cold_start: str | None = None) -> pd.DataFrame:
    """The rows of ``evaluation`` whose user and item both appear in ``train``: what
    WarpRec keeps of a validation or test part (and writes with ``save_split``), and what
    :class:`~warprec.data.dataset.Dataset` keeps before it drops repeated pairs. The side
    ``cold_start`` (``"item"``, ``"user"``: :attr:`Splitter.holds_out`) is kept whole."""
    keep = np.ones(len(evaluation), dtype=bool)
    for side, column in (("user", USER), ("item", ITEM)):
        if side != cold_start:
            keep &= evaluation[column].isin(train[column].unique()).to_numpy()
    return evaluation[keep]


def _codes(held: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    codes = np.where(held, HELD, TRAIN).astype(np.int8)
    if keep is not None:
        codes[~keep] = DROPPED
    return codes


def _uniform(seed: int, n: int) -> np.ndarray:
    """WarpRec's draw: ``RandomState(seed).rand(n)``, one value per row in input order."""
    return np.random.RandomState(seed).rand(n)


def _time_key(df: pd.DataFrame) -> np.ndarray:
    """Temporal order key: the timestamp, or, without a timestamp column, the input order
    (WarpRec's rule); ties keep the input order wherever the key is used."""
    if TIMESTAMP in df.columns:
        return df[TIMESTAMP].to_numpy()
    return np.arange(len(df))


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
    users: pd.Series, key: np.ndarray | np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's 0-based position among its user's rows ordered by ``key`` (ties: input
    order; a random generator: a random order), each row's user code, and the rows per
    user."""
    codes, _ = pd.factorize(users, sort=False)
    order = _user_order(codes, key)
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(codes.size, dtype=np.int64)
    rank[order] = np.arange(codes.size) - np.repeat(starts, counts)
    return rank, codes, counts


def _user_counts(users: pd.Series) -> np.ndarray:
    """The number of rows of each row's user."""
    codes, _ = pd.factorize(users, sort=False)
    return np.bincount(codes)[codes]


# ------------------------------------------------------------------------------ holdout


class _Holdout(Splitter):
    def __init__(self, test_ratio: float = 0.2, validation_ratio: float = 0.0):
        owner = type(self).__name__
        self.test_ratio = check_ratio(test_ratio, f"{owner}.test_ratio")
        self.validation_ratio = check_ratio(validation_ratio, f"{owner}.validation_ratio")

    def _ratio(self, test: bool) -> float:
        return self.test_ratio if test else self.validation_ratio

    def _has_validation(self) -> bool:
        return self.validation_ratio > 0


class RandomHoldout(_Holdout):
    """WarpRec's ``random_holdout``: a random ``test_ratio`` of all the rows (not of each
    user's) goes to test, then ``validation_ratio`` of the remaining rows to validation.

    Each row gets ``numpy.random.RandomState(seed).rand()`` in input order; the
    ``int(n * (1 - ratio))`` rows with the smallest draws (ties: input order) stay in
    training. A user can end up with no training row (its test rows are then cold).

    Args:
        test_ratio: fraction of the rows in test, in [0, 1).
        validation_ratio: fraction of the remaining rows in validation.
        seed: random seed (the same rows as WarpRec for the same seed).
    """

    def __init__(self, test_ratio: float = 0.2, validation_ratio: float = 0.0, seed: int = 42):
        super().__init__(test_ratio, validation_ratio)
        self.seed = seed

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        n = len(df)
        order = np.argsort(_uniform(self.seed, n), kind="stable")
        held = np.ones(n, dtype=bool)
        held[order[: int(n * (1 - self._ratio(test)))]] = False
        return _codes(held)


class RandomHoldoutPerUser(_Holdout):
    """Per user, a random ``test_ratio`` of the rows is held out for test (rounded half
    up, at least one row stays in training), and ``validation_ratio`` of the remaining
    rows for validation (``random_holdout_per_user``; this project's ``random_holdout``
    before 0.2; WarpRec has no per-user random holdout).

    Args:
        test_ratio: fraction of each user's rows in test, in [0, 1).
        validation_ratio: fraction of each user's remaining rows in validation.
        seed: random seed.
    """

    def __init__(self, test_ratio: float = 0.2, validation_ratio: float = 0.0, seed: int = 42):
        super().__init__(test_ratio, validation_ratio)
        self.seed = seed

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        rank, codes, counts = _rank_in_user(df[USER], rng)
        # Round half up, but always keep one row in training.
        held = np.minimum(np.floor(counts * self._ratio(test) + 0.5).astype(np.int64), counts - 1)
        return _codes(rank >= (counts - held)[codes])


class TemporalHoldout(_Holdout):
    """WarpRec's ``temporal_holdout``: per user with ``n`` rows in time order (timestamp,
    ties in input order; without a timestamp column, input order), the first
    ``max(floor(n * (1 - test_ratio)), 1)`` rows stay in training and the rest go to
    test; validation takes the latest rows of the training part by ``validation_ratio``
    the same way.

    Args:
        test_ratio: fraction of each user's rows in test, in [0, 1).
        validation_ratio: fraction of each user's remaining rows in validation.
    """

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        rank, codes, counts = _rank_in_user(df[USER], _time_key(df))
        # float64 product and floor, as WarpRec computes it (n * (1 - ratio)).
        kept = np.maximum(np.floor(counts * (1 - self._ratio(test))).astype(np.int64), 1)
        return _codes(rank >= kept[codes])


# -------------------------------------------------------------------------- leave-k-out


class _LeaveKOut(Splitter):
    def __init__(self, test_k: int = 1, validation_k: int = 0):
        owner = type(self).__name__
        self.test_k = check_integer(test_k, 0, f"{owner}.test_k")
        self.validation_k = check_integer(validation_k, 0, f"{owner}.validation_k")

    def _k(self, test: bool) -> int:
        return self.test_k if test else self.validation_k

    def _has_validation(self) -> bool:
        return self.validation_k > 0


class RandomLeaveKOut(_LeaveKOut):
    """WarpRec's ``random_leave_k_out``: users with at most ``test_k`` rows are dropped
    (from both parts); of each other user, the ``test_k`` rows with the smallest
    ``RandomState(seed).rand()`` draw (one per remaining row, in input order; ties:
    input order) go to test. Validation does the same with ``validation_k`` on the
    training part, dropping its users with at most ``validation_k`` rows.

    Args:
        test_k: rows per user in test.
        validation_k: rows per user in validation (0: no validation).
        seed: random seed (the same rows as WarpRec for the same seed).
    """

    def __init__(self, test_k: int = 1, validation_k: int = 0, seed: int = 42):
        super().__init__(test_k, validation_k)
        self.seed = seed

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        k = self._k(test)
        keep = _user_counts(df[USER]) > k
        draws = np.full(len(df), np.inf)
        draws[keep] = _uniform(self.seed, int(keep.sum()))
        rank, _, _ = _rank_in_user(df[USER], draws)
        return _codes(rank < k, keep)


class TemporalLeaveKOut(_LeaveKOut):
    """WarpRec's ``temporal_leave_k_out``: users with at most ``test_k`` rows are dropped
    (from both parts); of each other user, the latest ``test_k`` rows (timestamp, ties
    in input order; without a timestamp column, input order) go to test. Validation
    takes the latest ``validation_k`` of the training part the same way (leave-one-out
    when 1).

    Args:
        test_k: rows per user in test.
        validation_k: rows per user in validation (0: no validation).
    """

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        k = self._k(test)
        rank, codes, counts = _rank_in_user(df[USER], _time_key(df))
        keep = counts[codes] > k
        return _codes(rank >= (counts - k)[codes], keep)


# ------------------------------------------------------------------------------ slicing


class TimestampSlicing(Splitter):
    """Global time split: rows at or after a cut-off go to test, and rows at or after a
    second cut-off of the rest to validation. Each cut-off is a timestamp, ``"best"``
    (WarpRec's: the time that leaves the most users rows on both sides; among equals the
    latest), or, as a ratio (ours), the time that leaves that fraction of the rows after
    it. Users and items seen only after the cut-off are cold (dropped by the Dataset,
    and counted).

    Args:
        test_timestamp: first timestamp of the test part, or ``"best"``.
        test_ratio: or the fraction of all rows (the latest) in test.
        validation_timestamp: first timestamp of the validation part, or ``"best"``.
        validation_ratio: or the fraction of the remaining rows in validation.
    """

    def __init__(
        self,
        test_timestamp: float | str | None = None,
        test_ratio: float | None = None,
        validation_timestamp: float | str | None = None,
        validation_ratio: float | None = None,
    ):
        if (test_timestamp is None) == (test_ratio is None):
            raise ConfigError("TimestampSlicing needs exactly one of test_timestamp and test_ratio")
        if validation_timestamp is not None and validation_ratio is not None:
            raise ConfigError(
                "TimestampSlicing takes validation_timestamp or validation_ratio, not both"
            )
        self.test_timestamp = _cutoff(test_timestamp, "test_timestamp")
        self.test_ratio = (
            None if test_ratio is None else check_ratio(test_ratio, "TimestampSlicing.test_ratio")
        )
        self.validation_timestamp = _cutoff(validation_timestamp, "validation_timestamp")
        self.validation_ratio = (
            None
            if validation_ratio is None
            else check_ratio(validation_ratio, "TimestampSlicing.validation_ratio")
        )

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        require_columns(df, (TIMESTAMP,), "TimestampSlicing (a temporal splitter)")
        times = df[TIMESTAMP].to_numpy()
        cutoff = self.test_timestamp if test else self.validation_timestamp
        ratio = self.test_ratio if test else self.validation_ratio
        if cutoff == "best":
            cutoff = best_timestamp(df[USER], times)
        elif cutoff is None:
            n_held = int(np.floor(len(times) * (ratio or 0.0) + 0.5))
            if n_held == 0:
                return _codes(np.zeros(len(times), dtype=bool))
            cutoff = np.sort(times)[len(times) - n_held]
        return _codes(times >= cutoff)

    def _has_validation(self) -> bool:
        return self.validation_timestamp is not None or bool(self.validation_ratio)


def _cutoff(value: Any, name: str) -> Any:
    """A cut-off as given (a number, ``"best"`` or ``None``); ConfigError otherwise."""
    if value is None or value == "best":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ConfigError(f"TimestampSlicing.{name} must be a number or 'best', got {value!r}")
    return value


def best_timestamp(users: pd.Series, times: np.ndarray) -> Any:
    """WarpRec's ``best`` slicing time: among the distinct timestamps ``t``, the one
    with the most users having a row before ``t`` and a row at or after it; among
    equals, the latest (Anelli et al., ECIR 2019)."""
    candidates = np.unique(times)
    codes, _ = pd.factorize(users, sort=False)
    n_users = codes.max(initial=-1) + 1
    first = np.full(n_users, np.inf)
    last = np.full(n_users, -np.inf)
    np.minimum.at(first, codes, times)
    np.maximum.at(last, codes, times)
    # A user counts for the candidates t with first < t <= last: a run of the sorted
    # candidates, added with a difference array instead of one pass per user.
    low = np.searchsorted(candidates, first, side="right")
    high = np.searchsorted(candidates, last, side="right")
    delta = np.zeros(candidates.size + 1, dtype=np.int64)
    np.add.at(delta, low, 1)
    np.add.at(delta, high, -1)
    score = np.cumsum(delta[:-1])
    return candidates[score == score.max()].max()


# ------------------------------------------------------------------------------- k-fold


class KFold(Splitter):
    """WarpRec's ``k_fold_cross_validation``: each user's rows, in input order, are dealt
    into the ``k`` folds in turn (the user's i-th row goes to fold ``i % k``); fold
    ``fold`` is the held-out part. :meth:`folds` gives all ``k`` splits. With
    ``shuffle`` (ours) the rows are dealt in a random order from a random starting fold
    per user. Validation is a per-user random ``validation_ratio`` of the training
    part.

    Args:
        k: number of folds (>= 2).
        fold: which fold is the held-out part, ``0..k-1``.
        validation_ratio: fraction of each user's training rows in validation.
        seed: random seed (``shuffle`` and validation; the same for every fold, so
            folds are disjoint).
        shuffle: deal the rows in a random order instead of the input order.
    """

    def __init__(self, k: int = 5, fold: int = 0, validation_ratio: float = 0.0, seed: int = 42,
                 shuffle: bool = False):
        self.k = check_integer(k, 2, "KFold.k")
        if isinstance(fold, bool) or fold not in range(self.k):
            raise ConfigError(f"KFold.fold must be an integer in 0..{self.k - 1}, got {fold!r}")
        self.fold = int(fold)
        self.validation_ratio = check_ratio(validation_ratio, "KFold.validation_ratio")
        self.seed = seed
        if not isinstance(shuffle, bool):
            raise ConfigError(f"KFold.shuffle must be true or false, got {shuffle!r}")
        self.shuffle = shuffle

    def folds(self, df: pd.DataFrame) -> Iterator[Split]:
        """The ``k`` splits, fold 0 first; their held-out parts partition ``df``."""
        for fold in range(self.k):
            yield KFold(self.k, fold, self.validation_ratio, self.seed, self.shuffle).split(df)

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        if not test:
            return RandomHoldoutPerUser(self.validation_ratio)._assign(df, rng, test=True)
        if not self.shuffle:
            rank, _, _ = _rank_in_user(df[USER], np.arange(len(df)))
            return _codes(rank % self.k == self.fold)
        rank, codes, counts = _rank_in_user(df[USER], rng)
        offset = rng.integers(0, self.k, size=counts.size)
        return _codes((rank + offset[codes]) % self.k == self.fold)

    def _has_validation(self) -> bool:
        return self.validation_ratio > 0


# --------------------------------------------------------------------------- cold start


class _ColdStart(Splitter):
    """Hold out every row of a sampled fraction of the users or items (by entity, not by
    row): WarpRec's rule, ``round(n_entities * ratio)`` of the sorted distinct ids drawn
    by ``numpy.random.default_rng(seed).choice`` without replacement."""

    column: ClassVar[str]

    def __init__(self, test_ratio: float = 0.1, validation_ratio: float = 0.0, seed: int = 42):
        owner = type(self).__name__
        self.test_ratio = check_ratio(test_ratio, f"{owner}.test_ratio")
        if self.test_ratio == 0:
            raise ConfigError(f"{owner}.test_ratio must be in (0, 1), got {test_ratio!r}")
        self.validation_ratio = check_ratio(validation_ratio, f"{owner}.validation_ratio")
        self.seed = seed

    def _assign(self, df: pd.DataFrame, rng: np.random.Generator, test: bool) -> np.ndarray:
        owner = type(self).__name__
        require_columns(df, (self.column,), owner)
        ratio = self.test_ratio if test else self.validation_ratio
        entities = np.unique(df[self.column].to_numpy())
        n_cold = round(len(entities) * ratio)
        if n_cold in (0, len(entities)):
            raise DataError(
                f"{owner}: a ratio of {ratio} over {len(entities)} distinct {self.column!r} "
                f"values holds out {n_cold} of them; expected a ratio leaving both parts "
                "non-empty"
            )
        draw = np.random.default_rng(self.seed).choice(len(entities), size=n_cold, replace=False)
        return _codes(df[self.column].isin(entities[draw]).to_numpy())

    def _has_validation(self) -> bool:
        return self.validation_ratio > 0


class ItemColdStart(_ColdStart):
    """WarpRec's ``item_cold_start``: every row of a sampled ``test_ratio`` of the items
    goes to test (then ``validation_ratio`` of the remaining items to validation). The
    held-out items stay in the catalogue, ranked with the others: only a model that
    scores from item features can reach them.

    Args:
        test_ratio: fraction of the items held out, in (0, 1).
        validation_ratio: fraction of the remaining items in validation.
        seed: random seed (the same items as WarpRec for the same seed).
    """

    column = ITEM
    holds_out = "item"


class UserColdStart(_ColdStart):
    """WarpRec's ``user_cold_start``: every row of a sampled ``test_ratio`` of the users
    goes to test (then ``validation_ratio`` of the remaining users to validation).

    Args:
        test_ratio: fraction of the users held out, in (0, 1).
        validation_ratio: fraction of the remaining users in validation.
        seed: random seed (the same users as WarpRec for the same seed).
    """

    column = USER
    holds_out = "user"
