"""The custom-recommender guide's MyEASE and MyBPR, verbatim (only the imports the
snippets omit added), registered, trained and evaluated like built-in models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from warprec.data.dataset import Dataset, Interactions, Sessions
from warprec.data.splitting import RandomHoldout
from warprec.data.synthetic import synthetic
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import ItemSimRecommender, IterativeRecommender
from warprec.recommenders.losses import BPRLoss
from warprec.recommenders.trainer import Trainer, TrainingError
from warprec.utils.registry import model_registry

# ruff: noqa: UP045 - the guide's code is kept verbatim


@model_registry.register(name="MyEASE")
class MyEASE(ItemSimRecommender):
    l2: float

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)

        X = self.train_matrix
        G = X.T @ X + self.l2 * np.identity(X.shape[1])
        B = np.linalg.inv(G)
        B /= -np.diag(B)
        np.fill_diagonal(B, 0.0)

        self.item_similarity = B


@model_registry.register(name="MyBPR")
class MyBPR(IterativeRecommender):
    embedding_size: int
    batch_size: int
    epochs: int
    learning_rate: float

    def __init__(
        self,
        params: dict,
        info: dict,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ):
        super().__init__(params, info, *args, seed=seed, **kwargs)

        # Embeddings
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(
            self.n_items + 1, self.embedding_size, padding_idx=self.n_items
        )

        # Init embedding weights
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()

    def get_dataloader(
        self,
        interactions: Interactions,
        sessions: Sessions,
        **kwargs: Any,
    ):
        return interactions.get_contrastive_dataloader(
            batch_size=self.batch_size,
            **kwargs,
        )

    def train_step(self, batch: Any, *args, **kwargs):
        user, pos_item, neg_item = batch

        # Compute BPR loss
        pos_item_score = self.forward(user, pos_item)
        neg_item_score = self.forward(user, neg_item)
        loss = self.bpr_loss(pos_item_score, neg_item_score)

        return loss

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        user_e = self.user_embedding(user)
        item_e = self.item_embedding(item)

        return torch.mul(user_e, item_e).sum(dim=1)

    def predict(self, user_indices: Tensor, *args, item_indices: Optional[Tensor], **kwargs):
        user_embeddings = self.user_embedding(user_indices)
        if item_indices is None:
            # Case 'full': prediction on all items
            item_embeddings = self.item_embedding.weight[:-1, :]
            einsum_string = "be,ie->bi"
        else:
            # Case 'sampled': prediction on a sampled set of items
            item_embeddings = self.item_embedding(item_indices)
            einsum_string = "be,bse->bs"
        predictions = torch.einsum(einsum_string, user_embeddings, item_embeddings)
        return predictions


class FloatLossBPR(MyBPR):
    """A mistake the guide warns about: train_step returns a Python float."""

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return super().train_step(batch).item()


@pytest.fixture(scope="module", autouse=True)
def unregister_guide_models() -> Iterator[None]:
    yield
    model_registry.remove_source(__name__)


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    # Small tensors: on a busy machine, torch's thread hand-offs dominate.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    frame = synthetic(n_users=400, n_items=200, n_interactions=10_000, seed=3)
    return Dataset.from_dataframe(frame, RandomHoldout(test_ratio=0.2, validation_ratio=0.1))


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(["nDCG", "Recall", "HitRate"], [10], seed=0)


def random_baseline(dataset: Dataset, evaluator: Evaluator) -> float:
    scores = torch.rand(
        dataset.n_users, dataset.n_items, generator=torch.Generator().manual_seed(0)
    )
    model = MyEASE({"l2": 1.0}, dataset.info(), dataset.train)
    model.item_similarity = torch.zeros(dataset.n_items, dataset.n_items)
    model.predict = lambda users, *a, item_indices=None, **k: scores[users]  # type: ignore
    return evaluator.evaluate(model, dataset, "test").summary()["nDCG@10"]


def test_guide_models_are_registered() -> None:
    assert model_registry.get_class("myease") is MyEASE
    assert model_registry.get_class("MyBPR") is MyBPR


def test_my_ease_gives_sensible_metrics(dataset: Dataset, evaluator: Evaluator) -> None:
    model = model_registry.get("MyEASE", {"l2": 50}, dataset.info(), dataset.train_validation)
    result = evaluator.evaluate(model, dataset, "test")
    random = random_baseline(dataset, evaluator)
    assert result.n_users_evaluated > 300
    assert result.summary()["nDCG@10"] > 3 * random
    items, _ = model.recommend(torch.arange(5), 10, exclude=dataset.train.get_sparse())
    seen = dataset.train.get_sparse()[:5]
    assert not any(set(items[u].tolist()) & set(seen[u].indices) for u in range(5))


def test_my_bpr_trains_and_gives_sensible_metrics(dataset: Dataset, evaluator: Evaluator) -> None:
    params = {"embedding_size": 32, "batch_size": 256, "epochs": 15, "learning_rate": 0.01}
    model = model_registry.get("MyBPR", params, dataset.info())
    history = Trainer(model, dataset, evaluator, patience=3).fit()
    assert history.losses[-1] < history.losses[0]
    assert history.best_value == max(v["nDCG@10"] for v in history.validation)
    result = evaluator.evaluate(model, dataset, "test")
    assert result.summary()["nDCG@10"] > 3 * random_baseline(dataset, evaluator)
    sampled = Evaluator(["nDCG", "AUC"], [10], strategy="sampled").evaluate(model, dataset, "test")
    assert sampled.summary()["AUC"] > 0.7


def test_train_step_returning_a_float_fails_clearly(dataset: Dataset) -> None:
    params = {"embedding_size": 8, "batch_size": 256, "epochs": 1, "learning_rate": 0.01}
    model = FloatLossBPR(params, dataset.info())
    with pytest.raises(TrainingError, match=r"^FloatLossBPR.train_step must return a scalar loss "
                       r"tensor, got float \d"):  # fmt: skip
        Trainer(model, dataset).fit()
