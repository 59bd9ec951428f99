"""A tiny context-aware model for the context tests: a user vector plus one vector per
context category, dotted with the item vector, trained pointwise on the rows with their
contexts. It records the contexts ``predict`` receives."""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Gt
from torch import Tensor, nn
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.utils.registry import model_registry


@model_registry.register(name="TinyContext")
class TinyContext(IterativeRecommender):
    uses_context = True

    embedding_size: Annotated[int, Gt(0)] = 8
    batch_size: int = 256
    epochs: int = 2
    learning_rate: float = 0.01
    neg_samples: Annotated[int, Ge(0)] = 1

    def __init__(self, params: dict | None, info: dict, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.context_dims = dict(info.get("context_dims", {}))
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(self.n_items + 1, self.embedding_size)
        offsets = torch.tensor([0, *self.context_dims.values()]).cumsum(0)[:-1]
        self.register_buffer("offsets", offsets)
        self.context_embedding = nn.Embedding(max(sum(self.context_dims.values()), 1),
                                              self.embedding_size)
        self.seen_contexts: list[Tensor] = []

    def get_dataloader(self, interactions: Any, sessions: Any, **kwargs: Any) -> Any:
        return interactions.get_pointwise_dataloader(
            batch_size=self.batch_size, neg_samples=self.neg_samples, seed=self.seed,
            include_context=True)

    def query(self, user: Tensor, context: Tensor | None) -> Tensor:
        vector = self.user_embedding(user)
        if context is not None and self.context_dims:
            vector = vector + self.context_embedding(context + self.offsets).sum(dim=1)
        return vector

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        user, item, context, label = batch
        logits = (self.query(user, context) * self.item_embedding(item)).sum(-1)
        return nn.functional.binary_cross_entropy_with_logits(logits, label)

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                context: Tensor | None = None, **kwargs: Any) -> Tensor:
        if context is not None:
            self.seen_contexts.append(context.cpu())
        query = self.query(user_indices, context)
        if item_indices is None:
            return query @ self.item_embedding.weight[:-1].T
        return torch.einsum("be,bse->bs", query, self.item_embedding(item_indices))


class SampledIgnoresContext(TinyContext):
    """Breaks the contract: sampled scores ignore the context full scores use."""

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                context: Tensor | None = None, **kwargs: Any) -> Tensor:
        if item_indices is not None:
            context = None
        return super().predict(user_indices, item_indices=item_indices, context=context)
