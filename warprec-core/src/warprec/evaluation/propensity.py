"""Item propensities (the probability that an item was observed) for the debiased
metrics (``IPSRecall``, ``SNIPSRecall``, ``IPSDCG``, ``SNIPSDCG``).

WarpRec's popularity estimator (Saito et al., WSDM 2020): ``p_i = (n_i / max_j n_j) **
power`` clipped to ``[clip, 1]``, ``n_i`` the known interactions of item ``i``.
"""

from __future__ import annotations

import numpy as np

from warprec.errors import ConfigError

__all__ = ["ESTIMATORS", "build_propensity"]

ESTIMATORS = ("uniform", "popularity")


def check_propensity(estimator: str | None, power: float, clip: float) -> None:
    """Raise a :class:`ConfigError` for an unknown estimator or a bad power or clip."""
    if estimator is not None and estimator not in ESTIMATORS:
        raise ConfigError(
            f"propensity estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}"
        )
    if not power >= 0:
        raise ConfigError(f"propensity power must be >= 0, got {power!r}")
    if not 0 < clip <= 1:
        raise ConfigError(f"propensity clip must lie in (0, 1], got {clip!r}")


def build_propensity(
    item_counts: np.ndarray, estimator: str | None = "popularity", power: float = 0.5,
    clip: float = 0.1,
) -> np.ndarray | None:  # fmt: skip
    """One propensity per item, or ``None`` for ``"uniform"`` / ``None`` (no correction).

    Args:
        item_counts: known (training) interactions of each item.
        estimator: ``"popularity"``, ``"uniform"`` or ``None``.
        power: exponent of the normalised counts (0 flattens every propensity to 1).
        clip: the smallest propensity (the estimators divide by it).
    """
    check_propensity(estimator, power, clip)
    if estimator in (None, "uniform"):
        return None
    counts = np.asarray(item_counts, dtype=np.float64)
    largest = counts.max(initial=0.0)
    if largest <= 0:
        # No interaction anywhere: nothing tells the items apart.
        return np.ones_like(counts)
    return np.clip((counts / largest) ** power, clip, 1.0)
