"""MultVAE: KL annealing, the kept training rows, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError, WarpRecError
from warprec.recommenders.trainer import Trainer
from warprec_models_neural.multvae import MultVAE

SMALL = {"epochs": 40, "batch_size": 16, "hidden_dims": [32], "latent_dim": 8,
         "learning_rate": 0.01}


def test_kl_weight_anneals_to_the_cap(toy):
    model = MultVAE({"anneal_cap": 0.3, "total_anneal_steps": 10}, toy.info())
    assert model.kl_weight() == 0.0
    model.steps = 2
    assert model.kl_weight() == pytest.approx(0.2)
    model.steps = 50
    assert model.kl_weight() == pytest.approx(0.3)


def test_loss_decreases_over_epochs(toy):
    model = MultVAE(SMALL, toy.info(), seed=1)
    history = Trainer(model, toy, epochs=15, progress=False).fit()
    assert history.losses[-1] < history.losses[0]


def test_predict_reads_the_training_rows(toy):
    model = fit(MultVAE, SMALL, toy)
    model.eval()
    users = torch.arange(4)
    before = model.predict(users)
    model.train_matrix = model.train_matrix * 0
    assert not torch.allclose(model.predict(users), before)


def test_predict_before_training_is_an_error(toy):
    with pytest.raises(WarpRecError, match="train"):
        MultVAE({}, toy.info()).predict(torch.arange(2))


@pytest.mark.parametrize(
    ("params", "name"),
    [({"hidden_dims": [0]}, "hidden_dims"), ({"dropout": 1.5}, "dropout"),
     ({"latent_dim": -3}, "latent_dim"), ({"hidden_dims": "600"}, "hidden_dims")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        MultVAE(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(MultVAE, SMALL, toy), toy) > 2 * chance(toy)


def test_multivae_anneals_by_epoch_as_warprec() -> None:
    from warprec_models_neural.multvae import MultiVAE

    model = MultiVAE({"intermediate_dim": 8, "latent_dim": 4, "anneal_cap": 0.2,
                      "anneal_step": 4}, {"n_users": 5, "n_items": 6})
    weights = []
    for epoch in (1, 2, 3, 5, 9):
        model.on_epoch_start(epoch)
        weights.append(model.kl_weight())
    assert weights == pytest.approx([0.0, 0.05, 0.1, 0.2, 0.2])
    assert [m.out_features for m in model.encoder if hasattr(m, "out_features")] == [8, 8]
