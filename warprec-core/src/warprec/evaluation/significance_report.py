"""Statistical significance between the models of a run (``evaluation.stat_significance``).

Every pair of models is compared on every per-user test metric with the enabled tests:
paired t-test and Wilcoxon signed-rank on the users both models were evaluated on
(:func:`warprec.evaluation.paired_test`), Kruskal-Wallis and Mann-Whitney U on the two
per-user samples taken as independent. Corrections for multiple testing (Bonferroni,
Holm-Bonferroni, Benjamini-Hochberg FDR) run within each test's family of comparisons.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["CORRECTIONS", "TESTS", "adjust", "significance"]

# Config flag -> (name in the results, paired).
TESTS: dict[str, tuple[str, bool]] = {
    "paired_t_test": ("ttest", True),
    "wilcoxon_test": ("wilcoxon", True),
    "kruskal_test": ("kruskal", False),
    "whitney_u_test": ("mannwhitneyu", False),
}
CORRECTIONS = ("bonferroni", "holm_bonferroni", "fdr")


def significance(results: Mapping[str, Any], options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{model_a, model_b, metric, test, statistic, p_value, p_adjusted, significant}``.

    ``results`` maps model names to their test :class:`EvaluationResult`; ``options`` is
    the ``stat_significance`` config section.
    """
    enabled = [(name, paired) for flag, (name, paired) in TESTS.items() if options[flag]]
    rows: list[dict[str, Any]] = []
    for (name_a, a), (name_b, b) in itertools.combinations(results.items(), 2):
        metrics = [m for m in a.per_user if m in b.per_user]
        for metric, (test, paired) in itertools.product(metrics, enabled):
            statistic, p_value = _run(a, b, metric, test, paired)
            rows.append({"model_a": name_a, "model_b": name_b, "metric": metric, "test": test,
                         "statistic": statistic, "p_value": p_value})
    corrections = options["corrections"]
    alpha = corrections["alpha"]
    chosen = [c for c in CORRECTIONS if corrections[c]]
    for test, _ in enabled:
        family = [row for row in rows if row["test"] == test]
        p_values = np.array([row["p_value"] for row in family], dtype=float)
        adjusted = {c: adjust(p_values, c) for c in chosen}
        for i, row in enumerate(family):
            row["p_adjusted"] = {c: _float(adjusted[c][i]) for c in chosen}
            row["significant"] = {
                "raw": bool(row["p_value"] < alpha),
                **{c: bool(adjusted[c][i] < alpha) for c in chosen},
            }
    return rows


def _run(a: Any, b: Any, metric: str, test: str, paired: bool) -> tuple[float, float]:
    from scipy import stats

    from warprec.evaluation import paired_test

    if paired:
        outcome = paired_test(a, b, metric, test)
        return outcome.statistic, outcome.p_value
    values_a, values_b = a.per_user[metric], b.per_user[metric]
    if min(values_a.size, values_b.size) < 2:
        return math.nan, math.nan
    if np.all(values_a == values_a[0]) and np.all(values_b == values_a[0]):
        return 0.0, 1.0  # identical samples: scipy refuses them, nothing differs
    if test == "kruskal":
        result = stats.kruskal(values_a, values_b)
    else:
        result = stats.mannwhitneyu(values_a, values_b, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def adjust(p_values: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values (capped at 1); NaN entries stay NaN and do not count in ``m``."""
    adjusted = np.full(p_values.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p_values))
    m = valid.size
    if m == 0:
        return adjusted
    p = p_values[valid]
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if correction == "bonferroni":
        values = np.minimum(p * m, 1.0)
    elif correction == "holm_bonferroni":
        steps = np.maximum.accumulate(ranked * (m - np.arange(m)))
        values = np.empty(m)
        values[order] = np.minimum(steps, 1.0)
    else:  # Benjamini-Hochberg
        steps = ranked * m / np.arange(1, m + 1)
        steps = np.minimum.accumulate(steps[::-1])[::-1]
        values = np.empty(m)
        values[order] = np.minimum(steps, 1.0)
    adjusted[valid] = values
    return adjusted


def _float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
