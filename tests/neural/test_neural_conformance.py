"""The core's conformance kit on every neural model."""

from __future__ import annotations

from warprec.testing import ModelConformance
from warprec_models_neural.afm import AFM
from warprec_models_neural.bert4rec import BERT4Rec
from warprec_models_neural.bpr import BPR
from warprec_models_neural.caser import Caser
from warprec_models_neural.cdae import CDAE
from warprec_models_neural.dcn import DCN
from warprec_models_neural.dcnv2 import DCNv2
from warprec_models_neural.deepfm import DeepFM
from warprec_models_neural.fm import FM
from warprec_models_neural.gru4rec import GRU4Rec
from warprec_models_neural.gsasrec import gSASRec
from warprec_models_neural.lightgcn import LightGCN
from warprec_models_neural.multidae import MultiDAE
from warprec_models_neural.multvae import MultiVAE, MultVAE
from warprec_models_neural.neumf import NeuMF
from warprec_models_neural.nfm import NFM
from warprec_models_neural.ngcf import NGCF
from warprec_models_neural.sasrec import SASRec
from warprec_models_neural.simgcl import SimGCL
from warprec_models_neural.wideanddeep import WideAndDeep
from warprec_models_neural.xdeepfm import xDeepFM


class TestBPR(ModelConformance):
    model_class = BPR
    params = [
        {"epochs": 5, "batch_size": 64},
        {"epochs": 5, "batch_size": 64, "optimizer": "sgd", "reg_weight": 0.01, "init_std": 0.1},
    ]


class TestMultVAE(ModelConformance):
    model_class = MultVAE
    params = {"epochs": 5, "batch_size": 16, "hidden_dims": [32], "latent_dim": 8}


class TestMultiVAE(ModelConformance):
    model_class = MultiVAE
    params = {"epochs": 5, "batch_size": 16, "intermediate_dim": 32, "latent_dim": 8,
              "anneal_step": 2}


class TestLightGCN(ModelConformance):
    model_class = LightGCN
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 16, "learning_rate": 0.01}


class TestSASRec(ModelConformance):
    model_class = SASRec
    params = {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16}


class TestSASRecSampledBCE(ModelConformance):
    model_class = SASRec
    params = {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
              "neg_samples": 2, "reg_weight": 1e-3}


class TestGRU4Rec(ModelConformance):
    model_class = GRU4Rec
    params = [
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
         "hidden_size": 16},
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
         "hidden_size": 16, "num_layers": 2, "neg_samples": 2, "reg_weight": 1e-3},
    ]


class TestBERT4Rec(ModelConformance):
    model_class = BERT4Rec
    params = [
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16},
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
         "neg_samples": 2, "reg_weight": 1e-3},
    ]


class TestCaser(ModelConformance):
    model_class = Caser
    params = [
        {"epochs": 5, "batch_size": 64, "max_seq_len": 4, "embedding_size": 16, "n_h": 4},
        {"epochs": 5, "batch_size": 64, "max_seq_len": 4, "embedding_size": 16, "n_h": 4,
         "neg_samples": 2, "reg_weight": 1e-3},
    ]


class TestGSASRec(ModelConformance):
    model_class = gSASRec
    params = [
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
         "neg_samples": 8},
        {"epochs": 5, "batch_size": 32, "max_seq_len": 8, "embedding_size": 16,
         "neg_samples": 8, "reuse_item_embeddings": False, "gbce_t": 0.0},
    ]

class TestNeuMF(ModelConformance):
    model_class = NeuMF
    params = [
        {"epochs": 3, "batch_size": 256, "mf_embedding_size": 8, "mlp_embedding_size": 8,
         "mlp_hidden_size": [16, 8], "dropout": 0.1, "reg_weight": 1e-4, "mlp_train": True},
        {"epochs": 2, "batch_size": 256, "mf_train": False, "mlp_train": True,
         "mlp_hidden_size": [8]},
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


class TestFM(ModelConformance):
    model_class = FM
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "neg_samples": 0,
         "reg_weight": 0.0},
    ]


class TestNFM(ModelConformance):
    model_class = NFM
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [16, 8],
         "dropout": 0.2, "weight_decay": 1e-3},
    ]


class TestAFM(ModelConformance):
    model_class = AFM
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "attention_size": 4,
         "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "attention_size": 8,
         "dropout": 0.3, "reg_weight": 1e-3, "weight_decay": 1e-4},
    ]


class TestDeepFM(ModelConformance):
    model_class = DeepFM
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [16, 8],
         "dropout": 0.3, "weight_decay": 1e-4},
    ]


class TestWideAndDeep(ModelConformance):
    model_class = WideAndDeep
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
              "learning_rate": 0.01}


class TestDCN(ModelConformance):
    model_class = DCN
    params = {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
              "cross_layer_num": 2, "learning_rate": 0.01}


class TestDCNv2(ModelConformance):
    model_class = DCNv2
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "model_structure": "stacked", "use_mixed": True, "expert_num": 2, "low_rank": 4},
    ]


class TestxDeepFM(ModelConformance):
    model_class = xDeepFM
    params = [
        {"epochs": 5, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "cin_layer_size": [8, 8], "learning_rate": 0.01},
        {"epochs": 3, "batch_size": 64, "embedding_size": 8, "mlp_hidden_size": [8],
         "cin_layer_size": [6], "direct": True},
    ]
