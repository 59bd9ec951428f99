"""xDeepFM (Lian et al., KDD 2018): a Compressed Interaction Network and a deep network
sharing their field vectors, as WarpRec's context-aware xDeepFM.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`), ``X^0 [F, E]``. Layer
``k`` of the CIN takes the outer product of each row of ``X^{k-1}`` with each row of
``X^0`` per embedding dimension and compresses the ``H_{k-1} * F`` products into
``cin_layer_size[k]`` feature maps (a 1x1 convolution, then ReLU). With ``direct`` every
map feeds both the next layer and the output; without it (the paper's default) the sizes
are rounded down to even and half of each hidden layer's maps feeds the next layer, the
other half the output (the last layer: all of them). The output maps, summed over the
embedding dimensions, go through a linear layer; beside it an MLP (dropout, linear, ReLU
per layer) and a linear layer read the concatenated field vectors. The logit adds both
to the first-order term (global, user, item, feature and context biases). Training is
WarpRec's: pointwise binary cross-entropy with ``neg_samples`` negatives, ``reg_weight``
times its L2 penalty on the batch's embeddings and biases, ``weight_decay`` on the
linear and convolution weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import torch
from annotated_types import Gt, Le, MaxLen, MinLen
from torch import Tensor, nn

from warprec_models_neural._context import mlp
from warprec_models_neural._deep import DeepFieldsRecommender

__all__ = ["CIN", "xDeepFM"]


class CIN(nn.Module):
    """The Compressed Interaction Network over ``n_fields`` fields."""

    def __init__(self, n_fields: int, layer_sizes: list[int], direct: bool) -> None:
        super().__init__()
        self.direct = direct
        self.layer_sizes = layer_sizes if direct else [size // 2 * 2 for size in layer_sizes]
        self.maps = [n_fields]  # feature maps entering each layer
        self.convolutions = nn.ModuleList()
        for size in self.layer_sizes:
            self.convolutions.append(nn.Conv1d(self.maps[-1] * n_fields, size, 1))
            self.maps.append(size if direct else size // 2)
        last = self.layer_sizes[-1]
        self.output_size = (sum(self.layer_sizes) if direct
                            else sum(self.layer_sizes[:-1]) // 2 + last)

    def forward(self, x_0: Tensor) -> Tensor:
        """The summed output maps ``[N, output_size]`` of the fields ``[N, F, E]``."""
        hidden, outputs = x_0, []
        for index, convolution in enumerate(self.convolutions):
            products = torch.einsum("bhd,bmd->bhmd", hidden, x_0).flatten(1, 2)
            maps = torch.relu(convolution(products))
            if self.direct or index == len(self.convolutions) - 1:
                hidden, output = maps, maps
            else:
                hidden, output = maps.split(maps.shape[1] // 2, dim=1)
            outputs.append(output)
        return torch.cat(outputs, dim=1).sum(-1)


class xDeepFM(DeepFieldsRecommender):
    """A CIN and an MLP over the field vectors, beside the linear term."""

    weight_decay: float
    """L2 penalty on the linear and convolution weights, applied by the optimizer."""

    embedding_size = 16
    cin_layer_size: Annotated[list[Annotated[int, Gt(0), Le(4096)]], MinLen(1),
                              MaxLen(16)] = [16, 16]
    """Feature maps of each CIN layer."""
    direct: bool = False
    """Every CIN map feeds both the next layer and the output (else half of each)."""

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        """Without ``direct``, each CIN layer is rounded down to an even size and split
        in two halves, so it needs at least 2 maps."""
        super().check_relations(params, optimizer)
        if not params["direct"] and min(params["cin_layer_size"]) < 2:
            raise ValueError(f"cin_layer_size {list(params['cin_layer_size'])} has a layer "
                             "under 2 maps; expected at least 2 per layer when direct is "
                             "false (each layer is split in two halves)")

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """WarpRec's: Xavier-normal weights (convolutions included), zero biases."""
        DeepFieldsRecommender._init_weights(module)
        if isinstance(module, nn.Conv1d):
            nn.init.xavier_normal_(module.weight)
            nn.init.zeros_(module.bias)

    def build_field_layers(self) -> None:
        """The CIN over ``n_fields`` fields, the MLP and the two output layers."""
        self.cin_layer_size = list(self.cin_layer_size)
        self.cin = CIN(self.n_fields, self.cin_layer_size, self.direct)
        self.cin_linear = nn.Linear(self.cin.output_size, 1)
        self.mlp_layers = mlp([self.n_fields * self.embedding_size, *self.mlp_hidden_size],
                              self.dropout)
        self.dnn_linear = nn.Linear(self.mlp_hidden_size[-1], 1)

    def row_elements(self) -> int:
        """The CIN's largest product tensor of a row: ``max H_{k-1} * F * E``."""
        return max(self.cin.maps[:-1]) * self.n_fields * self.embedding_size

    def interaction(self, fields: Tensor) -> Tensor:
        """The CIN's and the MLP's logits, ``[N]``."""
        cin = self.cin_linear(self.cin(fields)).squeeze(-1)
        return cin + self.dnn_linear(self.mlp_layers(fields.flatten(1))).squeeze(-1)
