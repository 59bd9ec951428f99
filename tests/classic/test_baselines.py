"""Pop and Random baselines."""

from __future__ import annotations

import numpy as np
import torch
from classic_helpers import info_of, interactions_of, random_ratings
from warprec_models_classic.baselines import Pop, Random


def test_pop_scores_are_training_user_counts():
    X = random_ratings(80, 30, 0.2, seed=4)
    model = Pop({}, info_of(X), interactions_of(X, explicit=True))
    expected = (X.toarray() != 0).sum(axis=0).astype(np.float32)
    users = torch.tensor([3, 0, 79])
    scores = model.predict(users)
    assert scores.shape == (3, 30)
    np.testing.assert_array_equal(scores.numpy(), np.tile(expected, (3, 1)))
    items = torch.tensor([[0, 5], [29, 1], [2, 2]])
    np.testing.assert_array_equal(model.predict(users, item_indices=items).numpy(), expected[items])
    top, best = model.recommend(users, 3)
    np.testing.assert_array_equal(best[0].numpy(), np.sort(expected)[::-1][:3])  # ties: any order
    np.testing.assert_array_equal(expected[top[0].numpy()], best[0].numpy())


def test_random_is_uniform_deterministic_and_seeded():
    info = {"n_users": 50, "n_items": 400}
    model = Random({}, info, seed=1)
    users = torch.arange(50)
    scores = model.predict(users)
    assert scores.shape == (50, 400) and scores.dtype == torch.float32
    assert scores.min() >= 0.0 and scores.max() < 1.0
    assert abs(scores.mean().item() - 0.5) < 0.01
    np.testing.assert_array_equal(scores, Random({}, info, seed=1).predict(users))
    assert not torch.equal(scores, Random({}, info, seed=2).predict(users))
    items = torch.randint(0, 400, (50, 7))
    np.testing.assert_array_equal(model.predict(users, item_indices=items), scores.gather(1, items))
    # different users get different rankings
    assert not torch.equal(scores[0].argsort(), scores[1].argsort())
