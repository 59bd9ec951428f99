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
    "MultiVAE": "warprec_models_neural.multvae:MultiVAE",
    "LightGCN": "warprec_models_neural.lightgcn:LightGCN",
    "SASRec": "warprec_models_neural.sasrec:SASRec",
    "GRU4Rec": "warprec_models_neural.gru4rec:GRU4Rec",
    "BERT4Rec": "warprec_models_neural.bert4rec:BERT4Rec",
    "Caser": "warprec_models_neural.caser:Caser",
    "gSASRec": "warprec_models_neural.gsasrec:gSASRec",
    "FM": "warprec_models_neural.fm:FM",
    "NFM": "warprec_models_neural.nfm:NFM",
    "AFM": "warprec_models_neural.afm:AFM",
    "DeepFM": "warprec_models_neural.deepfm:DeepFM",
    "WideAndDeep": "warprec_models_neural.wideanddeep:WideAndDeep",
    "DCN": "warprec_models_neural.dcn:DCN",
    "DCNv2": "warprec_models_neural.dcnv2:DCNv2",
    "xDeepFM": "warprec_models_neural.xdeepfm:xDeepFM",
}


@hookimpl
def warprec_register_models(register):
    for name, reference in MODELS.items():
        register(name, reference)
