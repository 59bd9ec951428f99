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

from torch import Tensor, nn

from warprec_models_neural._context import mlp
from warprec_models_neural._deep import DeepFieldsRecommender

__all__ = ["WideAndDeep"]


class WideAndDeep(DeepFieldsRecommender):
    """A linear model of the fields plus an MLP over their concatenated vectors."""


    def build_field_layers(self) -> None:
        """The MLP over the ``n_fields * embedding_size`` concatenated vectors."""
        self.mlp_layers = mlp([self.n_fields * self.embedding_size, *self.mlp_hidden_size],
                              self.dropout)
        self.deep_predict_layer = nn.Linear(self.mlp_hidden_size[-1], 1)

    def interaction(self, fields: Tensor) -> Tensor:
        """The deep part, ``[N]`` (the wide part is the first-order term)."""
        return self.deep_predict_layer(self.mlp_layers(fields.flatten(1))).squeeze(-1)
