"""MultiDAE: the multinomial loss, corruption only in training, the kept rows, errors
and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural.multidae import MultiDAE

# A toy-sized model with its own regularisation (the defaults are sized for real data).
SMALL = {"epochs": 40, "batch_size": 16, "intermediate_dim": 32, "latent_dim": 8,
         "learning_rate": 0.01, "weight_decay": 0.03}


def test_loss_is_the_multinomial_nll_of_the_rows(toy):
    model = MultiDAE(SMALL, toy.info()).eval()  # eval: no corruption
    rows = torch.zeros(2, toy.n_items)
    rows[0, [1, 5]] = 1.0
    rows[1, [2]] = 1.0
    logits = model.forward(rows)
    expected = -(torch.log_softmax(logits, 1) * rows).sum(1).mean()
    assert torch.allclose(model.train_step((torch.arange(2), rows)), expected)


def test_corruption_applies_in_training_only(toy):
    model = MultiDAE({**SMALL, "corruption": 0.5}, toy.info())
    rows = torch.ones(3, toy.n_items)
    model.eval()
    assert torch.equal(model.forward(rows), model.forward(rows))
    model.train()
    assert not torch.allclose(model.forward(rows), model.forward(rows))


def test_predict_reads_the_training_rows(toy):
    model = fit(MultiDAE, SMALL, toy)
    users = torch.arange(4)
    before = model.predict(users)
    model.train_matrix = model.train_matrix * 0
    assert not torch.allclose(model.predict(users), before)


def test_predict_before_training_is_an_error(toy):
    with pytest.raises(WarpRecError, match="train"):
        MultiDAE({}, toy.info()).predict(torch.arange(2))


@pytest.mark.parametrize(
    ("params", "name"),
    [({"corruption": 1.0}, "corruption"), ({"latent_dim": 0}, "latent_dim"),
     ({"intermediate_dim": 2.5}, "intermediate_dim"), ({"weight_decay": -1}, "weight_decay")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        MultiDAE(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(MultiDAE, SMALL, toy), toy) > 2 * chance(toy)
