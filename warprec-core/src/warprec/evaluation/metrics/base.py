"""What every metric builds on: the batch the evaluator hands over, the per-evaluation
context, the :class:`Metric` protocol and the shared helpers (gains, discounts, the
short head, the position of each relevant item in the full ranking).
"""

from __future__ import annotations

import abc
import inspect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "DistributionMetric",
    "EvaluationContext",
    "Metric",
    "RankingBatch",
    "UserMetric",
    "discounts",
    "graded_gain",
    "mean_absolute_difference",
]


class EvaluationContext:
    """Data shared by every batch of one evaluation (built by the evaluator).

    Attributes:
        n_users / n_items: size of the id spaces.
        known: ``[n_users, n_items]`` CSR of the known interactions (training items on
            validation; training and validation items on test): popularity source and
            the masked items of full ranking.
        popularity: ``[n_items + 1]`` float64 number of known interactions of each item
            (``0`` for the empty slot ``n_items``).
        n_known_users: rows of ``known`` (WarpRec's ``num_users``).
        short_head_share: default share of interactions the short head covers.
        user_groups: ``[n_users]`` long group of each user, ``1..G`` (``0``: none).
        item_groups: ``[n_items + 1]`` long group of each item, ``1..G`` (``0``: none;
            the empty slot is ``0``).
        n_user_groups / n_item_groups: ``G`` of each side.
        propensity: ``[n_items + 1]`` observation probability of each item (``1.0`` for
            the empty slot) or ``None`` when no correction is configured.
        item_features: ``[n_items + 1, F]`` item-by-feature matrix (``0`` row for the
            empty slot) or ``None``.
        strategy: ``"full"`` or ``"sampled"``.
    """

    def __init__(
        self,
        known: sp.csr_matrix,
        device: torch.device,
        short_head_share: float = 0.8,
        *,
        user_groups: np.ndarray | None = None,
        item_groups: np.ndarray | None = None,
        propensity: np.ndarray | None = None,
        item_features: np.ndarray | None = None,
        strategy: str = "full",
    ) -> None:
        n_users, n_items = known.shape
        self.n_users = n_users
        self.n_items = n_items
        self.known = known
        self.device = device
        self.strategy = strategy
        self.short_head_share = float(short_head_share)
        counts = np.diff(known.tocsc().indptr).astype(np.float64)
        self.popularity = torch.from_numpy(np.append(counts, 0.0)).to(device)
        self.n_known_users = n_users
        # WarpRec reads an absent clustering as one group holding everyone.
        users = np.ones(n_users, np.int64) if user_groups is None else np.asarray(user_groups)
        items = np.ones(n_items, np.int64) if item_groups is None else np.asarray(item_groups)
        self.user_groups = torch.from_numpy(users.astype(np.int64)).to(device)
        self.item_groups = torch.from_numpy(np.append(items.astype(np.int64), 0)).to(device)
        self.n_user_groups = int(users.max(initial=0))
        self.n_item_groups = int(items.max(initial=0))
        self.propensity = (
            None
            if propensity is None
            else torch.from_numpy(np.append(np.asarray(propensity, np.float64), 1.0)).to(device)
        )
        self.item_features = None
        if item_features is not None:
            features = np.asarray(item_features, dtype=np.float64)
            padded = np.vstack([features, np.zeros((1, features.shape[1]))])
            self.item_features = torch.from_numpy(padded).to(device)
        self._tails: dict[float, Tensor] = {}

    def long_tail(self, share: float | None = None) -> Tensor:
        """``[n_items + 1]`` True for the long-tail items (WarpRec's head/tail split).

        Items are sorted by known popularity (descending, ties by item index); the short
        head runs up to and including the first item at which the cumulative count
        exceeds ``share`` of all known interactions; the rest is the long tail. The
        empty slot is in neither. With no known interaction every item is long tail.
        """
        share = self.short_head_share if share is None else float(share)
        if share not in self._tails:
            counts = self.popularity[:-1].cpu().numpy()
            order = np.argsort(-counts, kind="stable")
            covered = np.cumsum(counts[order])
            total = covered[-1] if covered.size else 0.0
            head = np.zeros(self.n_items, dtype=bool)
            if total > 0:
                size = int(np.searchsorted(covered, share * total, side="right")) + 1
                head[order[:size]] = True
            self._tails[share] = torch.from_numpy(np.append(~head, False)).to(self.device)
        return self._tails[share]


@dataclass
class RankingBatch:
    """The ranked lists of a batch of users, as the metrics see them.

    Attributes:
        users: ``[B]`` user indices.
        top_items: ``[B, K]`` recommended items, best first (``K`` = the largest cutoff,
            fewer when fewer candidates exist); ``n_items`` marks an empty slot.
        hits: ``[B, K]`` 1.0 where the item is relevant, else 0.0.
        n_relevant: ``[B]`` number of relevant items of each user (``|R_u|``).
        n_items: catalogue size.
        item_popularity: ``[n_items + 1]`` number of known (training) interactions of
            each item, 0 for the empty slot.
        n_known_users: number of users the popularity counts come from.
        long_tail: ``[n_items + 1]`` True for long-tail items (default short-head share).
        pos_scores: ``[B, P]`` scores of the relevant items (NaN where a user has fewer).
        neg_scores: sampled ranking only: ``[B, N]`` scores of the sampled negatives in
            ascending order, ``+inf`` where a user has fewer.
        top_scores: ``[B, K]`` scores of the recommended items (``-inf`` when empty).
        top_ratings: ``[B, K]`` rating of each recommended item in the evaluated split
            (1.0 for implicit feedback; 0.0 when not relevant).
        pos_items: ``[B, P]`` relevant items of each user (``n_items`` pads).
        pos_ratings: ``[B, P]`` their ratings (0.0 pads).
        scores: ``[B, C]`` the scores of every ranked column, ``-inf`` where masked:
            full ranking: ``C = n_items``, column = item; sampled ranking: the
            candidates (relevant items first, then the negatives).
        candidates: sampled ranking only: ``[B, C]`` item of each column (``n_items``
            pads); ``None`` in full ranking.
        pos_columns: ``[B, P]`` column of each relevant item in ``scores`` (``-1`` pads).
        column_rank: tie-break rank of each column (``[C]`` or ``[B, C]``): among equal
            scores the lower rank comes first, as in the top-k lists.
        context: the :class:`EvaluationContext`.
        valid: ``[B, K]`` True where the list has an item (derived).
    """

    users: Tensor
    top_items: Tensor
    hits: Tensor
    n_relevant: Tensor
    n_items: int
    item_popularity: Tensor
    n_known_users: int
    long_tail: Tensor
    pos_scores: Tensor | None = None
    neg_scores: Tensor | None = None
    top_scores: Tensor | None = None
    top_ratings: Tensor | None = None
    pos_items: Tensor | None = None
    pos_ratings: Tensor | None = None
    scores: Tensor | None = None
    candidates: Tensor | None = None
    pos_columns: Tensor | None = None
    column_rank: Tensor | None = None
    context: EvaluationContext | None = None
    valid: Tensor = field(init=False)
    cache: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # [B, K] True where the list has an item; shared by the popularity metrics.
        self.valid = self.top_items < self.n_items

    def require(self, name: str) -> Any:
        """The optional field ``name``, or an error naming what the evaluator omitted."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"this metric needs RankingBatch.{name}, which the evaluator omitted")
        return value

    @property
    def ctx(self) -> EvaluationContext:
        """The evaluation context (an error when the batch was built without one)."""
        return self.require("context")

    def top_gains(self, k: int | None) -> Tensor:
        """``[B, k]`` WarpRec's graded gain ``2**(r + 1) - 1`` of each listed item."""
        return graded_gain(self.require("top_ratings")[:, :k])

    def ideal_gains(self, k: int | None) -> Tensor:
        """``[B, min(k, P)]`` the user's best gains in decreasing order (0 past a user's
        relevant items): the IDCG list. Not padded to ``k``: zeros add nothing to a DCG,
        and a cut-off far above the catalogue would cost ``B x k`` memory."""
        ratings = self.require("pos_ratings")
        return graded_gain(torch.sort(ratings, dim=1, descending=True).values[:, :k])

    def relevance_matrix(self) -> Tensor:
        """``[B, C]`` 1.0 where a column of :attr:`scores` is a relevant item."""
        if "relevance" not in self.cache:
            scores = self.require("scores")
            columns = self.require("pos_columns")
            relevance = torch.zeros(scores.shape, dtype=torch.float64, device=scores.device)
            rows = torch.arange(columns.shape[0], device=scores.device).unsqueeze(1)
            keep = columns >= 0
            relevance[rows.expand_as(columns)[keep], columns[keep]] = 1.0
            self.cache["relevance"] = relevance
        return self.cache["relevance"]

    def column_items(self) -> Tensor:
        """``[B, C]`` or ``[C]`` item of each column of :attr:`scores`."""
        if self.candidates is not None:
            return self.candidates
        return torch.arange(self.require("scores").shape[1], device=self.users.device)

    def positive_ranks(self) -> tuple[Tensor, Tensor, Tensor]:
        """Where each relevant item falls in the user's whole ranking (cached).

        Returns ``(above, position, n_negatives)``: ``above [B, P]`` the ranked
        negatives (scored, not relevant) placed before the relevant item, ``position
        [B, P]`` its 0-based position among every ranked column, and ``n_negatives [B]``
        the ranked negatives of the user. The order is the top-k lists' order (score
        descending, ties by ``column_rank``); a relevant item that could not be ranked
        (masked) is placed after every ranked item (position: the largest int64). Pads hold ``-1``.
        """
        if "positive_ranks" in self.cache:
            return self.cache["positive_ranks"]
        scores = self.require("scores")
        columns = self.require("pos_columns")
        rank = self.require("column_rank")
        b, c = scores.shape
        order = torch.argsort(rank, stable=True)
        order = order.expand(b, c) if order.dim() == 1 else order
        permuted = scores.gather(1, order)
        sorted_columns = order.gather(
            1, torch.sort(permuted, dim=1, descending=True, stable=True).indices
        )
        position_of = torch.empty_like(sorted_columns)
        position_of.scatter_(1, sorted_columns, torch.arange(c, device=scores.device).expand(b, c))
        valid = columns >= 0
        ranked = scores > float("-inf")
        # A relevant item that could not be ranked (masked) counts as placed after every
        # ranked item: all negatives before it, outside every top-k.
        ranked_pos = ranked.gather(1, columns.clamp(min=0)) & valid
        beyond = torch.iinfo(position_of.dtype).max
        position = torch.where(ranked_pos, position_of.gather(1, columns.clamp(min=0)), beyond)
        # How many of the user's relevant items come earlier than this one.
        earlier = torch.argsort(torch.argsort(position, dim=1, stable=True), dim=1, stable=True)
        n_negatives = ranked.sum(dim=1) - ranked_pos.sum(dim=1)
        above = torch.where(ranked_pos, position - earlier, n_negatives.unsqueeze(1))
        result = (
            torch.where(valid, above, -1),
            torch.where(valid, position, -1),
            n_negatives,
        )
        self.cache["positive_ranks"] = result
        return result


class Metric(abc.ABC):
    """One metric at one cutoff, accumulated over batches of users.

    Class attributes: ``per_user`` (values kept per user), ``uses_cutoff`` (reported as
    ``Name@k``), ``sampled_only`` (needs sampled negatives), ``higher_is_better``,
    ``requires`` (evaluation inputs it cannot do without: ``"propensity"``,
    ``"item_features"``).

    Parameters beyond ``k`` (WarpRec's ``complex_metrics`` params) are keyword arguments
    of ``__init__``; :meth:`decoration` adds them to the reported name as WarpRec does.
    """

    per_user: ClassVar[bool] = True
    uses_cutoff: ClassVar[bool] = True
    sampled_only: ClassVar[bool] = False
    higher_is_better: ClassVar[bool] = True
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, k: int | None = None) -> None:
        self.k = k

    @abc.abstractmethod
    def update(self, batch: RankingBatch) -> None:
        """Accumulate one batch of users."""

    @abc.abstractmethod
    def compute(self) -> float:
        """The metric over every user seen so far."""

    def per_user_values(self) -> np.ndarray | None:
        """The value of each user seen so far, in order (``None`` for global metrics)."""
        return None

    def requirements(self) -> frozenset[str]:
        """The evaluation inputs this instance needs (composites add their parts')."""
        return self.requires

    def decoration(self) -> str:
        """Text appended to the registered name (``"[Pop90%]"``); ``""`` by default."""
        return ""

    def result_suffixes(self, n_user_groups: int, n_item_groups: int) -> list[str]:
        """The suffixes of the values :meth:`compute_all` reports (``""``: the main one)."""
        return [""]

    def compute_all(self) -> dict[str, float]:
        """Every reported value, by suffix (see :meth:`result_suffixes`)."""
        return {"": self.compute()}

    @classmethod
    def parameters(cls) -> list[str]:
        """Names of the keyword parameters the metric accepts besides ``k``."""
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in parameters if p.name not in ("self", "k") and p.kind in kinds]


class UserMetric(Metric):
    """A metric with one value per user; the result is their mean."""

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self._parts: list[Tensor] = []
        self._users: list[Tensor] = []

    @abc.abstractmethod
    def user_values(self, batch: RankingBatch) -> Tensor:
        """``[B]`` values of the batch's users."""

    def update(self, batch: RankingBatch) -> None:
        """Compute and keep the batch's per-user values."""
        self._parts.append(self.user_values(batch).double())
        self._users.append(batch.users)

    def per_user_values(self) -> np.ndarray:
        """Every user's value, in the order the users were first seen. A user ranked
        several times (context-aware evaluation ranks one list per evaluated row) gets
        the mean of its lists' values, NaN values left out (WarpRec's per-user average)."""
        if not self._parts:
            return np.zeros(0, dtype=np.float64)
        values = torch.cat(self._parts).double().cpu().numpy()
        return _mean_per_user(values, torch.cat(self._users).cpu().numpy())

    def seen_users(self) -> np.ndarray:
        """The users of :meth:`per_user_values`, in the same order."""
        if not self._users:
            return np.zeros(0, dtype=np.int64)
        users = torch.cat(self._users).cpu().numpy()
        _, first = np.unique(users, return_index=True)
        return users[np.sort(first)]

    def compute(self) -> float:
        """The mean over users, NaN values left out (NaN when there are none)."""
        values = self.per_user_values()
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan


class DistributionMetric(Metric):
    """A metric of how often each item is recommended over all users' top-k lists."""

    per_user = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self._counts: Tensor | None = None
        self.n_lists = 0

    def update(self, batch: RankingBatch) -> None:
        """Count the items of the batch's top-k lists."""
        items = batch.top_items[:, : self.k].reshape(-1)
        counts = torch.bincount(items, minlength=batch.n_items + 1)[: batch.n_items]
        self._counts = counts if self._counts is None else self._counts + counts
        self.n_lists += int(batch.users.shape[0])

    def compute(self) -> float:
        """The metric of the accumulated counts (NaN when no user was evaluated)."""
        if self._counts is None or self.n_lists == 0:
            return math.nan
        return self.from_counts(self._counts.double().cpu().numpy())

    @abc.abstractmethod
    def from_counts(self, counts: np.ndarray) -> float:
        """The metric of ``counts[i]``, the number of lists item ``i`` appears in."""


def _mean_per_user(values: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Each user's mean value (NaN left out; NaN when all are), users in order of first
    appearance; ``values`` itself when every user appears once."""
    unique, first, inverse = np.unique(users, return_index=True, return_inverse=True)
    if unique.size == users.size:
        return values
    valid = ~np.isnan(values)
    sums = np.bincount(inverse, weights=np.where(valid, values, 0.0), minlength=unique.size)
    counts = np.bincount(inverse, weights=valid.astype(np.float64), minlength=unique.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return means[np.argsort(first, kind="stable")]


def discounts(n: int, like: Tensor) -> Tensor:
    """``[n]`` position discounts ``1 / log2(r + 1)`` for ranks ``r = 1..n``."""
    return 1.0 / torch.log2(torch.arange(2, n + 2, device=like.device, dtype=torch.float64))


def dcg(gains: Tensor) -> Tensor:
    """``[B]`` discounted cumulative gain of ``[B, n]`` gains in rank order."""
    return (gains.double() * discounts(gains.shape[1], gains)).sum(dim=1)


def graded_gain(ratings: Tensor) -> Tensor:
    """WarpRec's graded relevance: ``2**(r + 1) - 1`` for ``r > 0``, else 0."""
    ratings = ratings.double()
    return torch.where(ratings > 0, torch.exp2(ratings + 1) - 1, 0.0)


def mean_absolute_difference(values: Tensor) -> float:
    """Mean of ``|a - b|`` over every unordered pair of ``values`` (0 for fewer than 2)."""
    n = values.numel()
    if n < 2:
        return 0.0
    diffs = (values.unsqueeze(0) - values.unsqueeze(1)).abs()
    return float(diffs.triu(diagonal=1).sum() / (n * (n - 1) / 2))


def dispersion(rates: Tensor) -> float:
    """Population std over mean of ``rates`` (NaN for fewer than 2 or a zero mean)."""
    if rates.numel() < 2 or float(rates.mean()) == 0.0:
        return math.nan
    return float(rates.std(unbiased=False) / rates.mean())


def cutoff_of(metric: Metric, batch: RankingBatch) -> int:
    """The metric's cutoff, or the list width when it has none."""
    return metric.k if metric.k is not None else batch.top_items.shape[1]
