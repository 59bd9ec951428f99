"""The core's own models (ProxyRecommender), metrics, losses, splitters, filters and
datasets, registered lazily through the same hooks as any plugin (so listing them
imports nothing heavy)."""

from __future__ import annotations

from warprec.hookspecs import Register, hookimpl

# WarpRec's ProxyRecommender: a "model" serving another framework's recommendation file.
MODELS = {"ProxyRecommender": "warprec.recommenders.proxy:ProxyRecommender"}
METRICS = {
    name: f"warprec.evaluation.metrics:{name}"
    for name in [
        # WarpRec 2.2.8's 45 metrics, by family (docs/metrics.md).
        "AUC", "F1", "GAUC", "HitRate", "LAUC", "LogLoss", "MAP", "MAR", "MRR", "nDCG",
        "nDCGRendle2020", "Precision", "Recall",
        "ACLT", "APLT", "ARP", "PopREO", "PopRSP",
        "ItemCoverage", "NumRetrieved", "UserCoverage", "UserCoverageAtN",
        "IPSDCG", "IPSRecall", "SNIPSDCG", "SNIPSRecall",
        "Gini", "ShannonEntropy", "SRecall",
        "BiasDisparityBD", "BiasDisparityBR", "BiasDisparityBS", "ItemMADRanking",
        "ItemMADRating", "REO", "RSP", "UserMADRanking", "UserMADRating",
        "EucDistance", "Hypervolume",
        "EFD", "EPC",
        "MAE", "MSE", "RMSE",
        # Ours: the pairwise sampled AUC (``AUC`` before it followed WarpRec).
        "PairwiseAUC",
    ]
}
LOSSES = {
    name: f"warprec.recommenders.losses:{name}"
    for name in [
        "BPRLoss", "EmbLoss", "BCELoss", "MultinomialLoss", "KLDivergenceLoss",
        "CrossEntropyLoss",
    ]
}
SPLITTERS = {
    name: f"warprec.data.splitting:{name}"
    for name in [
        "RandomHoldout",
        "RandomHoldoutPerUser",
        "TemporalHoldout",
        "RandomLeaveKOut",
        "TemporalLeaveKOut",
        "TimestampSlicing",
        "KFold",
        "ItemColdStart",
        "UserColdStart",
    ]
}
FILTERS = {
    name: f"warprec.data.filtering:{name}"
    for name in ["MinRating", "UserMinInteractions", "ItemMinInteractions", "KCore", "DropIds",
                 "UserAverage", "ItemAverage", "UserMax", "ItemMax", "NRoundsKCore",
                 "UserHeadN", "UserTailN"]
}
DATASETS = {
    "synthetic": "warprec.data.synthetic:synthetic",
    "movielens": "warprec.data.movielens:movielens",
}


def _register_all(register: Register, table: dict[str, str]) -> None:
    for name, reference in table.items():
        register(name, reference)


@hookimpl
def warprec_register_models(register: Register) -> None:
    _register_all(register, MODELS)


@hookimpl
def warprec_register_metrics(register: Register) -> None:
    _register_all(register, METRICS)


@hookimpl
def warprec_register_losses(register: Register) -> None:
    _register_all(register, LOSSES)


@hookimpl
def warprec_register_splitters(register: Register) -> None:
    _register_all(register, SPLITTERS)


@hookimpl
def warprec_register_filters(register: Register) -> None:
    _register_all(register, FILTERS)


@hookimpl
def warprec_register_datasets(register: Register) -> None:
    _register_all(register, DATASETS)
