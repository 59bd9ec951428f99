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

from typing import Annotated

import torch
from annotated_types import Gt, Le
from torch import Tensor, nn

from warprec_models_neural._context import mlp
from warprec_models_neural._deep import DeepFieldsRecommender

__all__ = ["DCN"]


class DCN(DeepFieldsRecommender):
    """A cross network and an MLP over the concatenated field vectors."""

    weight_decay: float
    """L2 penalty on the linear and cross weights, applied by the optimizer."""

    cross_layer_num: Annotated[int, Gt(0), Le(16)] = 2
    """Cross layers."""

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
