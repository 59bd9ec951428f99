"""Paired significance tests between two models' per-user metric values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from warprec.errors import ConfigError

__all__ = ["SignificanceResult", "paired_test"]

TESTS = ("ttest", "wilcoxon")


@dataclass(frozen=True)
class SignificanceResult:
    """Outcome of a paired test on the users both evaluations share."""

    metric: str
    test: str
    statistic: float
    p_value: float
    mean_difference: float  # mean of (a - b) over the shared users
    n_users: int

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether ``p_value < alpha``."""
        return self.p_value < alpha


def paired_test(a: Any, b: Any, metric: str, test: str = "ttest") -> SignificanceResult:
    """Compare two :class:`EvaluationResult` on ``metric`` (e.g. ``"nDCG@10"``).

    Users are paired by index; only users evaluated in both results count. ``test`` is
    ``"ttest"`` (paired Student t-test) or ``"wilcoxon"`` (signed-rank). When every
    difference is zero the p-value is 1.
    """
    if test not in TESTS:
        raise ConfigError(f"significance test must be one of {', '.join(TESTS)}, got {test!r}")
    for result in (a, b):
        if metric not in result.per_user:
            known = ", ".join(result.per_user) or "none"
            raise ConfigError(f"no per-user values of {metric!r} (per-user metrics: {known})")
    _, index_a, index_b = np.intersect1d(a.users, b.users, return_indices=True)
    values_a = a.per_user[metric][index_a]
    values_b = b.per_user[metric][index_b]
    differences = values_a - values_b
    mean_difference = float(differences.mean()) if differences.size else float("nan")
    if differences.size < 2:
        statistic, p_value = float("nan"), float("nan")
    elif not np.any(differences):
        statistic, p_value = 0.0, 1.0
    elif test == "ttest":
        outcome = stats.ttest_rel(values_a, values_b)
        statistic, p_value = float(outcome.statistic), float(outcome.pvalue)
    else:
        outcome = stats.wilcoxon(values_a, values_b)
        statistic, p_value = float(outcome.statistic), float(outcome.pvalue)
    return SignificanceResult(
        metric, test, statistic, p_value, mean_difference, int(differences.size)
    )
