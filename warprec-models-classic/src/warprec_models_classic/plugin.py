"""Hook implementations: the models register as lazy references (no import here)."""

from warprec import hookimpl

MODELS = {
    "EASE": "warprec_models_classic.ease:EASE",
    "ItemKNN": "warprec_models_classic.knn:ItemKNN",
    "UserKNN": "warprec_models_classic.knn:UserKNN",
    "RP3beta": "warprec_models_classic.rp3beta:RP3beta",
    "Pop": "warprec_models_classic.baselines:Pop",
    "Random": "warprec_models_classic.baselines:Random",
}


@hookimpl
def warprec_register_models(register):
    """Register every model of the package by its ``"module:Class"`` reference."""
    for name, reference in MODELS.items():
        register(name, reference)
