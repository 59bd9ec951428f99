"""Metrics, registered in ``metric_registry`` under WarpRec's names (see
``warprec._builtins.METRICS`` and ``docs/metrics.md``).

A metric is computed at each cutoff ``k`` of the evaluator and reported as
``"<Name>@<k>"``; metrics whose value does not depend on ``k`` (``AUC``, ``GAUC``, the
rating errors, ``UserCoverage``, ``BiasDisparityBS``, ...) as ``"<Name>"``. Relevance: an
item is relevant to a user when it is in the user's evaluated split with a rating > 0;
graded metrics (``nDCG``, ``ItemMADRanking``, ``UserMADRanking``, ``EPC``/``EFD`` with
``relevance: discounted``) use WarpRec's gain ``2**(rating + 1) - 1`` (rating 1 for
implicit feedback).

Per-user metrics are averaged over the evaluated users and kept per user for
significance tests. A plugin adds a metric by subclassing :class:`UserMetric`
(``user_values``) or :class:`Metric` (``update`` and ``compute``) and registering the
class in ``metric_registry``. The families live in submodules (``accuracy``, ``rating``,
``coverage``, ``diversity``, ``novelty``, ``bias``, ``debiased``, ``fairness``,
``multiobjective``); every name is importable from here.
"""

from warprec.evaluation.metrics.accuracy import (
    AUC,
    F1,
    GAUC,
    LAUC,
    MAP,
    MAR,
    MRR,
    HitRate,
    LogLoss,
    PairwiseAUC,
    Precision,
    Recall,
    nDCG,
    nDCGRendle2020,
)
from warprec.evaluation.metrics.base import (
    DistributionMetric,
    EvaluationContext,
    Metric,
    RankingBatch,
    UserMetric,
)
from warprec.evaluation.metrics.bias import ACLT, APLT, ARP, PopREO, PopRSP
from warprec.evaluation.metrics.coverage import (
    ItemCoverage,
    NumRetrieved,
    UserCoverage,
    UserCoverageAtN,
)
from warprec.evaluation.metrics.debiased import IPSDCG, SNIPSDCG, IPSRecall, SNIPSRecall
from warprec.evaluation.metrics.diversity import Gini, ShannonEntropy, SRecall
from warprec.evaluation.metrics.fairness import (
    REO,
    RSP,
    BiasDisparityBD,
    BiasDisparityBR,
    BiasDisparityBS,
    ItemMADRanking,
    ItemMADRating,
    UserMADRanking,
    UserMADRating,
)
from warprec.evaluation.metrics.multiobjective import EucDistance, Hypervolume
from warprec.evaluation.metrics.novelty import EFD, EPC
from warprec.evaluation.metrics.rating import MAE, MSE, RMSE

#: WarpRec 2.2.8's 45 metric names, by family (all registered by the core).
WARPREC_METRICS: dict[str, list[str]] = {
    "accuracy": ["AUC", "F1", "GAUC", "HitRate", "LAUC", "LogLoss", "MAP", "MAR", "MRR",
                 "nDCG", "nDCGRendle2020", "Precision", "Recall"],
    "bias": ["ACLT", "APLT", "ARP", "PopREO", "PopRSP"],
    "coverage": ["ItemCoverage", "NumRetrieved", "UserCoverage", "UserCoverageAtN"],
    "debiased": ["IPSDCG", "IPSRecall", "SNIPSDCG", "SNIPSRecall"],
    "diversity": ["Gini", "ShannonEntropy", "SRecall"],
    "fairness": ["BiasDisparityBD", "BiasDisparityBR", "BiasDisparityBS", "ItemMADRanking",
                 "ItemMADRating", "REO", "RSP", "UserMADRanking", "UserMADRating"],
    "multiobjective": ["EucDistance", "Hypervolume"],
    "novelty": ["EFD", "EPC"],
    "rating": ["MAE", "MSE", "RMSE"],
}  # fmt: skip

__all__ = [
    "ACLT", "APLT", "ARP", "AUC", "EFD", "EPC", "F1", "GAUC", "IPSDCG", "LAUC", "MAE", "MAP",
    "MAR", "MRR", "MSE", "REO", "RMSE", "RSP", "SNIPSDCG", "WARPREC_METRICS",
    "BiasDisparityBD", "BiasDisparityBR", "BiasDisparityBS", "DistributionMetric",
    "EucDistance", "EvaluationContext", "Gini", "HitRate", "Hypervolume", "IPSRecall",
    "ItemCoverage", "ItemMADRanking", "ItemMADRating", "LogLoss", "Metric", "NumRetrieved",
    "PairwiseAUC", "PopREO", "PopRSP", "Precision", "RankingBatch", "Recall", "SNIPSRecall",
    "SRecall", "ShannonEntropy", "UserCoverage", "UserCoverageAtN", "UserMADRanking",
    "UserMADRating", "UserMetric", "nDCG", "nDCGRendle2020",
]  # fmt: skip
