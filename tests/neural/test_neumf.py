"""NeuMF: the split first layer of full scoring, the towers, the loader, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError
from warprec_models_neural import neumf
from warprec_models_neural.neumf import NeuMF

SMALL = {"epochs": 15, "batch_size": 256, "mf_embedding_size": 16, "mlp_embedding_size": 16,
         "mlp_hidden_size": [32, 16], "learning_rate": 0.01, "mlp_train": True,
         "reg_weight": 0.0}


@pytest.mark.parametrize("towers", [{}, {"mf_train": False}, {"mlp_train": False}])
def test_full_scores_equal_the_pairwise_forward(toy, monkeypatch, towers):
    # A tiny block forces several item blocks through the split first layer.
    monkeypatch.setattr(neumf, "_BLOCK_ELEMENTS", 100)
    model = NeuMF({**SMALL, **towers}, toy.info(), seed=3).eval()
    users = torch.arange(5)
    pairs_u = users.repeat_interleave(toy.n_items)
    pairs_i = torch.arange(toy.n_items).repeat(len(users))
    expected = model.forward(pairs_u, pairs_i).view(len(users), toy.n_items)
    with torch.no_grad():
        assert torch.allclose(model.predict(users), expected, atol=1e-5)


def test_towers_set_the_prediction_layer_width(toy):
    both = NeuMF({"mf_embedding_size": 8, "mlp_hidden_size": [12, 6], "mlp_train": True},
                 toy.info())
    mf_only = NeuMF({"mf_embedding_size": 8, "mlp_train": False}, toy.info())
    assert both.predict_layer.in_features == 8 + 6
    assert mf_only.predict_layer.in_features == 8


def test_loader_adds_neg_samples_unseen_items_per_interaction(toy):
    model = NeuMF({"neg_samples": 3, "batch_size": 10_000}, toy.info())
    users, items, labels = next(iter(model.get_dataloader(toy.train)))
    assert len(labels) == 4 * len(toy.train)
    assert float(labels.sum()) == len(toy.train)
    seen = toy.train.get_sparse()
    negative = labels == 0
    # Copies: scipy's fancy indexing needs writable index arrays.
    assert not seen[users[negative].numpy().copy(), items[negative].numpy().copy()].any()


def test_train_step_is_bce_of_the_labels_plus_the_penalty(toy):
    model = NeuMF({**SMALL, "reg_weight": 0.5}, toy.info()).eval()
    user, item, label = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor(
        [1.0, 0.0, 1.0])
    logits = model.forward(user, item)
    bce = -(label * torch.log(torch.sigmoid(logits))
            + (1 - label) * torch.log(1 - torch.sigmoid(logits))).mean()
    embeddings = [model.user_mf_embedding(user), model.item_mf_embedding(item),
                  model.user_mlp_embedding(user), model.item_mlp_embedding(item)]
    penalty = sum(float(e.detach().pow(2).sum()) for e in embeddings) / 3
    loss = model.train_step((user, item, label))
    assert float(loss.detach()) == pytest.approx(float(bce.detach()) + 0.5 * penalty, rel=1e-5)


def test_penalty_covers_the_towers_in_use(toy):
    model = NeuMF({**SMALL, "mlp_train": False, "reg_weight": 0.5}, toy.info()).eval()
    user, item, label = torch.tensor([0, 1]), torch.tensor([3, 4]), torch.tensor([1.0, 0.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(model.forward(user, item), label)
    penalty = (model.user_mf_embedding(user).pow(2).sum()
               + model.item_mf_embedding(item).pow(2).sum()) / 2
    loss = model.train_step((user, item, label))
    assert float(loss.detach()) == pytest.approx(float((bce + 0.5 * penalty).detach()),
                                                 rel=1e-5)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"mf_train": False, "mlp_train": False}, "mf_train"), ({"mlp_hidden_size": [0]},
     "mlp_hidden_size"), ({"mlp_hidden_size": []}, "mlp_hidden_size"),
     ({"neg_samples": -1}, "neg_samples"), ({"dropout": 1.0}, "dropout")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        NeuMF(params, toy.info())


def test_beats_chance(toy):
    # A pointwise model on 5 training items per user: a lower bar than the pairwise ones'.
    assert ndcg(fit(NeuMF, SMALL, toy), toy) > 1.5 * chance(toy)
