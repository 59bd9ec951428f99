"""GRU4Rec: padding invariance, losses, errors and learning a sequence."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural.gru4rec import GRU4Rec

SMALL = {"epochs": 30, "batch_size": 16, "max_seq_len": 6, "embedding_size": 16,
         "hidden_size": 16, "dropout_prob": 0.1, "learning_rate": 0.01}


def test_left_padding_changes_nothing(chain):
    # No bias in the GRU: a zero input keeps the zero state, so padding is neutral.
    model = GRU4Rec({**SMALL, "num_layers": 2}, chain.info()).eval()
    pad = chain.n_items
    with torch.no_grad():
        short = model(torch.tensor([[3, 4, 5]]))[:, -1]
        padded = model(torch.tensor([[pad, pad, pad, 3, 4, 5]]))[:, -1]
    assert torch.allclose(short, padded, atol=1e-6)


def test_predict_scores_the_last_state_against_the_items(chain):
    model = GRU4Rec(SMALL, chain.info()).eval()
    model.get_dataloader(chain.train, chain.train_sessions)
    users = torch.arange(4)
    with torch.no_grad():
        last = model(model.user_sequences[users])[:, -1]
        expected = last @ model.item_embedding.weight[: chain.n_items].T
        assert torch.allclose(model.predict(users), expected)


@pytest.mark.parametrize("neg_samples", [0, 2])
def test_loss_follows_neg_samples(chain, neg_samples):
    model = GRU4Rec({**SMALL, "neg_samples": neg_samples}, chain.info()).eval()
    windows, negatives = next(iter(model.get_dataloader(chain.train, chain.train_sessions)))
    assert negatives.shape[-1] == neg_samples
    hidden = model(windows[:, :-1])
    valid = (windows[:, :-1] != chain.n_items) & (windows[:, 1:] != chain.n_items)
    hidden, targets = hidden[valid], windows[:, 1:][valid]
    items = model.item_embedding.weight
    if neg_samples:
        positive = (hidden * items[targets]).sum(-1, keepdim=True)
        negative = torch.einsum("ne,nke->nk", hidden, items[negatives[valid]])
        expected = -torch.nn.functional.logsigmoid(positive - negative).mean()
    else:
        expected = torch.nn.functional.cross_entropy(hidden @ items[: chain.n_items].T, targets)
    assert torch.allclose(model.train_step((windows, negatives)), expected, atol=1e-6)


def test_needs_sessions(chain):
    with pytest.raises(WarpRecError, match="Sessions"):
        GRU4Rec({}, chain.info()).get_dataloader(chain.train, None)


@pytest.mark.parametrize(("params", "name"), bad_param_cases([
    ({"hidden_size": 0}, "hidden_size"), ({"num_layers": 0}, "num_layers"),
    ({"dropout_prob": 1.0}, "dropout_prob"), ({"max_seq_len": 0}, "max_seq_len"),
]))
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        GRU4Rec(params, chain.info())


@pytest.mark.parametrize("neg_samples", [0, 1])
def test_learns_the_next_item_of_a_chain(chain, neg_samples):
    model = fit(GRU4Rec, {**SMALL, "neg_samples": neg_samples}, chain)
    assert ndcg(with_validation_history(model, chain), chain) > max(0.8, 3 * chance(chain))
