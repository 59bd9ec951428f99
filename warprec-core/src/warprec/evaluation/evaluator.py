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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from warprec.errors import ConfigError
from warprec.evaluation.metrics import Metric, RankingBatch
from warprec.recommenders.ranking import mask_seen, tie_break_rank, top_k, writable
from warprec.utils.checks import check_integer

__all__ = ["EvaluationResult", "Evaluator"]

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


class Evaluator:
    """Evaluate models with a fixed set of metrics and cutoffs.

    Args:
        metrics: names in ``metric_registry`` (case-insensitive) or :class:`Metric`
            subclasses.
        top_k: cutoffs; every metric with a cutoff is computed at each.
        strategy: ``"full"`` or ``"sampled"``.
        num_negatives: sampled negatives per user (sampled strategy).
        sampling: ``"uniform"`` or ``"popularity"`` (sampled strategy).
        seed: seeds the negatives and the tie-break order of equal scores.
        batch_size: users per batch; default: as many as fit a 2**25-entry score matrix.
        short_head_share: share of known interactions covered by the short head (APLT).
    """

    def __init__(
        self,
        metrics: Sequence[str | type[Metric]] = ("nDCG", "Precision", "Recall", "HitRate"),
        top_k: int | Iterable[int] = (10, 20),
        strategy: str = "full",
        num_negatives: int = 99,
        sampling: str = "uniform",
        seed: int = 42,
        batch_size: int | None = None,
        short_head_share: float = 0.8,
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
        self.strategy = strategy
        self.num_negatives = num_negatives
        self.sampling = sampling
        self.seed = int(seed)
        self.batch_size = batch_size
        self.short_head_share = float(short_head_share)
        self.metric_classes = _resolve_metrics(metrics, strategy)
        self.keys = [
            key
            for name, cls in self.metric_classes.items()
            for key in ([f"{name}@{k}" for k in self.top_k] if cls.uses_cutoff else [name])
        ]

    def evaluate(self, model: Any, dataset: Any, split: str = "validation") -> EvaluationResult:
        """Evaluate ``model`` on ``dataset``'s ``"validation"`` or ``"test"`` split."""
        start = time.perf_counter()
        target, known = _split_matrices(dataset, split)
        n_users, n_items = target.shape
        counts = np.diff(target.indptr)
        users = np.flatnonzero(counts > 0)
        metrics = self._instantiate()
        context = _Context.build(known, model.device, self.short_head_share)
        was_training = model.training
        model.to(model.device).eval()
        try:
            with torch.no_grad():
                ranker = self._rank_full if self.strategy == "full" else self._rank_sampled
                size = self._batch(n_items)
                for first in range(0, len(users), size):
                    batch = ranker(model, users[first : first + size], target, known, context)
                    for metric in metrics.values():
                        metric.update(batch)
        finally:
            model.train(was_training)
        values = {key: metric.compute() for key, metric in metrics.items()}
        per_user = {
            key: values_
            for key, metric in metrics.items()
            if (values_ := metric.per_user_values()) is not None
        }
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

    def _instantiate(self) -> dict[str, Metric]:
        metrics: dict[str, Metric] = {}
        for name, cls in self.metric_classes.items():
            if cls.uses_cutoff:
                for k in self.top_k:
                    metrics[f"{name}@{k}"] = cls(k)
            else:
                metrics[name] = cls(None)
        return metrics

    def _batch(self, n_columns: int) -> int:
        if self.batch_size is not None:
            return self.batch_size
        # Sampling keeps a key per catalogue item for each user, on top of the scores.
        budget = _SCORE_BUDGET if self.strategy == "full" else _SCORE_BUDGET // 4
        return int(min(4096, max(16, budget // max(n_columns, 1))))

    def _rank_full(
        self,
        model: Any,
        users: np.ndarray,
        target: sp.csr_matrix,
        known: sp.csr_matrix,
        context: _Context,
    ) -> RankingBatch:
        device = model.device
        n_items = target.shape[1]
        users_t = torch.from_numpy(users).to(device)
        scores = writable(model.predict(users_t, item_indices=None).float(), model)
        mask_seen(scores, users, known)
        rank = tie_break_rank(n_items, self.seed, device)
        items, values = top_k(scores, max(self.top_k), rank)
        items = items.masked_fill(values == float("-inf"), n_items)
        hits = context.lookup(users_t, items, target)
        return context.batch(users_t, items, hits, target, users)

    def _rank_sampled(
        self,
        model: Any,
        users: np.ndarray,
        target: sp.csr_matrix,
        known: sp.csr_matrix,
        context: _Context,
    ) -> RankingBatch:
        device = model.device
        n_items = target.shape[1]
        rows = target[users]
        n_pos = np.diff(rows.indptr)
        width = int(n_pos.max())
        positives = np.full((len(users), width), n_items, dtype=np.int64)
        row_ids = np.repeat(np.arange(len(users)), n_pos)
        columns = np.arange(rows.nnz) - np.repeat(rows.indptr[:-1], n_pos)
        positives[row_ids, columns] = rows.indices
        negatives = self._negatives(users, rows, known, context)
        candidates = torch.from_numpy(np.concatenate([positives, negatives], axis=1)).to(device)
        invalid = candidates >= n_items
        users_t = torch.from_numpy(users).to(device)
        scores = model.predict(users_t, item_indices=candidates.masked_fill(invalid, 0)).float()
        scores = scores.masked_fill(invalid, float("-inf"))
        # The catalogue's tie-break order (as in full ranking), the empty slot last.
        rank = tie_break_rank(n_items, self.seed, device)
        rank = torch.cat([rank, rank.new_full((1,), n_items)])[candidates]
        columns_t, values = top_k(scores, max(self.top_k), rank)
        items = candidates.gather(1, columns_t).masked_fill(values == float("-inf"), n_items)
        hits = ((columns_t < width) & (items < n_items)).double()
        pos_scores = scores[:, :width].masked_fill(invalid[:, :width], float("nan"))
        neg_scores = scores[:, width:].masked_fill(invalid[:, width:], float("inf"))
        batch = context.batch(users_t, items, hits, target, users)
        batch.pos_scores = pos_scores
        batch.neg_scores = torch.sort(neg_scores, dim=1).values
        return batch

    def _negatives(
        self, users: np.ndarray, rows: sp.csr_matrix, known: sp.csr_matrix, context: _Context
    ) -> np.ndarray:
        """``[B, N]`` negatives per user without replacement; ``n_items`` where too few.

        Weighted sampling without replacement by random keys (Efraimidis-Spirakis):
        each candidate item gets ``log(u) / w`` (``u`` uniform), the N largest keys win.
        Each user's keys come from its own stream, seeded by ``(seed, user)``, so the
        negatives do not depend on how the users are batched.
        """
        n_items = rows.shape[1]
        keys = np.empty((len(users), n_items), dtype=np.float32)
        # One generator per user costs ~20 us, small next to drawing n_items keys.
        for row, user in enumerate(users.tolist()):
            np.random.default_rng([self.seed, user]).random(dtype=np.float32, out=keys[row])
        if self.sampling == "popularity":
            with np.errstate(divide="ignore"):
                keys = np.log(keys) / context.sampling_weights
        excluded = (known[users] + rows).tocoo()
        keys[excluded.row, excluded.col] = -np.inf
        values, chosen = torch.topk(torch.from_numpy(keys), min(self.num_negatives, n_items))
        return chosen.masked_fill(values == float("-inf"), n_items).numpy()


class _Context:
    """Per-evaluation data shared by the batches: popularity, long tail, split keys."""

    def __init__(
        self, popularity: Tensor, long_tail: Tensor, weights: np.ndarray, n_known_users: int
    ) -> None:
        self.popularity = popularity
        self.long_tail = long_tail
        self.sampling_weights = weights
        self.n_known_users = n_known_users
        self._keys: Tensor | None = None

    @classmethod
    def build(cls, known: sp.csr_matrix, device: torch.device, short_head: float) -> _Context:
        n_users, n_items = known.shape
        binary = known.copy()
        binary.data = np.ones_like(binary.data)
        popularity = np.asarray(binary.sum(axis=0)).ravel()
        order = np.argsort(-popularity, kind="stable")
        covered = np.cumsum(popularity[order])
        total = covered[-1] if covered.size else 0.0
        head = np.zeros(n_items, dtype=bool)
        if total > 0:
            head_size = int(np.searchsorted(covered, short_head * total, side="left")) + 1
            head[order[:head_size]] = True
        long_tail = np.append(~head, False)
        weights = popularity if popularity.sum() > 0 else np.ones(n_items)
        return cls(
            torch.from_numpy(np.append(popularity, 0.0).astype(np.float64)).to(device),
            torch.from_numpy(long_tail).to(device),
            weights.astype(np.float32),
            n_users,
        )

    def lookup(self, users: Tensor, items: Tensor, target: sp.csr_matrix) -> Tensor:
        """``[B, K]`` 1.0 where ``(user, item)`` is stored in ``target``."""
        n_items = target.shape[1]
        if self._keys is None:
            rows = np.repeat(np.arange(target.shape[0], dtype=np.int64), np.diff(target.indptr))
            ordered = target.copy()
            ordered.sort_indices()
            keys = rows * (n_items + 1) + ordered.indices.astype(np.int64)
            self._keys = torch.from_numpy(keys).to(items.device)
        keys = self._keys
        query = users.unsqueeze(1) * (n_items + 1) + items
        position = torch.searchsorted(keys, query).clamp(max=max(keys.numel() - 1, 0))
        return (keys[position] == query).double()

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
            long_tail=self.long_tail,
        )


def _cutoffs(top_k: int | Iterable[int]) -> list[int]:
    values = [top_k] if isinstance(top_k, int) else list(top_k)
    if not values or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in values):
        raise ConfigError(f"top_k must be positive integers, got {top_k!r}")
    return sorted(set(values))


def _resolve_metrics(
    metrics: Sequence[str | type[Metric]], strategy: str
) -> dict[str, type[Metric]]:
    from warprec.utils.registry import metric_registry

    resolved: dict[str, type[Metric]] = {}
    for metric in metrics:
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
        resolved[name] = cls
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
    return sp.csr_matrix(target.get_sparse()), sp.csr_matrix(known.get_sparse())
