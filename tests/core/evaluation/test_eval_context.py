"""Context-aware evaluation, as WarpRec 2.2.8: a model that reads context is ranked once
per evaluated row under the row's context; per-user values average the user's rows; full
ranking masks what the user had in the same context only; other models are ranked per
user as on data without context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor
from warprec.data.dataset import Dataset
from warprec.evaluation.evaluator import Evaluator
from warprec.recommenders.base_recommender import Recommender

N_ITEMS = 8


class ContextTable(Recommender):
    """Scores every item by context only: ``table[context category, item]``; records the
    contexts it is given."""

    uses_context = True

    def __init__(self, params: dict, info: dict, *args: Any, table: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(params, info, *args, **kwargs)
        self.table = torch.as_tensor(table, dtype=torch.float32)
        self.received: list[Tensor] = []

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                context: Tensor | None = None, **kwargs: Any) -> Tensor:
        assert context is not None, "a context-aware model must be given the contexts"
        self.received.append(context)
        scores = self.table[context[:, 0]]
        return scores if item_indices is None else scores.gather(1, item_indices)


class PlainTable(ContextTable):
    """The same model without the flag: it must never be given a context."""

    uses_context = False

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        assert "context" not in kwargs
        scores = self.table[torch.ones_like(user_indices)]
        return scores if item_indices is None else scores.gather(1, item_indices)


def frame(records: list[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=["user_id", "item_id", "daytime"])


def dataset() -> Dataset:
    """Items 0..7 all in training; contexts am < night < pm (indices 1, 2, 3)."""
    train = frame([(u, i, ["am", "pm", "night"][(u + i) % 3])
                   for u in range(3) for i in range(N_ITEMS) if (u + i) % 2 == 0]
                  + [(0, 1, "am"), (1, 0, "pm"), (2, 1, "night")])
    # User 0: item 3 at am, item 5 at pm; user 1: item 3 at night; user 2: item 5 at pm.
    test = frame([(0, 3, "am"), (0, 5, "pm"), (1, 3, "night"), (2, 5, "pm")])
    return Dataset(train, test, context_labels=["daytime"])


def table(best: dict[int, int]) -> np.ndarray:
    """``[4, N_ITEMS]`` scores: item ``best[c]`` first under category ``c``, then by index."""
    scores = np.tile(-np.arange(N_ITEMS, dtype=np.float32) / 100, (4, 1))
    for category, item in best.items():
        scores[category, item] = 1.0
    return scores


def evaluate(model: Recommender, strategy: str, metrics: tuple[str, ...] = ("HitRate",),
             top_k: int = 1) -> dict[str, float]:
    evaluator = Evaluator(list(metrics), top_k=[top_k], strategy=strategy,
                          num_negatives=3, seed=7)
    return evaluator.evaluate(model, dataset(), "test").values


def info() -> dict[str, Any]:
    return dataset().info()


@pytest.mark.parametrize("strategy", ["full", "sampled"])
def test_each_row_is_ranked_under_its_own_context(strategy: str) -> None:
    # am -> item 3, night -> item 3, pm -> item 5: every row's item is first.
    model = ContextTable({}, info(), table=table({1: 3, 2: 3, 3: 5}))
    assert evaluate(model, strategy)["HitRate@1"] == 1.0
    received = torch.cat(model.received)
    # One context per evaluated row, in (user, item) order.
    assert received[:, 0].tolist() == [1, 3, 2, 3]


def test_per_user_values_average_the_users_rows() -> None:
    # am -> item 2: user 0 misses its am row and hits its pm row; users 1 and 2 hit.
    model = ContextTable({}, info(), table=table({1: 2, 2: 3, 3: 5}))
    result = Evaluator(["HitRate"], top_k=[1], strategy="full").evaluate(
        model, dataset(), "test")
    assert result.users.tolist() == [0, 1, 2]
    assert result.per_user["HitRate@1"].tolist() == [0.5, 1.0, 1.0]
    # The mean over users of each user's mean: 2.5 / 3 users, not 3 / 4 rows.
    assert result.values["HitRate@1"] == pytest.approx(2.5 / 3)


def test_full_ranking_masks_what_the_user_had_in_the_same_context_only() -> None:
    data = dataset()
    train = data.train.transactions
    # User 0 had item 1 at am (and item 0, 2, 4, 6 in various contexts).
    am_items = set(train.items[(train.users == 0) & (train.contexts[:, 0] == 1)].tolist())
    assert 1 in am_items
    # Under am the model puts item 1 first, then item 3: item 1 is masked, so 3 is a hit.
    model = ContextTable({}, info(), table=table({1: 3, 2: 3, 3: 5}))
    scores = table({1: 3, 2: 3, 3: 5})
    scores[1, 1] = 2.0
    model.table = torch.as_tensor(scores)
    assert evaluate(model, "full")["HitRate@1"] == 1.0
    # Item 0 first under pm: users 0 and 2 had it, but at am and at night, so it is not
    # masked and their pm rows miss (masking every known item would make both hits).
    scores[3, 0] = 2.0
    model.table = torch.as_tensor(scores)
    values = evaluate(model, "full")
    assert values["HitRate@1"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


@pytest.mark.parametrize("strategy", ["full", "sampled"])
def test_a_model_without_the_flag_is_ranked_per_user(strategy: str) -> None:
    scores = table({1: 3})
    plain = PlainTable({}, info(), table=scores)
    with_context = Evaluator(["nDCG", "Recall"], top_k=[2], strategy=strategy,
                             num_negatives=3, seed=7).evaluate(plain, dataset(), "test")
    data = dataset()
    without = Dataset(data_frame(data, "train"), data_frame(data, "test"))
    reference = Evaluator(["nDCG", "Recall"], top_k=[2], strategy=strategy,
                          num_negatives=3, seed=7).evaluate(
        PlainTable({}, without.info(), table=scores), without, "test")
    assert with_context.values == reference.values
    assert with_context.users.tolist() == reference.users.tolist()


def data_frame(data: Dataset, part: str) -> pd.DataFrame:
    rows = getattr(data, part)
    return pd.DataFrame({"user_id": data.user_ids[rows.users],
                         "item_id": data.item_ids[rows.items]})


@pytest.mark.parametrize("split", ["validation", "test"])
def test_both_splits_of_the_toy_context_data_are_ranked_per_row(split: str) -> None:
    from warprec.testing import toy_dataset

    data = toy_dataset(context=True)
    model = ContextTable({}, data.info(), table=np.zeros((4, data.n_items), np.float32))
    result = Evaluator(["HitRate"], top_k=[5]).evaluate(model, data, split)
    rows = getattr(data, split).transactions
    assert sum(len(part) for part in model.received) == len(rows)
    assert result.n_users_evaluated == len(np.unique(rows.users))
