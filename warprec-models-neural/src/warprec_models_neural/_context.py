"""What WarpRec's context-aware models share: the fields of a (user, item, context) row.

WarpRec's ``ContextRecommenderUtils`` gives every context-aware model a global bias,
user and item embeddings and biases, an embedding and a bias per item-feature value
(``reader.side``) and per context value (``reader.labels.context_labels``). The fields of
a row are the user, the item, one field per side-file column and one per context column.

Item features. This project's item features are the float32 CSR matrix
``interactions.item_features``, one column per numeric attribute or per categorical
value, named ``column`` or ``column=value`` (``item_feature_names``). A side-file
column's field is the sum of its values' vectors weighted by the item's values: for
WarpRec's one-value-per-column categorical layout that is exactly its lookup, a numeric
column scales its one vector by the value (as WarpRec does for a numeric context), and a
multi-valued column (a genre list) is pooled by the mean of its values' vectors
(WarpRec's pooling of a multi-valued field), so every item has the same fields.
:class:`FM` and :class:`NFM` instead read each feature value as its own variable (the
factorization machine's ``x``: the sum of vectors is the same, and every pair of values
interacts), which :attr:`FieldsRecommender.pool_multi_valued` selects. Without column
names, each feature column is its own field.

Context. ``info["context_dims"]`` (``{column: n_categories}``, absent without context)
sizes one embedding table and one bias table over all context columns; a context row is
a LongTensor ``[n_contexts]`` of per-column category indices. ``forward(user, item,
context=None)`` scores rows, ``predict(users, item_indices=None, context=None)`` scores
the items of each user under that user's row's context.

Fitted state: the item features (the dense ``[n_items + 1, n_features]`` weights the
model reads, the padding item's row zero) and the field of each feature column are
buffers and the feature tables are sized by them. A checkpoint is rebuilt without
training data, so :meth:`load_state_dict` first resizes them to the saved shapes and
lets the model rebuild the layers whose size depends on the number of fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import DataError

from warprec_models_neural._pointwise import PointwiseRecommender

__all__ = ["FieldsRecommender", "mlp"]

# Elements of the largest intermediate per block when scoring all items through the
# forward (about 64 MiB of float32).
BLOCK_ELEMENTS = 2**24


def mlp(sizes: Sequence[int], dropout: float) -> nn.Sequential:
    """WarpRec's ``MLP``: dropout, linear and ReLU per layer, ``sizes[0]`` inputs."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Dropout(dropout), nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers)


class FieldsRecommender(PointwiseRecommender):
    """Base of the models scoring (user, item, item features, context) fields, trained
    pointwise with binary cross-entropy on each training interaction (label 1) and
    ``neg_samples`` unseen items per interaction (label 0, in the interaction's
    context), plus ``reg_weight`` times WarpRec's L2 penalty (its ``EmbLoss``) on the
    batch's embeddings and biases.

    Subclasses implement ``forward(user, item, context=None)``; those whose layers are
    sized by the number of fields build them in :meth:`build_field_layers` (called by
    the constructor and again when a checkpoint's fields differ) and set
    :attr:`needs_every_field`."""

    reads_item_features: ClassVar[bool] = True
    uses_context: ClassVar[bool] = True
    pool_multi_valued: ClassVar[bool] = True
    """Pool the values of a multi-valued side column into one field by their mean (the
    field models); ``False`` keeps each value its own variable (FM, NFM)."""
    needs_every_field: ClassVar[bool] = False
    """The layers take a fixed number of fields, so a model fitted with context columns
    cannot score without a context."""

    embedding_size: int
    reg_weight: float
    neg_samples: int

    def __init__(self, params: dict | None, info: dict, interactions: Any = None,
                 *args: Any, seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        weights, fields = _item_features(interactions, self.name, self.n_items,
                                          self.pool_multi_valued)
        self.register_buffer("item_feature_matrix", weights)
        self.register_buffer("item_feature_field", fields)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(self.n_items + 1, self.embedding_size,
                                           padding_idx=self.n_items)
        self.global_bias = nn.Parameter(torch.zeros(1))
        self.user_bias = nn.Embedding(self.n_users, 1)
        self.item_bias = nn.Embedding(self.n_items + 1, 1, padding_idx=self.n_items)
        self.context_dims: dict[str, int] = dict(info.get("context_dims") or {})
        if self.context_dims:
            sizes = list(self.context_dims.values())
            self.register_buffer("context_offsets",
                                 torch.tensor([0, *sizes[:-1]]).cumsum(0), persistent=False)
            self.register_buffer("context_sizes", torch.tensor(sizes), persistent=False)
            self.context_embedding = nn.Embedding(sum(sizes), self.embedding_size)
            self.context_bias = nn.Embedding(sum(sizes), 1)
        self._build_feature_tables(weights.shape[1])

    # ----- fields and sizes -------------------------------------------------------

    @property
    def n_item_fields(self) -> int:
        """Fields of the item's side information (one per side-file column)."""
        fields = self.get_buffer("item_feature_field")
        return int(fields.max()) + 1 if fields.numel() else 0

    @property
    def n_fields(self) -> int:
        """User, item, the item's side columns and the context columns."""
        return 2 + self.n_item_fields + len(self.context_dims)

    def build_field_layers(self) -> None:
        """Build the layers sized by :attr:`n_fields` (none by default)."""

    def _build_feature_tables(self, n_features: int) -> None:
        self.feature_embedding = nn.Parameter(torch.empty(n_features, self.embedding_size))
        self.feature_bias = nn.Parameter(torch.empty(n_features, 1))
        nn.init.xavier_normal_(self.feature_embedding)
        nn.init.xavier_normal_(self.feature_bias)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> Any:
        """Resize the feature buffers and tables (and the layers sized by the fields)
        to the saved ones, then load."""
        saved = state_dict.get("item_feature_matrix")
        saved_fields = state_dict.get("item_feature_field")
        if saved is not None and saved_fields is not None and (
                saved.shape != self.get_buffer("item_feature_matrix").shape
                or not torch.equal(saved_fields.cpu(), self.item_feature_field.cpu())):
            self.item_feature_matrix = torch.zeros_like(saved)
            self.item_feature_field = saved_fields.clone()
            self._build_feature_tables(saved.shape[1])
            self.build_field_layers()
            self.to(self.device)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def item_fields(self, items: Tensor) -> Tensor:
        """The side-column fields of each item, ``[N, n_item_fields, embedding_size]``:
        the item's weights times a block matrix holding each feature's vector in its
        field's block."""
        if not self.n_item_fields:
            return self.feature_embedding.new_zeros(len(items), 0, self.embedding_size)
        groups = nn.functional.one_hot(self.item_feature_field, self.n_item_fields)
        weights = groups.to(self.feature_embedding.dtype)
        blocks = weights[:, :, None] * self.feature_embedding[:, None]
        fields = self.item_feature_matrix[items] @ blocks.flatten(1)
        return fields.view(len(items), self.n_item_fields, self.embedding_size)

    def context_fields(self, context: Tensor) -> Tensor:
        """One vector per context column, ``[N, n_contexts, embedding_size]``."""
        return self.context_embedding(context + self.context_offsets)

    def fields(self, user: Tensor, item: Tensor, context: Tensor | None = None) -> Tensor:
        """The field vectors of the rows, ``[N, n_fields, embedding_size]``: user, item,
        the item's side columns, then the context columns (none without a context).
        ``context`` is a :meth:`checked_context`."""
        parts = [self.user_embedding(user)[:, None], self.item_embedding(item)[:, None],
                 self.item_fields(item)]
        if context is not None:
            parts.append(self.context_fields(context))
        return torch.cat(parts, dim=1)

    def first_order(self, user: Tensor, item: Tensor, context: Tensor | None = None
                    ) -> Tensor:
        """WarpRec's linear part: global, user, item, feature and context biases."""
        return self.row_linear(user, context) + self.item_linear(item)

    def row_linear(self, user: Tensor, context: Tensor | None = None) -> Tensor:
        """The linear part of the fields fixed for a row: global, user and context biases."""
        linear = self.global_bias + self.user_bias(user).squeeze(-1)
        if context is not None:
            linear = linear + self.context_bias(context + self.context_offsets).sum(dim=(1, 2))
        return linear

    def item_linear(self, items: Tensor) -> Tensor:
        """The item's bias plus its feature biases, weighted as its fields are."""
        features = (self.item_feature_matrix[items] @ self.feature_bias).squeeze(-1)
        return self.item_bias(items).squeeze(-1) + features

    def row_sums(self, user: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The sum of the vectors fixed for a row (user and context) and the sum of their
        squares (a factorization machine's row side)."""
        vector = self.user_embedding(user)
        if context is None:
            return vector, vector.pow(2)
        contexts = self.context_fields(context)
        return vector + contexts.sum(1), vector.pow(2) + contexts.pow(2).sum(1)

    def item_sums(self, items: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per item: the sum of its vectors (item and weighted feature values), the sum of
        their squares and its linear part (a factorization machine's item side)."""
        values = self.item_feature_matrix[items]
        embedding = self.item_embedding(items)
        total = embedding + values @ self.feature_embedding
        squares = embedding.pow(2) + values.pow(2) @ self.feature_embedding.pow(2)
        return total, squares, self.item_linear(items)

    def checked_context(self, context: Tensor | None, rows: int) -> Tensor | None:
        """``context`` on the model's device, checked against ``info["context_dims"]``:
        ``[rows, n_contexts]`` category indices within each column's range."""
        if context is None:
            if self.context_dims and self.needs_every_field:
                raise DataError(f"{self.name} was fitted with the context columns "
                                f"{list(self.context_dims)}; expected a context to score with")
            return None
        if not self.context_dims:
            raise DataError(f"{self.name} was given a context but its data has no context "
                            "columns (info has no context_dims); expected context=None")
        context = context.to(self.device).long()
        if context.shape != (rows, len(self.context_dims)):
            raise DataError(f"{self.name}: the context has shape {tuple(context.shape)}; "
                            f"expected ({rows}, {len(self.context_dims)}): one category "
                            f"per column of {list(self.context_dims)} for each row")
        if bool(((context < 0) | (context >= self.context_sizes)).any()):
            raise DataError(f"{self.name}: a context category is out of range; expected "
                            f"0..n-1 per column with n = {self.context_dims}")
        return context

    # ----- scoring ----------------------------------------------------------------

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                context: Tensor | None = None, **kwargs: Any) -> Tensor:
        """Logits ``[B, n_items]``, or ``[B, S]`` for ``item_indices [B, S]``; row ``b``
        is scored under ``context[b]`` (``[B, n_contexts]``, or ``None``)."""
        users = user_indices.to(self.device)
        context = self.checked_context(context, len(users))
        if item_indices is None:
            return self.score_all(users, context)
        items = item_indices.to(self.device)
        per_row = items.shape[1]
        rows = None if context is None else context.repeat_interleave(per_row, dim=0)
        flat_users, flat_items = users.repeat_interleave(per_row), items.reshape(-1)
        # Blocks of rows, as score_all: a sampled batch is up to thousands x 100 rows.
        block = max(1, BLOCK_ELEMENTS // max(1, self.row_elements()))
        flat = torch.cat([
            self.forward(flat_users[start:start + block], flat_items[start:start + block],
                         None if rows is None else rows[start:start + block])
            for start in range(0, len(flat_users), block)])
        return flat.view(items.shape)

    def interaction(self, fields: Tensor) -> Tensor:
        """The network's logit ``[N]`` of the field vectors ``[N, n_fields, E]`` (what a
        field model adds to the first-order term)."""
        raise NotImplementedError(f"{self.name} implements forward or interaction")

    def forward(self, user: Tensor, item: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits ``[N]`` of the rows ``(user[n], item[n], context[n])``: the first-order
        term plus :meth:`interaction` of the fields."""
        context = self.checked_context(context, len(user))
        return (self.first_order(user, item, context)
                + self.interaction(self.fields(user, item, context)))

    def row_elements(self) -> int:
        """The largest intermediate of one row's :meth:`interaction`, in elements (its
        field vectors by default), which sizes the blocks of :meth:`score_all`."""
        return self.n_fields * self.embedding_size

    def score_all(self, users: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits of every item for each user: the item side (item and side-column
        fields, linear part) computed once, then :meth:`interaction` on blocks of items
        so that a block's largest intermediate stays within ``BLOCK_ELEMENTS``."""
        items = torch.arange(self.n_items, device=self.device)
        item_side = torch.cat([self.item_embedding(items)[:, None], self.item_fields(items)], 1)
        row_side = [self.user_embedding(users)[:, None]]
        row_tail = [] if context is None else [self.context_fields(context)]
        scores = self.row_linear(users, context)[:, None] + self.item_linear(items)
        block = max(1, BLOCK_ELEMENTS // max(1, len(users) * self.row_elements()))
        for start in range(0, self.n_items, block):
            stop = min(start + block, self.n_items)
            shape = (len(users), stop - start)
            parts = [part[:, None].expand(*shape, -1, -1) for part in row_side]
            parts.append(item_side[None, start:stop].expand(*shape, -1, -1))
            parts += [part[:, None].expand(*shape, -1, -1) for part in row_tail]
            fields = torch.cat(parts, dim=2).flatten(0, 1)
            scores[:, start:stop] += self.interaction(fields).view(shape)
        return scores

    # ----- training ---------------------------------------------------------------

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Shuffled ``(user, item, label)`` batches with ``neg_samples`` negatives each,
        ``(user, item, context, label)`` when the model reads context."""
        kwargs.setdefault("seed", self.seed)
        if self.context_dims:
            kwargs.setdefault("include_context", True)
        return interactions.get_pointwise_dataloader(
            batch_size=self.batch_size, neg_samples=self.neg_samples, **kwargs
        )

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Binary cross-entropy of the labelled rows plus the L2 penalty."""
        parts = [part.to(self.device) for part in batch]
        user, item, label = parts[0], parts[1], parts[-1]
        context = parts[2] if len(parts) == 4 else None
        logits = self.forward(user, item, context)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, label)
        if self.reg_weight > 0:
            loss = loss + self.reg_weight * self.regularization(user, item, context)
        return loss

    def regularization(self, user: Tensor, item: Tensor, context: Tensor | None = None
                       ) -> Tensor:
        """WarpRec's ``EmbLoss`` (half the squared L2 norm per batch row) over what the
        batch read: the user and item embeddings and biases, the embedding and bias of
        each feature its items carry and of each context value of its rows."""
        tables = [self.user_embedding(user), self.item_embedding(item), self.user_bias(user),
                  self.item_bias(item)]
        if context is not None:
            rows = context + self.context_offsets
            tables += [self.context_embedding(rows), self.context_bias(rows)]
        squares = torch.stack([table.pow(2).sum() for table in tables]).sum()
        present = (self.item_feature_matrix[item] != 0).to(self.feature_embedding.dtype)
        norms = self.feature_embedding.pow(2).sum(1) + self.feature_bias.pow(2).sum(1)
        return 0.5 * (squares + (present @ norms).sum()) / len(user)

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """Adam with WarpRec's decay groups: ``weight_decay`` on the dense weights (linear
        and convolution weights, cross and projection parameters); none on the
        embeddings and feature tables (they have the L2 penalty), biases and norms."""
        decay, rest = [], []
        tables = {id(self.feature_embedding), id(self.feature_bias)}
        for module_name, module in self.named_modules():
            for name, parameter in module.named_parameters(recurse=False):
                full = f"{module_name}.{name}" if module_name else name
                sparse = isinstance(module, nn.Embedding) or id(parameter) in tables
                if sparse or "bias" in full or "norm" in full:
                    rest.append(parameter)
                else:
                    decay.append(parameter)
        return torch.optim.Adam([{"params": decay, "weight_decay": self.weight_decay},
                                 {"params": rest, "weight_decay": 0.0}],
                                lr=self.learning_rate)


def _item_features(interactions: Any, model: str, n_items: int, pool: bool
                   ) -> tuple[Tensor, Tensor]:
    """The dense ``[n_items + 1, n_features]`` item-feature weights (last row: padding)
    and the field of each feature column, or empty ones without interactions (rebuilt
    from a checkpoint) or without item features (no ``reader.side``: as in WarpRec, the
    model then reads the user, the item and the context)."""
    features = None if interactions is None else getattr(interactions, "item_features", None)
    if features is None:
        return torch.zeros(n_items + 1, 0), torch.zeros(0, dtype=torch.long)
    dense = np.asarray(sp.csr_matrix(features, dtype=np.float32).toarray())
    if dense.shape[0] != n_items:
        raise DataError(f"{model}: the item features have {dense.shape[0]} rows for "
                        f"{n_items} items; expected one row per item")
    fields = _feature_fields(getattr(interactions, "item_feature_names", ()), dense.shape[1])
    if pool:
        dense = _mean_per_field(dense, fields)
    padded = np.vstack([dense, np.zeros((1, dense.shape[1]), np.float32)])
    return torch.from_numpy(padded), torch.from_numpy(fields)


def _feature_fields(names: Sequence[str], n_features: int) -> np.ndarray:
    """The field of each feature column: its side-file column (the part of its name
    before ``=``), numbered in order of appearance; one field per feature column when
    the names are not given."""
    if len(names) != n_features:
        return np.arange(n_features, dtype=np.int64)
    columns = [name.split("=", 1)[0] for name in names]
    order = {column: index for index, column in enumerate(dict.fromkeys(columns))}
    return np.array([order[column] for column in columns], dtype=np.int64)


def _mean_per_field(dense: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """Each value divided by the number of values its item has in the same field."""
    if dense.shape[1] == 0:
        return dense
    groups = np.eye(int(fields.max()) + 1, dtype=np.float32)[fields]  # [F, G]
    counts = (dense != 0).astype(np.float32) @ groups  # [N, G]
    return (dense / np.maximum(counts, 1.0)[:, fields]).astype(np.float32)
