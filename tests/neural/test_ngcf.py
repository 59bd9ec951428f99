"""NGCF: one propagation layer against the dense formula, the concatenated output,
edge dropout, the score cache, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural._graph import edge_dropout
from warprec_models_neural.lightgcn import normalized_adjacency
from warprec_models_neural.ngcf import NGCF

SMALL = {"epochs": 30, "batch_size": 64, "embedding_size": 16, "weight_size": [16, 16],
         "learning_rate": 0.01}


def test_one_layer_matches_the_dense_formula(toy):
    model = NGCF({"embedding_size": 8, "weight_size": [6]}, toy.info())
    model.get_dataloader(toy.train)
    model.eval()
    A = model.adjacency().to_dense()
    E = torch.cat([model.user_embedding.weight, model.item_embedding.weight[:-1]])
    W1, W2 = model.sum_layers[0], model.bi_layers[0]
    side = A @ E
    layer = torch.nn.functional.leaky_relu(W1(E + side) + W2(E * side), 0.2)
    expected = torch.cat([E, torch.nn.functional.normalize(layer, dim=1)], dim=1)
    users, items = model.embeddings()
    assert users.shape == (toy.n_users, 8 + 6)
    assert torch.allclose(torch.cat([users, items]), expected, atol=1e-5)


def test_edge_dropout_zeroes_a_share_and_rescales_the_rest():
    users = torch.arange(200).repeat_interleave(5)
    items = torch.randint(0, 50, (1000,), generator=torch.Generator().manual_seed(0))
    adjacency = normalized_adjacency(users, items, 200, 50, torch.device("cpu"))
    assert edge_dropout(adjacency, 0.0) is adjacency
    dropped = edge_dropout(adjacency, 0.3, torch.Generator().manual_seed(1))
    before, after = adjacency.values(), dropped.values()
    assert torch.equal(dropped.col_indices(), adjacency.col_indices())
    kept = after != 0
    assert 0.6 < kept.float().mean() < 0.8
    assert torch.allclose(after[kept], before[kept] / 0.7)


def test_dropouts_apply_in_training_only(toy):
    model = NGCF({**SMALL, "node_dropout": 0.3, "message_dropout": 0.3}, toy.info())
    model.get_dataloader(toy.train)
    clean = model.propagate(dropout=False)[0]
    assert torch.equal(model.embeddings()[0], clean)
    assert not torch.allclose(model.propagate(dropout=True)[0], clean)


def test_cached_scores_follow_weight_changes(toy):
    model = fit(NGCF, {**SMALL, "epochs": 2}, toy)
    users = torch.arange(4)
    before = model.predict(users)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["sum_layers.0.weight"] *= -1
    model.load_state_dict(state)
    assert not torch.allclose(model.predict(users), before)


def test_predict_without_a_graph_is_an_error(toy):
    with pytest.raises(WarpRecError, match="graph"):
        NGCF({}, toy.info()).predict(torch.arange(2))


@pytest.mark.parametrize(
    ("params", "name"),
    [({"weight_size": []}, "weight_size"), ({"weight_size": [8, 0]}, "weight_size"),
     ({"node_dropout": 1.0}, "node_dropout"), ({"reg_weight": -1e-3}, "reg_weight")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        NGCF(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(NGCF, SMALL, toy), toy) > 2 * chance(toy)
