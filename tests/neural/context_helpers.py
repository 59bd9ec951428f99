"""Helpers of the context-aware models' tests: small builds, a hand-made context layout
(``info["context_dims"]``) and context rows."""

from __future__ import annotations

from typing import Any

import torch
from warprec.data.dataset import Dataset
from warprec_models_neural.afm import AFM
from warprec_models_neural.dcn import DCN
from warprec_models_neural.dcnv2 import DCNv2
from warprec_models_neural.deepfm import DeepFM
from warprec_models_neural.fm import FM
from warprec_models_neural.nfm import NFM
from warprec_models_neural.wideanddeep import WideAndDeep
from warprec_models_neural.xdeepfm import xDeepFM

CONTEXT_DIMS = {"daytime": 3, "weekend": 2}
"""Two context columns of 3 and 2 categories (as ``Dataset.info()`` gives them)."""

SMALL: dict[type, dict[str, Any]] = {
    FM: {},
    NFM: {"mlp_hidden_size": [8]},
    AFM: {"attention_size": 4},
    DeepFM: {"mlp_hidden_size": [8]},
    WideAndDeep: {"mlp_hidden_size": [8]},
    DCN: {"mlp_hidden_size": [8]},
    DCNv2: {"mlp_hidden_size": [8], "low_rank": 3, "expert_num": 2},
    xDeepFM: {"mlp_hidden_size": [8], "cin_layer_size": [4, 4]},
}
"""Small hyperparameters of each model (embedding size 8 is added by :func:`build`)."""

FIELD_MODELS = [AFM, DeepFM, WideAndDeep, DCN, DCNv2, xDeepFM]
ALL_MODELS = [FM, NFM, *FIELD_MODELS]


def build(model_class: type, dataset: Dataset, context: bool = True, **params: Any) -> Any:
    """``model_class`` on ``dataset``'s training part, with :data:`CONTEXT_DIMS` in its
    info when ``context``, in evaluation mode."""
    info = dict(dataset.info())
    if context:
        info["context_dims"] = dict(CONTEXT_DIMS)
    chosen = {"embedding_size": 8, "epochs": 1, "batch_size": 64, **SMALL[model_class],
              **params}
    return model_class(chosen, info, dataset.train, seed=3).eval()


def contexts(rows: int, seed: int = 0) -> torch.Tensor:
    """``rows`` random context rows ``[rows, 2]`` within :data:`CONTEXT_DIMS`."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, size, (rows,), generator=generator)
                        for size in CONTEXT_DIMS.values()], dim=1)
