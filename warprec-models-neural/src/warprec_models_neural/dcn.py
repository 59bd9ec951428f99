"""DCN (Wang et al., ADKDD 2017): Deep & Cross Network, as WarpRec's context-aware DCN.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`); their concatenated
vectors are ``x_0``. The cross network applies ``cross_layer_num`` times
``x_{l+1} = x_0 (x_l . w_l) + b_l + x_l``; beside it, an MLP (dropout, linear, ReLU per
layer) reads ``x_0``; a linear layer maps both outputs, concatenated, to the network's
logit, which adds to the first-order term (global, user, item, feature and context
biases). Training is WarpRec's: pointwise binary cross-entropy with ``neg_samples``
negatives, ``reg_weight`` times its L2 penalty on the batch's embeddings and biases,
``weight_decay`` on the linear weights and the cross layers' ``w`` and ``b``.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn

from warprec_models_neural._context import FieldsRecommender, mlp
from warprec_models_neural.deepfm import MLPSizes

__all__ = ["DCN"]


class DCN(FieldsRecommender):
    """A cross network and an MLP over the concatenated field vectors."""

    needs_every_field = True

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    mlp_hidden_size: MLPSizes = [64, 32]
    """Output sizes of the MLP's layers (ReLU after each)."""
    cross_layer_num: Annotated[int, Gt(0), Le(16)] = 2
    """Cross layers."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability before each MLP layer in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty on the linear and cross weights, applied by the optimizer."""
    batch_size: int = 2048
    """Labelled (user, item) pairs per step."""
    epochs: int = 20
    """Passes over the training pairs."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    neg_samples: Annotated[int, Ge(0), Le(1000)] = 2
    """Unseen items drawn per training interaction as negatives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mlp_hidden_size = list(self.mlp_hidden_size)
        self.build_field_layers()
        self.apply(self._init_weights)
        self.to(self.device)

    def build_field_layers(self) -> None:
        """Cross weights (drawn from a standard normal, as WarpRec does) and biases
        (zero) of size ``n_fields * embedding_size``, the MLP and the output layer."""
        width = self.n_fields * self.embedding_size
        self.cross_layer_w = nn.ParameterList(
            [nn.Parameter(torch.randn(width)) for _ in range(self.cross_layer_num)])
        self.cross_layer_b = nn.ParameterList(
            [nn.Parameter(torch.zeros(width)) for _ in range(self.cross_layer_num)])
        self.mlp_layers = mlp([width, *self.mlp_hidden_size], self.dropout)
        self.predict_layer = nn.Linear(width + self.mlp_hidden_size[-1], 1)

    def cross(self, x_0: Tensor) -> Tensor:
        """The cross network: ``x_{l+1} = x_0 (x_l . w_l) + b_l + x_l``."""
        x_l = x_0
        for weight, bias in zip(self.cross_layer_w, self.cross_layer_b, strict=True):
            x_l = x_0 * (x_l @ weight)[:, None] + bias + x_l
        return x_l

    def interaction(self, fields: Tensor) -> Tensor:
        """The output layer over the cross network's and the MLP's outputs, ``[N]``."""
        x_0 = fields.flatten(1)
        both = torch.cat([self.cross(x_0), self.mlp_layers(x_0)], dim=-1)
        return self.predict_layer(both).squeeze(-1)
