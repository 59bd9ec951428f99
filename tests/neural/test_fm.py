"""FM: the factorization machine over user, item and item features, its expanded full
scoring, WarpRec's loss, the features it reads and the errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from neural_helpers import chance, ndcg
from warprec.data.dataset import Dataset
from warprec.recommenders.trainer import Trainer
from warprec.testing.data import toy_frame, toy_splits
from warprec_models_neural.fm import FM

SMALL = {"epochs": 15, "batch_size": 128, "embedding_size": 8, "learning_rate": 0.02,
         "reg_weight": 0.0}


def build(dataset: Dataset, **params: object) -> FM:
    return FM({**SMALL, **params}, dataset.info(), dataset.train, seed=3)


def test_full_scores_equal_the_pairwise_forward(toy):
    model = build(toy).eval()
    users = torch.arange(5)
    pairs_u = users.repeat_interleave(toy.n_items)
    pairs_i = torch.arange(toy.n_items).repeat(len(users))
    expected = model.forward(pairs_u, pairs_i).view(len(users), toy.n_items)
    with torch.no_grad():
        assert torch.allclose(model.predict(users), expected, atol=1e-5)


def test_forward_is_every_pairwise_product_of_the_fields_plus_the_biases(toy):
    model = build(toy).eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.global_bias)
        for user, item in [(0, 0), (3, 5), (7, 10)]:
            values = model.item_feature_matrix[item]
            assert (values != 0).sum() >= 2  # a genre and a length at least
            fields = [model.user_embedding.weight[user], model.item_embedding.weight[item]]
            pairs = zip(values, model.feature_embedding, strict=True)
            fields += [v * e for v, e in pairs if v != 0]
            second = sum(a @ b for a, b in itertools.combinations(fields, 2))
            first = (model.global_bias + model.user_bias.weight[user]
                     + model.item_bias.weight[item] + values @ model.feature_bias)
            got = model.forward(torch.tensor([user]), torch.tensor([item]))
            assert float(got) == pytest.approx(float(first + second), rel=1e-5, abs=1e-6)


def test_train_step_is_bce_plus_warprecs_embedding_penalty(toy):
    model = build(toy, reg_weight=0.5).eval()
    user, item = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    label = torch.tensor([1.0, 0.0, 1.0])
    with torch.no_grad():
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            model.forward(user, item), label)
        squares = (model.user_embedding(user).pow(2).sum() + model.item_embedding(item).pow(2).sum()
                   + model.user_bias(user).pow(2).sum() + model.item_bias(item).pow(2).sum())
        for i in item:
            for j in torch.nonzero(model.item_feature_matrix[i]).flatten():
                squares += (model.feature_embedding[j].pow(2).sum()
                            + model.feature_bias[j].pow(2).sum())
        loss = model.train_step((user, item, label))
    assert float(loss) == pytest.approx(float(bce + 0.5 * 0.5 * squares / 3), rel=1e-5)


def test_an_items_features_move_only_its_own_scores(toy):
    model = build(toy).eval()
    users = torch.arange(toy.n_users)
    with torch.no_grad():
        before = model.predict(users)
        model.item_feature_matrix[4] = 0
        after = model.predict(users)
    changed = (before != after).any(dim=0)
    assert changed[4] and int(changed.sum()) == 1


def test_learns_the_clusters_well_above_chance(toy):
    model = build(toy)
    Trainer(model, toy, progress=False).fit()
    assert ndcg(model, toy) > 2 * chance(toy)


def test_without_item_features_fm_is_a_factorization_of_user_and_item():
    # As in WarpRec, the side file only adds fields: without it FM reads the user and
    # the item, and a row's logit is the biases plus their dot product.
    train, valid, test = toy_splits(toy_frame())
    model = build(Dataset(train, test, valid)).eval()
    assert model.feature_embedding.shape[0] == 0
    user, item = torch.tensor([0, 1]), torch.tensor([2, 3])
    expected = (model.global_bias + model.user_bias(user).squeeze(-1)
                + model.item_bias(item).squeeze(-1)
                + (model.user_embedding(user) * model.item_embedding(item)).sum(-1))
    torch.testing.assert_close(model(user, item), expected)


def test_a_checkpoint_restores_the_feature_tables(toy, tmp_path):
    model = build(toy).eval()
    model.save(tmp_path / "fm.pt")
    loaded = FM.load(tmp_path / "fm.pt").eval()
    assert loaded.feature_embedding.shape == model.feature_embedding.shape
    assert torch.equal(loaded.item_feature_matrix, model.item_feature_matrix)
    users = torch.arange(6)
    with torch.no_grad():
        assert torch.equal(loaded.predict(users), model.predict(users))
