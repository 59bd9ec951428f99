"""What WarpRec's context-aware models share: the fields of a (user, item) pair.

WarpRec's ``ContextRecommenderUtils`` gives every context-aware model a global bias,
user and item embeddings and biases, and an embedding and a bias per item-feature value
(``reader.side``). This project's item features are the float32 CSR matrix
``interactions.item_features`` (one column per numeric attribute or per categorical
value), so an item's features are the rows of the feature tables weighted by its
feature values: for WarpRec's one-value-per-column categorical layout that is exactly
its lookup, and it also holds multi-valued and numeric attributes.

The features are fitted state: the dense ``[n_items + 1, n_features]`` matrix is a
buffer (the last row, the padding item's, is zero) and the feature tables are sized by
it. A checkpoint is rebuilt without training data, so :meth:`load_state_dict` first
resizes them to the saved shapes.

Context columns (``reader.labels.context_labels``) are not supported yet: the config
layer refuses them, and these models score a (user, item) pair with the item's features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import DataError

from warprec_models_neural._pointwise import PointwiseRecommender

__all__ = ["FieldsRecommender"]


class FieldsRecommender(PointwiseRecommender):
    """Base of the models scoring (user, item, item features) fields, trained pointwise
    with binary cross-entropy on each training interaction (label 1) and ``neg_samples``
    unseen items per interaction (label 0), plus ``reg_weight`` times WarpRec's L2
    penalty (its ``EmbLoss``) on the batch's embeddings and biases."""

    needs_item_features: ClassVar[bool] = True

    embedding_size: int
    reg_weight: float
    neg_samples: int

    def __init__(self, params: dict | None, info: dict, interactions: Any = None,
                 *args: Any, seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        features = _feature_matrix(interactions, self.name, self.n_items)
        self.register_buffer("item_feature_matrix", features)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(self.n_items + 1, self.embedding_size,
                                           padding_idx=self.n_items)
        self.global_bias = nn.Parameter(torch.zeros(1))
        self.user_bias = nn.Embedding(self.n_users, 1)
        self.item_bias = nn.Embedding(self.n_items + 1, 1, padding_idx=self.n_items)
        self._build_feature_tables(features.shape[1])

    def _build_feature_tables(self, n_features: int) -> None:
        self.feature_embedding = nn.Parameter(torch.empty(n_features, self.embedding_size))
        self.feature_bias = nn.Parameter(torch.empty(n_features, 1))
        nn.init.xavier_normal_(self.feature_embedding)
        nn.init.xavier_normal_(self.feature_bias)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> Any:
        """Resize the feature buffer and tables to the saved ones, then load."""
        saved = state_dict.get("item_feature_matrix")
        if saved is not None and saved.shape != self.get_buffer("item_feature_matrix").shape:
            self.item_feature_matrix = torch.zeros_like(saved)
            self._build_feature_tables(saved.shape[1])
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Shuffled ``(user, item, label)`` batches with ``neg_samples`` negatives each."""
        kwargs.setdefault("seed", self.seed)
        return interactions.get_pointwise_dataloader(
            batch_size=self.batch_size, neg_samples=self.neg_samples, **kwargs
        )

    def item_sums(self, items: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per item: the sum of its field vectors, the sum of their squares and its
        first-order term (the item's part of a factorization machine)."""
        values = self.item_feature_matrix[items]
        embedding = self.item_embedding(items)
        total = embedding + values @ self.feature_embedding
        squares = embedding.pow(2) + values.pow(2) @ self.feature_embedding.pow(2)
        linear = self.item_bias(items).squeeze(-1) + (values @ self.feature_bias).squeeze(-1)
        return total, squares, linear

    def first_order(self, user: Tensor, item_linear: Tensor) -> Tensor:
        """WarpRec's linear part: global, user, item and feature biases."""
        return self.global_bias + self.user_bias(user).squeeze(-1) + item_linear

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Binary cross-entropy of the labelled pairs plus the L2 penalty."""
        user, item, label = (part.to(self.device) for part in batch)
        loss = nn.functional.binary_cross_entropy_with_logits(self.forward(user, item), label)
        if self.reg_weight > 0:
            loss = loss + self.reg_weight * self.regularization(user, item)
        return loss

    def regularization(self, user: Tensor, item: Tensor) -> Tensor:
        """WarpRec's ``EmbLoss`` (half the squared L2 norm per batch row) over what the
        batch read: the user and item embeddings and biases, and the embedding and bias
        of each feature its items carry."""
        tables = (self.user_embedding(user), self.item_embedding(item), self.user_bias(user),
                  self.item_bias(item))
        squares = torch.stack([table.pow(2).sum() for table in tables]).sum()
        present = (self.item_feature_matrix[item] != 0).to(self.feature_embedding.dtype)
        norms = self.feature_embedding.pow(2).sum(1) + self.feature_bias.pow(2).sum(1)
        return 0.5 * (squares + (present @ norms).sum()) / len(user)


def _feature_matrix(interactions: Any, model: str, n_items: int) -> Tensor:
    """The dense ``[n_items + 1, n_features]`` item features (last row: padding), or an
    empty ``[n_items + 1, 0]`` one without interactions (rebuilt from a checkpoint)."""
    if interactions is None:
        return torch.zeros(n_items + 1, 0)
    features = getattr(interactions, "item_features", None)
    if features is None:
        raise DataError(f"{model}: the training interactions carry no item features; "
                        "expected reader.side naming a side-information file")
    dense = np.asarray(sp.csr_matrix(features, dtype=np.float32).toarray())
    if dense.shape[0] != n_items:
        raise DataError(f"{model}: the item features have {dense.shape[0]} rows for "
                        f"{n_items} items; expected one row per item")
    return torch.from_numpy(np.vstack([dense, np.zeros((1, dense.shape[1]), np.float32)]))
