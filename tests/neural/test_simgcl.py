"""SimGCL: the encoder against the dense formula, the noise, InfoNCE, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError
from warprec_models_neural.simgcl import SimGCL, info_nce

# A weak contrastive term: with 48 users, uniformity among them fights the clusters.
SMALL = {"epochs": 30, "batch_size": 64, "embedding_size": 16, "learning_rate": 0.01,
         "lambda_": 0.05}


def test_clean_encoder_is_the_mean_of_layers_one_to_l(toy):
    model = SimGCL({"n_layers": 3, "embedding_size": 8}, toy.info())
    model.get_dataloader(toy.train)
    A = model.adjacency().to_dense()
    E = torch.cat([model.user_embedding.weight, model.item_embedding.weight[:-1]])
    expected = (A @ E + A @ A @ E + A @ A @ A @ E) / 3
    users, items = model.embeddings()
    assert torch.allclose(torch.cat([users, items]), expected, atol=1e-6)


def test_noise_has_norm_eps_in_each_nodes_hyperoctant(toy):
    model = SimGCL({"n_layers": 1, "eps": 0.3, "embedding_size": 8}, toy.info())
    model.get_dataloader(toy.train)
    clean = torch.cat(model.propagate(noise=False))
    noisy = torch.cat(model.propagate(noise=True))
    noise = noisy - clean
    assert torch.allclose(noise.norm(dim=1), torch.full((len(noise),), 0.3), atol=1e-5)
    assert ((noise * clean) >= 0).all()


def test_info_nce_matches_the_softmax_formula():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 4, generator=generator), torch.randn(5, 4, generator=generator)
    cos = torch.nn.functional.cosine_similarity(a[:, None], b[None, :], dim=2) / 0.5
    expected = -(cos.diag() - cos.logsumexp(dim=1)).mean()
    assert torch.allclose(info_nce(a, b, 0.5), expected, atol=1e-6)
    # Aligned views of well-separated nodes cost nearly nothing.
    assert float(info_nce(torch.eye(4), torch.eye(4), 0.05)) < 1e-6


def test_contrastive_weight_adds_the_info_nce_term(toy):
    batch = next(iter(SimGCL({}, toy.info()).get_dataloader(toy.train)))
    losses = []
    for weight in (0.0, 1.0):
        model = SimGCL({"lambda_": weight}, toy.info(), seed=5)
        model.get_dataloader(toy.train)
        losses.append(float(model.train_step(batch)))
    assert losses[1] > losses[0] + 1.0  # two InfoNCE terms of about log(batch) each


@pytest.mark.parametrize(
    ("params", "name"),
    [({"n_layers": 0}, "n_layers"), ({"temperature": 0}, "temperature"),
     ({"eps": -0.1}, "eps"), ({"lambda_": -1}, "lambda_")],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        SimGCL(params, toy.info())


def test_beats_chance(toy):
    assert ndcg(fit(SimGCL, SMALL, toy), toy) > 2 * chance(toy)
