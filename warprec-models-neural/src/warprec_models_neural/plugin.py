"""Hook implementations: the models register as lazy references, so that listing
plugins imports neither torch nor the model modules."""

from warprec import hookimpl

MODELS = {
    "NeuMF": "warprec_models_neural.neumf:NeuMF",
    "MultiDAE": "warprec_models_neural.multidae:MultiDAE",
    "CDAE": "warprec_models_neural.cdae:CDAE",
    "NGCF": "warprec_models_neural.ngcf:NGCF",
    "SimGCL": "warprec_models_neural.simgcl:SimGCL",
    "BPR": "warprec_models_neural.bpr:BPR",
    "MultVAE": "warprec_models_neural.multvae:MultVAE",
    "LightGCN": "warprec_models_neural.lightgcn:LightGCN",
    "SASRec": "warprec_models_neural.sasrec:SASRec",
}


@hookimpl
def warprec_register_models(register):
    for name, reference in MODELS.items():
        register(name, reference)
