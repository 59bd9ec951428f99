"""Models for testing the conformance kit: two that keep the contract (the guide's EASE
and BPR, with defaults) and one broken variant per rule the kit checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import torch
from annotated_types import Gt
from torch import Tensor, nn
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import (
    ItemSimRecommender,
    IterativeRecommender,
    Recommender,
)
from warprec.recommenders.losses import BPRLoss


class GoodEASE(ItemSimRecommender):
    l2: Annotated[float, Gt(0)] = 10.0

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        X = self.train_matrix
        G = (X.T @ X).toarray() + self.l2 * np.identity(X.shape[1])
        B = np.linalg.inv(G)
        B /= -np.diag(B)
        np.fill_diagonal(B, 0.0)
        self.item_similarity = B


class GoodBPR(IterativeRecommender):
    embedding_size: Annotated[int, Gt(0)] = 16
    batch_size: int = 64
    epochs: int = 3
    learning_rate: float = 0.01

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(self.n_items + 1, self.embedding_size,
                                           padding_idx=self.n_items)
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()

    def get_dataloader(self, interactions: Any, sessions: Any, **kwargs: Any) -> Any:
        return interactions.get_contrastive_dataloader(batch_size=self.batch_size, **kwargs)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        return (self.user_embedding(user) * self.item_embedding(item)).sum(dim=-1)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        user, pos_item, neg_item = batch
        return self.bpr_loss(self.forward(user, pos_item), self.forward(user, neg_item))

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        user_e = self.user_embedding(user_indices)
        if item_indices is None:
            return user_e @ self.item_embedding.weight[:-1].T
        return torch.einsum("be,bse->bs", user_e, self.item_embedding(item_indices))


class WrongFullShape(GoodEASE):
    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        scores = super().predict(user_indices, item_indices=item_indices)
        return scores if item_indices is not None else scores[:, :-1]


class SampledOffByOne(GoodEASE):
    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        if item_indices is None:
            return super().predict(user_indices)
        shifted = (item_indices + 1) % self.n_items
        return super().predict(user_indices, item_indices=shifted)


class FloatLoss(GoodBPR):
    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return super().train_step(batch).item()


class VectorLoss(GoodBPR):
    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        user, pos_item, neg_item = batch
        return nn.functional.softplus(self.forward(user, neg_item) - self.forward(user, pos_item))


class LearnsNothing(GoodBPR):
    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        user, pos_item, _ = batch
        return self.forward(user, pos_item).sum() * 0.0 + 1.0


class Unseeded(GoodEASE):
    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        noise = np.random.default_rng().normal(size=self.item_similarity.shape)
        self.item_similarity = self.item_similarity + noise


class StateNotSaved(Recommender):
    """Keeps what it learnt in a plain attribute: a checkpoint cannot restore it."""

    needs_training_data = True

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        counts = np.asarray(interactions.get_sparse().sum(axis=0)).ravel()
        self.popularity = torch.from_numpy(counts.astype(np.float32))

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        scores = self.popularity.expand(len(user_indices), -1)
        return scores if item_indices is None else scores.gather(1, item_indices)


class IgnoresExclude(GoodEASE):
    def recommend(self, user_indices: Any, k: int, exclude: Any = None) -> tuple[Tensor, Tensor]:
        return super().recommend(user_indices, k, exclude=None)


class SwallowsParams(GoodEASE):
    """Drops every hyperparameter it does not know instead of rejecting it."""

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        known = {k: v for k, v in params.items() if k == "l2"}
        super().__init__(known, info, interactions, *args, seed=seed, **kwargs)


class WrongErrorType(GoodEASE):
    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        for key in params:
            if key != "l2":
                raise KeyError(key)
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)


class WrongSize(GoodEASE):
    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        self.n_users += 1


class NoDomain(GoodEASE):
    """A numeric hyperparameter any value of which passes (``shift: -1.0`` too)."""

    shift: float = 0.0


class RuleInConstructor(GoodEASE):
    """Checks a rule between two hyperparameters in its constructor, after the plan."""

    floor: Annotated[float, Gt(0)] = 5.0

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, seed: int = 42,
                 **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        if self.floor > self.l2:
            raise ConfigError(f"floor ({self.floor}) must not exceed l2 ({self.l2})")


class RuleDeclared(RuleInConstructor):
    """The same rule, declared where the plan runs it."""

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        super().check_relations(params, optimizer)
        if params["floor"] > params["l2"]:
            raise ConfigError(f"floor ({params['floor']}) must not exceed l2 ({params['l2']})")
