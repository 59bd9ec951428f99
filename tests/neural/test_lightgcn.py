"""LightGCN: the normalised graph, propagation, the score cache, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural.lightgcn import LightGCN, normalized_adjacency

SMALL = {"epochs": 40, "batch_size": 64, "embedding_size": 16, "learning_rate": 0.01}


def test_normalized_adjacency_matches_the_dense_formula():
    users, items = torch.tensor([0, 0, 1, 2, 2]), torch.tensor([0, 1, 1, 0, 0])  # a duplicate
    adjacency = normalized_adjacency(users, items, 3, 2, torch.device("cpu")).to_dense()
    R = torch.zeros(3, 2)
    R[users, items] = 1.0
    A = torch.zeros(5, 5)
    A[:3, 3:], A[3:, :3] = R, R.T
    d = A.sum(1).clamp(min=1).rsqrt()
    assert torch.allclose(adjacency, d[:, None] * A * d[None, :])


def test_zero_layers_is_plain_matrix_factorisation(toy):
    model = LightGCN({"n_layers": 0}, toy.info())
    model.get_dataloader(toy.train)
    model.eval()
    users = torch.arange(5)
    expected = model.user_embedding(users) @ model.item_embedding.weight[:-1].T
    assert torch.allclose(model.predict(users), expected)


def test_cached_scores_follow_weight_changes(toy):
    model = fit(LightGCN, {**SMALL, "epochs": 2}, toy)
    users = torch.arange(4)
    before = model.predict(users)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["user_embedding.weight"] *= 2
    model.load_state_dict(state)
    assert not torch.allclose(model.predict(users), before)


def test_predict_without_a_graph_is_an_error(toy):
    with pytest.raises(WarpRecError, match="graph"):
        LightGCN({}, toy.info()).predict(torch.arange(2))


@pytest.mark.parametrize(
    ("params", "name"), [({"n_layers": -1}, "n_layers"), ({"embedding_size": 0}, "embedding_size")]
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        LightGCN(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(LightGCN, SMALL, toy), toy) > 2 * chance(toy)
