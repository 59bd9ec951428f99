"""CDAE: the user node, the two losses, the activations, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError
from warprec_models_neural.cdae import CDAE

SMALL = {"epochs": 40, "batch_size": 16, "embedding_size": 16, "learning_rate": 0.01}


def test_the_user_embedding_personalises_equal_rows(toy):
    model = fit(CDAE, SMALL, toy)
    model.train_matrix = model.train_matrix.tolil()
    model.train_matrix[1] = model.train_matrix[0]
    model.train_matrix = model.train_matrix.tocsr()
    scores = model.predict(torch.tensor([0, 1]))
    assert not torch.allclose(scores[0], scores[1])


@pytest.mark.parametrize("loss_type", ["BCE", "MSE"])
def test_train_step_is_the_reconstruction_loss_plus_the_penalty(toy, loss_type):
    model = CDAE({**SMALL, "loss_type": loss_type, "reg_weight": 0.5}, toy.info()).eval()
    users = torch.tensor([0, 3])
    rows = (torch.rand(2, toy.n_items, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    out = torch.sigmoid(model.forward(rows, users))
    if loss_type == "BCE":
        loss = -(rows * out.log() + (1 - rows) * (1 - out).log()).mean()
    else:
        loss = ((out - rows) ** 2).mean()
    penalty = model.user_embedding(users).pow(2).sum() / 2
    assert torch.allclose(model.train_step((users, rows)), loss + 0.5 * penalty, rtol=1e-5)


def test_relu_output_gives_non_negative_scores(toy):
    params = {**SMALL, "epochs": 3, "loss_type": "MSE", "out_activation": "relu",
              "hid_activation": "tanh"}
    scores = fit(CDAE, params, toy).predict(torch.arange(6))
    assert (scores >= 0).all()


@pytest.mark.parametrize(
    ("params", "name"),
    [({"loss_type": "CE"}, "loss_type"), ({"hid_activation": "gelu"}, "hid_activation"),
     ({"out_activation": "tanh"}, "out_activation"), ({"corruption": -0.1}, "corruption")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        CDAE(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(CDAE, SMALL, toy), toy) > 2 * chance(toy)
