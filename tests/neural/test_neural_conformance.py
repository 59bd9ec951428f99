"""The core's conformance kit on every neural model."""

from __future__ import annotations

from warprec.testing import ModelConformance
from warprec_models_neural.bpr import BPR
from warprec_models_neural.lightgcn import LightGCN
from warprec_models_neural.multvae import MultVAE
from warprec_models_neural.sasrec import SASRec


class TestBPR(ModelConformance):
    model_class = BPR
    params = [
        {"epochs": 5, "batch_size": 64},
        {"epochs": 5, "batch_size": 64, "optimizer": "sgd", "reg_weight": 0.01, "init_std": 0.1},
    ]


class TestMultVAE(ModelConformance):
    model_class = MultVAE
    params = {"epochs": 5, "batch_size": 16, "hidden_dims": [32], "latent_dim": 8}


class TestLightGCN(ModelConformance):
    model_class = LightGCN
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 16, "learning_rate": 0.01}


class TestSASRec(ModelConformance):
    model_class = SASRec
    params = {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16}


# The general models of issue 15 (imported here so the classes above stay untouched).
from warprec_models_neural.cdae import CDAE  # noqa: E402
from warprec_models_neural.multidae import MultiDAE  # noqa: E402
from warprec_models_neural.neumf import NeuMF  # noqa: E402
from warprec_models_neural.ngcf import NGCF  # noqa: E402
from warprec_models_neural.simgcl import SimGCL  # noqa: E402


class TestNeuMF(ModelConformance):
    model_class = NeuMF
    params = [
        {"epochs": 3, "batch_size": 256, "mf_embedding_size": 8, "mlp_embedding_size": 8,
         "mlp_hidden_size": [16, 8], "dropout": 0.1, "reg_weight": 1e-4},
        {"epochs": 2, "batch_size": 256, "mf_train": False, "mlp_hidden_size": [8]},
    ]


class TestMultiDAE(ModelConformance):
    model_class = MultiDAE
    params = {"epochs": 5, "batch_size": 16, "intermediate_dim": 32, "latent_dim": 8}


class TestCDAE(ModelConformance):
    model_class = CDAE
    params = [
        {"epochs": 5, "batch_size": 16, "embedding_size": 16},
        {"epochs": 3, "batch_size": 16, "embedding_size": 8, "loss_type": "MSE",
         "hid_activation": "relu", "out_activation": "relu"},
    ]


class TestNGCF(ModelConformance):
    model_class = NGCF
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 16, "weight_size": [16, 8],
              "node_dropout": 0.1, "learning_rate": 0.01}


class TestSimGCL(ModelConformance):
    model_class = SimGCL
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 16, "learning_rate": 0.01}
