"""DeepFM (Guo et al., IJCAI 2017): a factorization machine and a deep network sharing
their field vectors, as WarpRec's context-aware DeepFM.

The fields of a row are the user, the item, one per side-file column of the item and
one per context column (see :mod:`warprec_models_neural._context`). The logit is the
first-order term (global, user, item, feature and context biases), plus the
factorization machine's second-order term over the fields (``0.5 * ((sum of
vectors)^2 - sum of squared vectors)`` summed over the dimensions), plus the deep part:
the concatenated field vectors through an MLP (dropout, linear, ReLU per layer) and a
linear output. Training is WarpRec's: pointwise binary cross-entropy with
``neg_samples`` negatives, ``reg_weight`` times its L2 penalty on the batch's embeddings
and biases, ``weight_decay`` on the linear layers' weights.
"""

from __future__ import annotations

from torch import Tensor, nn

from warprec_models_neural._context import mlp
from warprec_models_neural._deep import DeepFieldsRecommender

__all__ = ["DeepFM"]


class DeepFM(DeepFieldsRecommender):
    """A factorization machine plus an MLP over the concatenated field vectors."""


    def build_field_layers(self) -> None:
        """The MLP over the ``n_fields * embedding_size`` concatenated vectors."""
        self.mlp_layers = mlp([self.n_fields * self.embedding_size, *self.mlp_hidden_size],
                              self.dropout)
        self.deep_predict_layer = nn.Linear(self.mlp_hidden_size[-1], 1)

    def interaction(self, fields: Tensor) -> Tensor:
        """The factorization machine's second-order term plus the deep part, ``[N]``."""
        second = 0.5 * (fields.sum(1).pow(2) - fields.pow(2).sum(1)).sum(-1)
        return second + self.deep_predict_layer(self.mlp_layers(fields.flatten(1))).squeeze(-1)
