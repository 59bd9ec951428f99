"""ItemKNN-TD and UserKNN-TD: plain similarities, time-decayed scoring rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from warprec.data.dataset import Interactions
from warprec.errors import DataError
from warprec_models_classic.knn import ItemKNN, ItemKNNTD, UserKNN, UserKNNTD, decayed_matrix

DAY = 86_400


@pytest.fixture()
def interactions() -> Interactions:
    rng = np.random.default_rng(0)
    pairs = np.unique(rng.integers(0, [30, 20], (200, 2)), axis=0)
    stamps = rng.integers(0, 50, len(pairs)) * DAY
    return Interactions(pairs[:, 0], pairs[:, 1], 30, 20, timestamps=stamps)


def test_decayed_matrix_weighs_by_age_in_days(interactions):
    M = decayed_matrix(interactions, 0.1, "ItemKNNTD")
    age = (interactions.timestamps.max() - interactions.timestamps) / DAY
    got = np.asarray(M[interactions.users, interactions.items]).ravel()
    np.testing.assert_allclose(got, np.exp(-0.1 * age), rtol=1e-6)


def test_item_knn_td_scores_decayed_rows_with_the_plain_similarity(interactions):
    params = {"k": 5, "similarity": "cosine", "asymmetric_alpha": 0.5}
    plain = ItemKNN(params, {"n_users": 30, "n_items": 20}, interactions)
    td = ItemKNNTD({**params, "beta": 0.05}, {"n_users": 30, "n_items": 20}, interactions)
    assert (plain.item_similarity != td.item_similarity).nnz == 0
    decayed = decayed_matrix(interactions, 0.05, "ItemKNNTD").toarray()
    expected = decayed @ td.item_similarity.toarray()
    np.testing.assert_allclose(td.predict(torch.arange(30)).numpy(), expected, rtol=1e-5,
                               atol=1e-6)


def test_user_knn_td_decays_the_neighbours_interactions(interactions):
    plain = UserKNN({"k": 5}, {"n_users": 30, "n_items": 20}, interactions)
    td = UserKNNTD({"k": 5, "beta": 0.05}, {"n_users": 30, "n_items": 20}, interactions)
    assert (plain.user_similarity != td.user_similarity).nnz == 0
    decayed = decayed_matrix(interactions, 0.05, "UserKNNTD").toarray()
    expected = td.user_similarity.toarray() @ decayed
    np.testing.assert_allclose(td.predict(torch.arange(30)).numpy(), expected, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("cls", [ItemKNNTD, UserKNNTD])
def test_missing_timestamps_is_a_data_error(cls):
    data = Interactions(np.array([0, 1]), np.array([1, 0]), 2, 2)
    with pytest.raises(DataError, match=f"{cls.__name__}: .*timestamps"):
        cls({}, {"n_users": 2, "n_items": 2}, data)
