"""An item cold-start split: FM and NFM score the items never seen in training from
their features, and the sequential models' negatives never include them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_helpers import chance, ndcg
from warprec.data.dataset import Dataset
from warprec.data.splitting import ItemColdStart
from warprec.recommenders.trainer import Trainer
from warprec.testing.data import toy_frame, with_toy_item_features
from warprec_models_neural._sequential import history_sampler
from warprec_models_neural.fm import FM
from warprec_models_neural.nfm import NFM

SMALL = {"epochs": 15, "batch_size": 128, "embedding_size": 8, "learning_rate": 0.02,
         "reg_weight": 0.0}


@pytest.fixture(scope="module")
def cold() -> Dataset:
    """The toy clusters (item ``i``'s genre is ``g{i % 4}``, user ``u``'s cluster
    ``u % 4``) with a quarter of the items held out of training."""
    return with_toy_item_features(Dataset.from_dataframe(toy_frame(), ItemColdStart(0.25, seed=1)))


@pytest.mark.parametrize("model_class", [FM, NFM])
def test_cold_items_of_a_users_genre_outrank_the_other_cold_items(cold, model_class):
    model = model_class(dict(SMALL), cold.info(), cold.train, seed=3)
    Trainer(model, cold, progress=False).fit()
    held = np.unique(cold.test.items)
    assert not np.asarray(cold.train.get_sparse()[:, held].sum())
    with torch.no_grad():
        scores = model.eval().predict(torch.arange(cold.n_users)).numpy()[:, held]
    same = (cold.user_ids % 4)[:, None] == (cold.item_ids[held] % 4)[None, :]
    auc = np.mean([(s[m][:, None] > s[~m][None, :]).mean() for s, m in zip(scores, same,
                                                                             strict=True)])
    assert auc > 0.85
    # Ranked over the whole catalogue, the held-out test items are found well above chance.
    assert ndcg(model, cold) > 2 * chance(cold)


def test_sequential_models_never_draw_a_held_out_item_as_a_negative(cold):
    held = np.unique(cold.test.items)
    draws = history_sampler(cold.train_sessions).sample(np.arange(cold.n_users), 50,
                                                        np.random.default_rng(0))
    assert not np.isin(draws, held).any()
