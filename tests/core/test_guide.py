"""The custom-recommender guide's MyEASE and MyBPR, verbatim (only the imports the
snippets omit added; kept in examples/custom_modules/my_models.py), loaded as a custom
module, registered, trained and evaluated like built-in models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from warprec.custom_modules import import_custom_modules
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.evaluation import Evaluator
from warprec.recommenders.trainer import Trainer, TrainingError
from warprec.utils.registry import model_registry

# The guide's code verbatim lives once, in the example script that configs load.
GUIDE_SCRIPT = Path(__file__).parents[2] / "examples" / "custom_modules" / "my_models.py"
(GUIDE_MODULE,) = import_custom_modules([GUIDE_SCRIPT.name], GUIDE_SCRIPT.parent)
MyEASE = model_registry.get_class(f"{GUIDE_MODULE}:MyEASE")
MyBPR = model_registry.get_class(f"{GUIDE_MODULE}:MyBPR")


class FloatLossBPR(MyBPR):
    """A mistake the guide warns about: train_step returns a Python float."""

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return super().train_step(batch).item()


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
    return Dataset.from_dataframe(frame, RandomHoldoutPerUser(test_ratio=0.2, validation_ratio=0.1))


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
    assert model_registry.entry("MyBPR").source.name == GUIDE_MODULE


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
