"""Batched evaluation of a model on the validation or test split.

- ``strategy="full"``: every user is ranked against the whole catalogue, with the items
  known before the evaluated split masked (training items on validation; training and
  validation items on test).
- ``strategy="sampled"``: every user's relevant items are ranked against
  ``num_negatives`` items the user never interacted with, drawn without replacement,
  uniformly or in proportion to their training popularity; each user's draw depends
  only on the seed and the user (not on the batch size), so models evaluated with the
  same evaluator see the same negatives.

Both strategies score batches of users in torch on the model's device, run one top-k at
the largest cutoff per batch, shared by every metric, and keep per-user values for
paired significance tests (:mod:`warprec.evaluation.significance`). Users without items
in the evaluated split are skipped and counted.

Relevance follows WarpRec: an item is relevant when the evaluated split holds it with a
rating > 0 (implicit feedback: 1.0); graded metrics read the rating itself. Metrics that
need more than the lists get it from the constructor: ``user_groups``/``item_groups``
(fairness), ``propensity`` (debiased), ``item_features`` (``SRecall``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from warprec.errors import ConfigError, ModelError
from warprec.evaluation.metrics import EvaluationContext, Metric, RankingBatch
from warprec.evaluation.propensity import build_propensity, check_propensity
from warprec.evaluation.queries import Queries, context_queries, user_queries
from warprec.recommenders.ranking import mask_seen, tie_break_rank, top_k, writable
from warprec.utils.checks import check_integer

__all__ = ["EvaluationResult", "Evaluator", "check_scores"]

_SCORE_BUDGET = 1 << 25  # score-matrix entries per batch (128 MiB of float32)


@dataclass
class EvaluationResult:
    """Metric values of one evaluation.

    Attributes:
        values: ``{"nDCG@10": mean, ...}`` in the evaluator's key order.
        per_user: per-user values of the per-user metrics, aligned with ``users``.
        users: indices of the evaluated users.
        n_users_evaluated / n_users_skipped: users with / without items in the split.
    """

    split: str
    strategy: str
    values: dict[str, float]
    per_user: dict[str, np.ndarray]
    users: np.ndarray
    n_users_evaluated: int
    n_users_skipped: int
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        """``{"nDCG@10": value, ...}``."""
        return dict(self.values)


MetricSpec = str | type[Metric] | Mapping[str, Any] | tuple[str, Mapping[str, Any]]
"""A metric name, a Metric subclass, ``{"name": ..., "params": {...}}`` (WarpRec's
``complex_metrics`` entries) or ``(name, params)``."""


@dataclass
class _Spec:
    """A configured metric: its registered name, class and parameters."""

    name: str
    cls: type[Metric]
    params: dict[str, Any] = field(default_factory=dict)

    def build(self, k: int | None) -> Metric:
        return self.cls(k, **self.params) if self.params else self.cls(k)


class Evaluator:
    """Evaluate models with a fixed set of metrics and cutoffs.

    Args:
        metrics: names in ``metric_registry`` (case-insensitive), :class:`Metric`
            subclasses, or metrics with parameters as ``{"name": "F1", "params":
            {"beta": 2}}`` (WarpRec's ``evaluation.complex_metrics`` entries) or
            ``("F1", {"beta": 2})``.
        top_k: cutoffs; every metric with a cutoff is computed at each (a list is never
            longer than the number of items: :meth:`capped_cutoffs`).
        strategy: ``"full"`` or ``"sampled"``.
        num_negatives: sampled negatives per user (sampled strategy).
        sampling: ``"uniform"`` or ``"popularity"`` (sampled strategy).
        seed: seeds the negatives and the tie-break order of equal scores.
        batch_size: users per batch; default: as many as fit a 2**25-entry score matrix.
        short_head_share: share of known interactions covered by the short head (default
            ``pop_ratio`` of APLT, ACLT, PopREO, PopRSP).
        user_groups: ``[n_users]`` group of each user (ints ``1..G``, ``0`` = none), e.g.
            from :func:`warprec.data.clustering.group_lookup`; default: one group.
        item_groups: ``[n_items]`` group of each item, likewise.
        propensity: item propensities of the debiased metrics: ``"popularity"`` (WarpRec's
            estimator, from the known interaction counts), ``"uniform"``/``None`` (no
            correction: the debiased metrics are refused) or an ``[n_items]`` array.
        propensity_power / propensity_clip: the popularity estimator's exponent and floor.
        item_features: ``[n_items, F]`` item-by-feature matrix (dense or scipy sparse) of
            ``SRecall``; a feature is present where the value is > 0.
    """

    def __init__(
        self,
        metrics: Sequence[MetricSpec] = ("nDCG", "Precision", "Recall", "HitRate"),
        top_k: int | Iterable[int] = (10, 20),
        strategy: str = "full",
        num_negatives: int = 99,
        sampling: str = "uniform",
        seed: int = 42,
        batch_size: int | None = None,
        short_head_share: float = 0.8,
        *,
        user_groups: Any = None,
        item_groups: Any = None,
        propensity: str | Any | None = None,
        propensity_power: float = 0.5,
        propensity_clip: float = 0.1,
        item_features: Any = None,
    ) -> None:
        self.top_k = _cutoffs(top_k)
        if strategy not in ("full", "sampled"):
            raise ConfigError(f"evaluation strategy must be 'full' or 'sampled', got {strategy!r}")
        if sampling not in ("uniform", "popularity"):
            raise ConfigError(
                f"evaluation sampling must be 'uniform' or 'popularity', got {sampling!r}"
            )
        if strategy == "sampled":
            num_negatives = check_integer(num_negatives, 1, "num_negatives")
        if batch_size is not None:
            batch_size = check_integer(batch_size, 1, "evaluation batch_size")
        if not 0 < float(short_head_share) <= 1:
            raise ConfigError(f"short_head_share must lie in (0, 1], got {short_head_share!r}")
        self.strategy = strategy
        self.num_negatives = num_negatives
        self.sampling = sampling
        self.seed = int(seed)
        self.batch_size = batch_size
        self.short_head_share = float(short_head_share)
        self.user_groups = _groups(user_groups, "user_groups")
        self.item_groups = _groups(item_groups, "item_groups")
        self.item_features = item_features  # densified below if a metric reads it
        self.propensity_power = float(propensity_power)
        self.propensity_clip = float(propensity_clip)
        if isinstance(propensity, str) or propensity is None:
            check_propensity(propensity, self.propensity_power, self.propensity_clip)
            self.propensity: str | np.ndarray | None = (
                None if propensity in (None, "uniform") else propensity
            )
        else:
            self.propensity = np.asarray(propensity, dtype=np.float64).ravel()
            if not (self.propensity > 0).all():
                raise ConfigError("propensity values must be > 0 (the metrics divide by them)")
        self.specs = _resolve_metrics(metrics, strategy)
        self.metric_classes = {spec.name: spec.cls for spec in self.specs}
        n_user_groups = _group_count(self.user_groups)
        n_item_groups = _group_count(self.item_groups)
        self.keys: list[str] = []
        needed: set[str] = set()
        for spec, k in self._slots():
            metric = spec.build(k)  # fails here, not mid-run, on bad parameters
            self._check_requirements(spec.name, metric)
            needed |= metric.requirements()
            self.keys += [
                _key(spec.name, metric, suffix, k)
                for suffix in metric.result_suffixes(n_user_groups, n_item_groups)
            ]
        duplicates = sorted({key for key in self.keys if self.keys.count(key) > 1})
        if duplicates:
            raise ConfigError(f"metrics report the same result twice: {', '.join(duplicates)}")
        # Dense item features can be large: kept only when a metric reads them.
        self.item_features = (_features(item_features) if "item_features" in needed
                              else None)

    def _check_requirements(self, name: str, metric: Metric) -> None:
        needed = metric.requirements()
        if "propensity" in needed and self.propensity is None:
            raise ConfigError(
                f"metric {name!r} corrects for exposure and needs item propensities: pass "
                "propensity='popularity' (WarpRec: evaluation.propensity.estimator)"
            )
        if "item_features" in needed and self.item_features is None:
            raise ConfigError(
                f"metric {name!r} needs item features: pass item_features "
                "(an [n_items, n_features] matrix; WarpRec: reader.side)"
            )

    def evaluate(self, model: Any, dataset: Any, split: str = "validation") -> EvaluationResult:
        """Evaluate ``model`` on ``dataset``'s ``"validation"`` or ``"test"`` split.

        A model that reads context (``uses_context``) on data with context columns is
        ranked once per evaluated row, under that row's context (see
        :mod:`warprec.evaluation.queries`); its per-user values average the user's rows."""
        start = time.perf_counter()
        target, known = _split_matrices(dataset, split)
        n_users, n_items = target.shape
        context = self._context(known, model.device)
        queries = (context_queries(model, dataset, split, known, self.strategy)
                   or user_queries(target, known))
        metrics = self._instantiate()
        was_training = model.training
        model.to(model.device).eval()
        try:
            with torch.no_grad():
                ranker = self._rank_full if self.strategy == "full" else self._rank_sampled
                size = self._batch(n_items)
                for first in range(0, len(queries.rows), size):
                    batch = ranker(model, queries.part(first, first + size), context)
                    for metric in metrics:
                        metric.update(batch)
        finally:
            model.train(was_training)
        users = np.unique(queries.users)
        values: dict[str, float] = {key: math.nan for key in self.keys}
        per_user: dict[str, np.ndarray] = {}
        for (spec, k), metric in zip(self._slots(), metrics, strict=True):
            results = metric.compute_all()
            for suffix in metric.result_suffixes(context.n_user_groups, context.n_item_groups):
                values[_key(spec.name, metric, suffix, k)] = float(results.get(suffix, math.nan))
            per_user_values = metric.per_user_values()
            if per_user_values is not None:
                per_user[_key(spec.name, metric, "", k)] = per_user_values
        return EvaluationResult(
            split=split,
            strategy=self.strategy,
            values=values,
            per_user=per_user,
            users=users,
            n_users_evaluated=int(users.size),
            n_users_skipped=int(n_users - users.size),
            seconds=time.perf_counter() - start,
        )

    def _slots(self) -> list[tuple[_Spec, int | None]]:
        return [
            (spec, k)
            for spec in self.specs
            for k in (self.top_k if spec.cls.uses_cutoff else [None])
        ]

    def _instantiate(self) -> list[Metric]:
        return [spec.build(k) for spec, k in self._slots()]

    def capped_cutoffs(self, n_items: int) -> list[int]:
        """The cut-offs above ``n_items``: their lists hold every item (``n_items`` long,
        and so is the memory of their metrics); the metrics keep their definition
        (``Precision@k`` divides by ``k``)."""
        return [k for k in self.top_k if k > n_items]

    def _context(self, known: sp.csr_matrix, device: torch.device) -> _Context:
        n_users, n_items = known.shape
        for array, size, what in ((self.user_groups, n_users, "user_groups"),
                                  (self.item_groups, n_items, "item_groups"),
                                  (self.item_features, n_items, "item_features")):  # fmt: skip
            if array is not None and array.shape[0] != size:
                raise ConfigError(
                    f"{what} has {array.shape[0]} rows but the dataset has {size} "
                    f"{'users' if what == 'user_groups' else 'items'}"
                )
        propensity = self.propensity
        if isinstance(propensity, str):
            propensity = build_propensity(np.diff(known.tocsc().indptr), propensity,
                                          self.propensity_power, self.propensity_clip)  # fmt: skip
        elif propensity is not None and propensity.shape[0] != n_items:
            raise ConfigError(
                f"propensity has {propensity.shape[0]} values but the dataset has {n_items} items"
            )
        return _Context(
            known, device, self.short_head_share, user_groups=self.user_groups,
            item_groups=self.item_groups, propensity=propensity,
            item_features=self.item_features, strategy=self.strategy,
        )  # fmt: skip

    def _batch(self, n_columns: int) -> int:
        if self.batch_size is not None:
            return self.batch_size
        # Sampling keeps a key per catalogue item for each user, on top of the scores.
        budget = _SCORE_BUDGET if self.strategy == "full" else _SCORE_BUDGET // 4
        return int(min(4096, max(16, budget // max(n_columns, 1))))

    def _rank_full(self, model: Any, queries: Queries, context: _Context) -> RankingBatch:
        device = model.device
        rows, target = queries.rows, queries.target
        n_items = target.shape[1]
        users_t = torch.from_numpy(queries.users).to(device)
        raw = model.predict(users_t, item_indices=None, **queries.predict_kwargs(device))
        check_scores(model, raw, (len(rows), n_items), "full")
        scores = writable(raw.float(), model)
        pos_items, pos_ratings = _positives(target, rows, n_items)
        pos_items_t = torch.from_numpy(pos_items).to(device)
        padding = pos_items_t >= n_items
        # The model's own scores of the relevant items (the rating errors), before a
        # relevant item that is also known gets masked for the ranking.
        pos_scores = scores.gather(1, pos_items_t.clamp(max=n_items - 1))
        mask_seen(scores, np.arange(len(rows)), queries.masked())
        rank = tie_break_rank(n_items, self.seed, device)
        items, values = top_k(scores, max(self.top_k), rank)
        items = items.masked_fill(values == float("-inf"), n_items)
        hits, top_ratings = context.lookup(torch.from_numpy(rows).to(device), items, target)
        batch = context.batch(users_t, items, hits, target, rows)
        batch.pos_scores = pos_scores.masked_fill(padding, float("nan"))
        batch.top_scores = values
        batch.top_ratings = top_ratings
        batch.pos_items = pos_items_t
        batch.pos_ratings = torch.from_numpy(pos_ratings).to(device)
        batch.scores = scores
        batch.pos_columns = pos_items_t.masked_fill(padding, -1)
        batch.column_rank = rank
        return batch

    def _rank_sampled(self, model: Any, queries: Queries, context: _Context) -> RankingBatch:
        device = model.device
        rows, target = queries.rows, queries.target
        n_items = target.shape[1]
        positives, pos_ratings = _positives(target, rows, n_items)
        width = positives.shape[1]
        negatives = self._negatives(queries.streams(), queries.excluded(), context)
        candidates = torch.from_numpy(np.concatenate([positives, negatives], axis=1)).to(device)
        invalid = candidates >= n_items
        users_t = torch.from_numpy(queries.users).to(device)
        raw = model.predict(users_t, item_indices=candidates.masked_fill(invalid, 0),
                            **queries.predict_kwargs(device))
        check_scores(model, raw, tuple(candidates.shape), "sampled")
        scores = raw.float()
        scores = scores.masked_fill(invalid, float("-inf"))
        # The catalogue's tie-break order (as in full ranking), the empty slot last.
        rank = tie_break_rank(n_items, self.seed, device)
        rank = torch.cat([rank, rank.new_full((1,), n_items)])[candidates]
        columns_t, values = top_k(scores, max(self.top_k), rank)
        items = candidates.gather(1, columns_t).masked_fill(values == float("-inf"), n_items)
        is_positive = (columns_t < width) & (items < n_items)
        hits = is_positive.double()
        ratings_t = torch.from_numpy(pos_ratings).to(device)
        top_ratings = torch.where(
            is_positive, ratings_t.gather(1, columns_t.clamp(max=width - 1)), 0.0
        )
        pos_scores = scores[:, :width].masked_fill(invalid[:, :width], float("nan"))
        neg_scores = scores[:, width:].masked_fill(invalid[:, width:], float("inf"))
        batch = context.batch(users_t, items, hits, target, rows)
        batch.pos_scores = pos_scores
        batch.neg_scores = torch.sort(neg_scores, dim=1).values
        batch.top_scores = values
        batch.top_ratings = top_ratings
        batch.pos_items = candidates[:, :width]
        batch.pos_ratings = ratings_t
        batch.scores = scores
        batch.candidates = candidates
        columns = torch.arange(width, device=device).expand(len(rows), width)
        batch.pos_columns = columns.masked_fill(invalid[:, :width], -1)
        batch.column_rank = rank
        return batch

    def _negatives(self, streams: np.ndarray, excluded: sp.csr_matrix, context: _Context
                   ) -> np.ndarray:  # fmt: skip
        """``[B, N]`` negatives per row without replacement; ``n_items`` where too few.

        Weighted sampling without replacement by random keys (Efraimidis-Spirakis):
        each candidate item gets ``log(u) / w`` (``u`` uniform), the N largest keys win;
        the ``excluded`` items of each row are never drawn. Each row's keys come from
        its own stream, seeded by ``(seed, *stream)`` (the user; the user and the row in
        context-aware evaluation), so the negatives do not depend on the batching.
        """
        n_items = excluded.shape[1]
        keys = np.empty((len(streams), n_items), dtype=np.float32)
        # One generator per row costs ~20 us, small next to drawing n_items keys.
        for row, stream in enumerate(streams.tolist()):
            np.random.default_rng([self.seed, *stream]).random(dtype=np.float32, out=keys[row])
        if self.sampling == "popularity":
            with np.errstate(divide="ignore"):
                keys = np.log(keys) / context.sampling_weights
        excluded = excluded.tocoo()
        keys[excluded.row, excluded.col] = -np.inf
        values, chosen = torch.topk(torch.from_numpy(keys), min(self.num_negatives, n_items))
        return chosen.masked_fill(values == float("-inf"), n_items).numpy()


def check_scores(model: Any, scores: Any, shape: tuple[int, ...], label: str) -> None:
    """The model contract on every batch: ``predict`` returns a floating tensor of
    ``shape`` ([batch, n_items] full, [batch, n_candidates] sampled) without NaN (-inf
    is allowed: an excluded item). A :class:`ModelError` naming the model, its plugin
    and the shapes, in the conformance kit's words."""
    problem = None
    if not isinstance(scores, Tensor):
        problem = f"{label} predict returned {type(scores).__name__}, expected a torch.Tensor"
    elif tuple(scores.shape) != tuple(shape):
        problem = f"{label} predict has shape {tuple(scores.shape)}, expected {tuple(shape)}"
    elif not scores.is_floating_point():
        problem = f"{label} predict has dtype {scores.dtype}, expected a floating dtype"
    elif bool(torch.isnan(scores).any()):
        problem = f"{label} predict contains NaN ({int(torch.isnan(scores).sum())} of " \
                  f"{scores.numel()} scores)"
    if problem is not None:
        raise ModelError(f"{type(model).__name__} (from {_provider(model)}) breaks the model "
                         f"contract: {problem}")


def _provider(model: Any) -> str:
    """The plugin (or module) that registered the model's class."""
    from warprec.utils.registry import model_registry

    cls = type(model)
    try:
        for entry in model_registry.entries():
            if entry._loaded is cls or entry.target is cls:
                return str(entry.source)
    except Exception:  # naming the provider must not hide the contract error
        pass
    return f"module {cls.__module__}"


def _key(name: str, metric: Metric, suffix: str, k: int | None) -> str:
    base = f"{name}{metric.decoration()}{suffix}"
    return base if k is None else f"{base}@{k}"


def _positives(target: sp.csr_matrix, users: np.ndarray, n_items: int
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``[B, P]`` relevant items (``n_items`` pads) and their ratings (0 pads)."""
    rows = target[users]
    n_pos = np.diff(rows.indptr)
    width = max(int(n_pos.max(initial=0)), 1)
    items = np.full((len(users), width), n_items, dtype=np.int64)
    ratings = np.zeros((len(users), width), dtype=np.float64)
    row_ids = np.repeat(np.arange(len(users)), n_pos)
    columns = np.arange(rows.nnz) - np.repeat(rows.indptr[:-1], n_pos)
    items[row_ids, columns] = rows.indices
    ratings[row_ids, columns] = rows.data
    return items, ratings


class _Context(EvaluationContext):
    """The evaluation context plus what only the evaluator uses: the negative-sampling
    weights and the ``(user, item)`` lookup into the evaluated split."""

    def __init__(self, known: sp.csr_matrix, device: torch.device, short_head: float = 0.8,
                 **extras: Any) -> None:  # fmt: skip
        super().__init__(known, device, short_head, **extras)
        popularity = self.popularity[:-1].cpu().numpy()
        weights = popularity if popularity.sum() > 0 else np.ones(self.n_items)
        self.sampling_weights = weights.astype(np.float32)
        self._keys: Tensor | None = None
        self._values: Tensor | None = None

    @classmethod
    def build(cls, known: sp.csr_matrix, device: torch.device, short_head: float,
              **extras: Any) -> _Context:  # fmt: skip
        """The context of ``known`` (see :class:`EvaluationContext`)."""
        return cls(known, device, short_head, **extras)

    def lookup(self, users: Tensor, items: Tensor, target: sp.csr_matrix) -> tuple[Tensor, Tensor]:
        """``([B, K] 1.0 where (user, item) is in target, [B, K] its rating or 0.0)``."""
        n_items = target.shape[1]
        if self._keys is None or self._values is None:
            rows = np.repeat(np.arange(target.shape[0], dtype=np.int64), np.diff(target.indptr))
            ordered = target.copy()
            ordered.sort_indices()
            keys = rows * (n_items + 1) + ordered.indices.astype(np.int64)
            self._keys = torch.from_numpy(keys).to(items.device)
            self._values = torch.from_numpy(ordered.data.astype(np.float64)).to(items.device)
        keys, values = self._keys, self._values
        if keys.numel() == 0:
            zeros = torch.zeros(items.shape, dtype=torch.float64, device=items.device)
            return zeros, zeros.clone()
        query = users.unsqueeze(1) * (n_items + 1) + items
        position = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
        found = keys[position] == query
        return found.double(), torch.where(found, values[position], 0.0)

    def batch(
        self,
        users_t: Tensor,
        items: Tensor,
        hits: Tensor,
        target: sp.csr_matrix,
        users: np.ndarray,
    ) -> RankingBatch:
        """Assemble the :class:`RankingBatch` of one batch of users."""
        # Only the batch's rows: a diff of the whole indptr per batch is quadratic overall.
        n_relevant = (target.indptr[users + 1] - target.indptr[users]).astype(np.float64)
        return RankingBatch(
            users=users_t,
            top_items=items,
            hits=hits,
            n_relevant=torch.from_numpy(n_relevant).to(items.device),
            n_items=target.shape[1],
            item_popularity=self.popularity,
            n_known_users=self.n_known_users,
            long_tail=self.long_tail(),
            context=self,
        )


def _cutoffs(top_k: int | Iterable[int]) -> list[int]:
    values = [top_k] if isinstance(top_k, int) else list(top_k)
    if not values or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in values):
        raise ConfigError(f"top_k must be positive integers, got {top_k!r}")
    return sorted(set(values))


def _groups(values: Any, what: str) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer) or (array < 0).any():
        raise ConfigError(
            f"{what} must be a 1-D array of non-negative integer group ids (0 = no group), "
            f"got {array.dtype} of shape {array.shape}"
        )
    return array.astype(np.int64)


def _group_count(groups: np.ndarray | None) -> int:
    return 1 if groups is None else int(groups.max(initial=0))


def _features(values: Any) -> np.ndarray | None:
    if values is None:
        return None
    array = values.toarray() if sp.issparse(values) else np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ConfigError(f"item_features must be an [n_items, n_features] matrix, got shape "
                          f"{array.shape}")  # fmt: skip
    return array


def _resolve_metrics(metrics: Sequence[MetricSpec], strategy: str) -> list[_Spec]:
    from warprec.utils.registry import metric_registry

    if isinstance(metrics, (str, Mapping)):
        metrics = [metrics]
    resolved: list[_Spec] = []
    for metric in metrics:
        params: Mapping[str, Any] = {}
        if isinstance(metric, Mapping):
            unknown = set(metric) - {"name", "params"}
            if "name" not in metric or unknown:
                raise ConfigError(
                    "a metric with parameters is {'name': ..., 'params': {...}}, "
                    f"got {metric!r}"
                )
            metric, params = metric["name"], metric.get("params") or {}
        elif isinstance(metric, tuple):
            metric, params = metric
        if isinstance(metric, str):
            entry = metric_registry.entry(metric)
            name, cls = entry.name, entry.load()
        else:
            name, cls = metric.__name__, metric
        if not (isinstance(cls, type) and issubclass(cls, Metric)):
            raise ConfigError(f"metric {name!r} is not a warprec.evaluation.metrics.Metric")
        if cls.sampled_only and strategy != "sampled":
            raise ConfigError(
                f"metric {name!r} ranks positives against sampled negatives: "
                "use evaluation strategy 'sampled'"
            )
        if not isinstance(params, Mapping):
            raise ConfigError(f"metric {name!r}: params must be a mapping, got {params!r}")
        accepted = cls.parameters()
        for key in params:
            if key not in accepted:
                raise ConfigError(
                    f"metric {name!r} has no parameter {key!r}; expected one of "
                    f"{', '.join(accepted) or '(none)'}"
                )
        resolved.append(_Spec(name, cls, dict(params)))
    return resolved


def _split_matrices(dataset: Any, split: str) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    if split == "validation":
        if getattr(dataset, "validation", None) is None:
            raise ConfigError(
                "the dataset has no validation split to evaluate on; expected split='test' "
                "or a dataset with a validation part"
            )
        target, known = dataset.validation, dataset.train
    elif split == "test":
        target = dataset.test
        known = getattr(dataset, "train_validation", None)
        known = dataset.train if known is None else known
    else:
        raise ConfigError(f"split must be 'validation' or 'test', got {split!r}")
    target = sp.csr_matrix(target.get_sparse(), dtype=np.float64, copy=True)
    # As WarpRec: relevant means a rating > 0; other stored values are not relevant.
    target.data[~(target.data > 0)] = 0.0
    target.eliminate_zeros()
    return target, sp.csr_matrix(known.get_sparse())
