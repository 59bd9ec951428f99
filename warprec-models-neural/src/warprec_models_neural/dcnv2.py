"""DCNv2 (Wang et al., WWW 2021): the improved Deep & Cross Network, as WarpRec's
context-aware DCNv2.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`); their concatenated
vectors are ``x_0``. Each of the ``cross_layer_num`` cross layers computes
``x_{l+1} = x_0 * (W_l x_l + b_l) + x_l`` with a full matrix ``W_l``, or, with
``use_mixed``, a mixture of ``expert_num`` low-rank experts
``x_0 * (U tanh(C tanh(V^T x_l)) + b_l)`` weighted by a softmax gate on ``x_l``. As in
WarpRec, an expert's ``C`` step multiplies by the diagonal of ``C`` (its einsum repeats
the index), not by the full matrix of the paper. ``model_structure`` ``parallel`` runs
an MLP (dropout, linear, ReLU per layer) on ``x_0`` beside the cross network and maps
both outputs to the logit; ``stacked`` runs the MLP on the cross network's output. The
network's logit adds to the first-order term (global, user, item, feature and context
biases). The cross parameters are drawn from a standard normal, as in WarpRec. Training
is WarpRec's: pointwise binary cross-entropy with ``neg_samples`` negatives,
``reg_weight`` times its L2 penalty on the batch's embeddings and biases,
``weight_decay`` on the linear weights and the cross parameters.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from annotated_types import Gt, Le
from torch import Tensor, nn

from warprec_models_neural._context import mlp
from warprec_models_neural._deep import DeepFieldsRecommender

__all__ = ["DCNv2"]


class DCNv2(DeepFieldsRecommender):
    """Full-matrix or mixture-of-low-rank cross layers and an MLP over the concatenated
    field vectors."""

    weight_decay: float
    """L2 penalty on the linear weights and the cross parameters, by the optimizer."""

    embedding_size = 16
    cross_layer_num: Annotated[int, Gt(0), Le(16)] = 2
    """Cross layers."""
    model_structure: Literal["parallel", "stacked"] = "parallel"
    """``parallel``: MLP beside the cross network; ``stacked``: MLP after it."""
    use_mixed: bool = False
    """Cross layers as a mixture of low-rank experts instead of a full matrix."""
    expert_num: Annotated[int, Gt(0), Le(64)] = 4
    """Experts per cross layer (with ``use_mixed``)."""
    low_rank: Annotated[int, Gt(0), Le(65536)] = 64
    """Rank of each expert (with ``use_mixed``)."""

    def build_field_layers(self) -> None:
        """The cross parameters of size ``n_fields * embedding_size``, the MLP and the
        output layer."""
        width, layers = self.n_fields * self.embedding_size, self.cross_layer_num
        if self.use_mixed:
            experts = (layers, self.expert_num)
            self.cross_u = nn.Parameter(torch.randn(*experts, width, self.low_rank))
            self.cross_v = nn.Parameter(torch.randn(*experts, width, self.low_rank))
            self.cross_c = nn.Parameter(torch.randn(*experts, self.low_rank, self.low_rank))
            self.gating = nn.ModuleList(
                [nn.Linear(width, self.expert_num) for _ in range(layers)])
        else:
            self.cross_w = nn.Parameter(torch.randn(layers, width, width))
        self.cross_b = nn.Parameter(torch.zeros(layers, width))
        self.mlp_layers = mlp([width, *self.mlp_hidden_size], self.dropout)
        stacked = self.model_structure == "stacked"
        self.predict_layer = nn.Linear(self.mlp_hidden_size[-1] + (0 if stacked else width), 1)

    def row_elements(self) -> int:
        """A mixed layer holds every expert's output for a row."""
        width = self.n_fields * self.embedding_size
        return width * (self.expert_num if self.use_mixed else 1)

    def cross(self, x_0: Tensor) -> Tensor:
        """The cross network's output for the inputs ``x_0`` ``[N, width]``."""
        x_l = x_0
        for layer in range(self.cross_layer_num):
            if self.use_mixed:
                x_l = self._mixed_layer(layer, x_0, x_l)
            else:
                x_l = x_0 * (x_l @ self.cross_w[layer] + self.cross_b[layer]) + x_l
        return x_l

    def _mixed_layer(self, layer: int, x_0: Tensor, x_l: Tensor) -> Tensor:
        gate = torch.softmax(self.gating[layer](x_l), dim=1)  # [N, experts]
        low = torch.tanh(torch.einsum("bi,eir->ber", x_l, self.cross_v[layer]))
        # WarpRec's "ber,err->ber": the repeated index reads the diagonal of C.
        low = torch.tanh(torch.einsum("ber,err->ber", low, self.cross_c[layer]))
        experts = torch.einsum("ber,eir->bei", low, self.cross_u[layer]) + self.cross_b[layer]
        return (x_0[:, None] * experts * gate[..., None]).sum(1) + x_l

    def interaction(self, fields: Tensor) -> Tensor:
        """The output layer over the cross network and the MLP (beside or after it)."""
        x_0 = fields.flatten(1)
        crossed = self.cross(x_0)
        if self.model_structure == "stacked":
            top = self.mlp_layers(crossed)
        else:
            top = torch.cat([crossed, self.mlp_layers(x_0)], dim=-1)
        return self.predict_layer(top).squeeze(-1)
