"""Wide & Deep (Cheng et al., DLRS 2016), as WarpRec's context-aware WideAndDeep.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`). The wide part is the
linear first-order term (global, user, item, feature and context biases); the deep part
runs the concatenated field vectors through an MLP (dropout, linear, ReLU per layer) and
a linear output; the logit is their sum. Training is WarpRec's: pointwise binary
cross-entropy with ``neg_samples`` negatives, ``reg_weight`` times its L2 penalty on the
batch's embeddings and biases, ``weight_decay`` on the linear layers' weights.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn

from warprec_models_neural._context import FieldsRecommender, mlp
from warprec_models_neural.deepfm import MLPSizes

__all__ = ["WideAndDeep"]


class WideAndDeep(FieldsRecommender):
    """A linear model of the fields plus an MLP over their concatenated vectors."""

    needs_every_field = True

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the field vectors."""
    mlp_hidden_size: MLPSizes = [64, 32]
    """Output sizes of the MLP's layers (ReLU after each)."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.0
    """Dropout probability before each MLP layer in training."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's embeddings and biases."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty on the linear layers' weights, applied by the optimizer."""
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
        """The MLP over the ``n_fields * embedding_size`` concatenated vectors."""
        self.mlp_layers = mlp([self.n_fields * self.embedding_size, *self.mlp_hidden_size],
                              self.dropout)
        self.deep_predict_layer = nn.Linear(self.mlp_hidden_size[-1], 1)

    def interaction(self, fields: Tensor) -> Tensor:
        """The deep part, ``[N]`` (the wide part is the first-order term)."""
        return self.deep_predict_layer(self.mlp_layers(fields.flatten(1))).squeeze(-1)
