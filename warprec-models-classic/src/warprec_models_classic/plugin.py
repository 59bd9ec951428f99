"""Hook implementations: the models register as lazy references (no import here)."""

from warprec import hookimpl

MODELS = {
    "EASE": "warprec_models_classic.ease:EASE",
    "ItemKNN": "warprec_models_classic.knn:ItemKNN",
    "UserKNN": "warprec_models_classic.knn:UserKNN",
    "RP3beta": "warprec_models_classic.rp3beta:RP3beta",
    "Pop": "warprec_models_classic.baselines:Pop",
    "Random": "warprec_models_classic.baselines:Random",
    "iALS": "warprec_models_classic.als:iALS",
    "iALS2008": "warprec_models_classic.als:iALS2008",
    "Slim": "warprec_models_classic.slim:Slim",
    "ADMMSlim": "warprec_models_classic.slim:ADMMSlim",
    "SANSA": "warprec_models_classic.sansa:SANSA",
    "ItemKNNTD": "warprec_models_classic.knn:ItemKNNTD",
    "UserKNNTD": "warprec_models_classic.knn:UserKNNTD",
    "AttributeItemKNN": "warprec_models_classic.hybrid:AttributeItemKNN",
    "AttributeUserKNN": "warprec_models_classic.hybrid:AttributeUserKNN",
    "CEASE": "warprec_models_classic.hybrid:CEASE",
    "AddEASE": "warprec_models_classic.hybrid:AddEASE",
    "VSM": "warprec_models_classic.vsm:VSM",
}


@hookimpl
def warprec_register_models(register):
    """Register every model of the package by its ``"module:Class"`` reference."""
    for name, reference in MODELS.items():
        register(name, reference)
