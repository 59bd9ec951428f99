"""Multi-objective metrics (WarpRec's ``multiobjective``): several metrics at the same
cutoff combined into one number, per user when any part is per-user."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from warprec.errors import ConfigError
from warprec.evaluation.metrics.accuracy import _sub_metric
from warprec.evaluation.metrics.base import Metric, RankingBatch

__all__ = ["EucDistance", "Hypervolume"]


class _Composite(Metric):
    per_user = True

    def __init__(self, k: int | None, metric_names: Sequence[str], points: Sequence[float],
                 owner: str) -> None:  # fmt: skip
        super().__init__(k)
        if isinstance(metric_names, str) or not metric_names:
            raise ConfigError(f"metric {owner!r}: metric_names must be a non-empty list of names")
        if len(metric_names) != len(points):
            raise ConfigError(
                f"metric {owner!r}: metric_names has {len(metric_names)} entries but the "
                f"points have {len(points)}; expected one point per metric"
            )
        self.parts: list[Metric] = []
        self.names: list[str] = []
        for name in metric_names:
            part, spelled = _sub_metric(name, k, owner)
            if part.result_suffixes(1, 1) != [""]:
                raise ConfigError(f"metric {owner!r}: {spelled!r} reports several values, "
                                  "not one score")  # fmt: skip
            self.parts.append(part)
            self.names.append(spelled + part.decoration())
        self.points = np.asarray([float(p) for p in points], dtype=np.float64)
        self._per_user: np.ndarray | None = None

    def requirements(self) -> frozenset[str]:
        """Whatever the parts need."""
        needed: frozenset[str] = frozenset()
        for part in self.parts:
            needed |= part.requirements()
        return needed

    def update(self, batch: RankingBatch) -> None:
        """Update every part."""
        self._per_user = None
        for part in self.parts:
            part.update(batch)

    def scores(self) -> list[np.ndarray | float]:
        """Each part's per-user values, or its single value for a global part."""
        values: list[np.ndarray | float] = []
        for part in self.parts:
            per_user = part.per_user_values()
            values.append(part.compute() if per_user is None else per_user)
        return values

    def combine(self, scores: list[np.ndarray | float]) -> np.ndarray | float:
        """The combined value (per user when any score is an array)."""
        raise NotImplementedError

    def per_user_values(self) -> np.ndarray | None:
        """Per-user combined values when a part is per-user, else None."""
        combined = self.combine(self.scores())
        return combined if isinstance(combined, np.ndarray) else None

    def compute(self) -> float:
        """The combined value (the mean over users, NaN left out, when per user)."""
        combined = self.combine(self.scores())
        if isinstance(combined, np.ndarray):
            kept = combined[~np.isnan(combined)]
            return float(kept.mean()) if kept.size else math.nan
        return float(combined)


def _points(values: np.ndarray) -> str:
    return ", ".join(str(float(v)) for v in values)


class EucDistance(_Composite):
    """Euclidean distance to a utopia point: ``sqrt(sum_j (m_j - utopia_j)^2)`` over the
    metrics ``metric_names`` (lower is better). Reported as
    ``EucDistance[m1, m2][u1, u2]``."""

    higher_is_better = False

    def __init__(self, k: int | None = None, metric_names: Sequence[str] = (),
                 utopia_points: Sequence[float] = ()) -> None:  # fmt: skip
        super().__init__(k, metric_names, utopia_points, "EucDistance")

    def decoration(self) -> str:
        """``[metrics][utopia points]``."""
        return f"[{', '.join(self.names)}][{_points(self.points)}]"

    def combine(self, scores: list[np.ndarray | float]) -> np.ndarray | float:
        """Distance per user (or overall)."""
        total: np.ndarray | float = 0.0
        for score, utopia in zip(scores, self.points, strict=True):
            total = total + (np.asarray(score, dtype=np.float64) - utopia) ** 2
        result = np.sqrt(total)
        return result if np.ndim(result) else float(result)


class Hypervolume(_Composite):
    """Hypervolume of the box between the scores and a nadir point:
    ``prod_j max(d_j, 0)`` with ``d_j = m_j - nadir_j`` when ``higher_is_better[j]`` else
    ``nadir_j - m_j``. Reported as ``Hypervolume[m1, m2][n1, n2][true, false]``."""

    def __init__(self, k: int | None = None, metric_names: Sequence[str] = (),
                 nadir_points: Sequence[float] = (),
                 higher_is_better: Sequence[bool] = ()) -> None:  # fmt: skip
        super().__init__(k, metric_names, nadir_points, "Hypervolume")
        if len(higher_is_better) != len(self.parts):
            raise ConfigError(
                f"metric 'Hypervolume': higher_is_better has {len(higher_is_better)} entries, "
                f"expected one per metric ({len(self.parts)})"
            )
        self.directions = [bool(h) for h in higher_is_better]

    def decoration(self) -> str:
        """``[metrics][nadir points][directions]``."""
        directions = ", ".join(str(d).lower() for d in self.directions)
        return f"[{', '.join(self.names)}][{_points(self.points)}][{directions}]"

    def combine(self, scores: list[np.ndarray | float]) -> np.ndarray | float:
        """Volume per user (or overall)."""
        volume: np.ndarray | float = 1.0
        for score, nadir, up in zip(scores, self.points, self.directions, strict=True):
            value = np.asarray(score, dtype=np.float64)
            volume = volume * np.maximum(value - nadir if up else nadir - value, 0.0)
        return volume if np.ndim(volume) else float(volume)
