"""Novelty metrics (WarpRec's ``novelty``): relevant hits weighted by how unpopular the
item is, discounted by rank."""

from __future__ import annotations

import torch
from torch import Tensor

from warprec.errors import ConfigError
from warprec.evaluation.metrics.base import RankingBatch, UserMetric, cutoff_of, dcg, discounts

__all__ = ["EFD", "EPC"]


class _NoveltyProfile(UserMetric):
    """``sum_{r<=k} rel_r nov(i_r) / log2(r + 1) / sum_{r<=k} 1 / log2(r + 1)``."""

    def __init__(self, k: int | None = None, relevance: str = "binary") -> None:
        super().__init__(k)
        if relevance not in ("binary", "discounted"):
            raise ConfigError(
                f"metric {type(self).__name__!r}: relevance must be 'binary' or "
                f"'discounted', got {relevance!r}"
            )
        self.relevance = relevance

    def decoration(self) -> str:
        """``[discounted]`` for graded relevance."""
        return "" if self.relevance == "binary" else f"[{self.relevance}]"

    def novelty(self, batch: RankingBatch, popularity: Tensor) -> Tensor:
        """``[n_items + 1]`` novelty of each item from its popularity (at least 1)."""
        raise NotImplementedError

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user novelty-weighted, rank-discounted relevance."""
        k = cutoff_of(self, batch)
        popularity = batch.item_popularity.clamp(min=1)
        profile = self.novelty(batch, popularity)
        profile = torch.cat([profile[:-1], profile.new_zeros(1)])  # the empty slot: 0
        relevance = batch.hits[:, :k] if self.relevance == "binary" else batch.top_gains(k)
        gain = relevance * profile[batch.top_items[:, :k]]
        return dcg(gain) / discounts(k, gain).sum()


class EPC(_NoveltyProfile):
    """Expected popularity complement: novelty ``1 - pop(i) / |U|``.

    ``pop(i)`` = known interactions of ``i`` (at least 1), ``|U|`` = users of the known
    matrix; ``rel_r`` binary, or WarpRec's graded gain with ``relevance: discounted``.
    """

    def novelty(self, batch: RankingBatch, popularity: Tensor) -> Tensor:
        """``1 - pop / |U|``."""
        return 1.0 - popularity / max(batch.n_known_users, 1)


class EFD(_NoveltyProfile):
    """Expected free discovery: novelty ``-log2(pop(i) / |I_known|)``.

    ``|I_known|`` = the number of known interactions; otherwise as :class:`EPC`.
    """

    def novelty(self, batch: RankingBatch, popularity: Tensor) -> Tensor:
        """``-log2(pop / total interactions)``."""
        total = float(batch.item_popularity.sum())
        return -torch.log2(popularity / max(total, 1.0))
