"""NFM: the bi-interaction pooling of the fields, blocked full scoring, the optimizer's
decay groups and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, ndcg
from warprec.data.dataset import Dataset
from warprec.recommenders.trainer import Trainer
from warprec_models_neural import nfm
from warprec_models_neural.nfm import NFM

SMALL = {"epochs": 15, "batch_size": 128, "embedding_size": 8, "mlp_hidden_size": [16, 8],
         "learning_rate": 0.02, "reg_weight": 0.0}


def build(dataset: Dataset, **params: object) -> NFM:
    return NFM({**SMALL, **params}, dataset.info(), dataset.train, seed=3)


def test_full_scores_equal_the_pairwise_forward(toy, monkeypatch):
    # A tiny block forces several item blocks through the MLP.
    monkeypatch.setattr(nfm, "_BLOCK_ELEMENTS", 100)
    model = build(toy).eval()
    users = torch.arange(5)
    pairs_u = users.repeat_interleave(toy.n_items)
    pairs_i = torch.arange(toy.n_items).repeat(len(users))
    with torch.no_grad():
        expected = model.forward(pairs_u, pairs_i).view(len(users), toy.n_items)
        assert torch.allclose(model.predict(users), expected, atol=1e-5)


def test_forward_is_the_mlp_of_the_summed_pairwise_products_plus_the_biases(toy):
    model = build(toy).eval()
    user, item = 2, 7
    with torch.no_grad():
        values = model.item_feature_matrix[item]
        fields = [model.user_embedding.weight[user], model.item_embedding.weight[item]]
        fields += [v * e for v, e in zip(values, model.feature_embedding, strict=True) if v]
        pooled = sum(fields[a] * fields[b] for a in range(len(fields))
                     for b in range(a + 1, len(fields)))
        first = (model.global_bias + model.user_bias.weight[user]
                 + model.item_bias.weight[item] + values @ model.feature_bias)
        neural = model.predict_layer(model.mlp(model.batch_norm(pooled[None])))
        got = model.forward(torch.tensor([user]), torch.tensor([item]))
    assert float(got) == pytest.approx(float(first + neural), rel=1e-5, abs=1e-6)


def test_weight_decay_reaches_only_the_linear_weights(toy):
    model = build(toy, weight_decay=0.1)
    decayed, plain = model.configure_optimizer().param_groups
    linear = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == linear
    assert id(model.feature_embedding) in {id(p) for p in plain["params"]}


def test_learns_the_clusters_above_chance(toy):
    model = build(toy)
    Trainer(model, toy, progress=False).fit()
    # Chance is high on the toy (0.26); the trained model reaches about 0.50.
    assert ndcg(model, toy) > 1.5 * chance(toy)
