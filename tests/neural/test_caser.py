"""Caser: the next-item samples, the user embedding, losses, errors and learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
from warprec.errors import ConfigError
from warprec_models_neural._sequential import next_item_loader
from warprec_models_neural.caser import Caser

SMALL = {"epochs": 30, "batch_size": 64, "max_seq_len": 3, "embedding_size": 16,
         "n_h": 4, "n_v": 2, "dropout_prob": 0.1, "learning_rate": 0.01}


def test_samples_are_each_next_item_with_the_items_before_it(toy):
    sessions = toy.train_sessions
    loader = next_item_loader(sessions, 4, 2, 64, seed=1)
    rows = set()
    for users, sequences, targets, negatives in loader:
        assert negatives.shape == (len(users), 2)
        for user, sequence, target in zip(users.tolist(), sequences.numpy(),
                                          targets.tolist(), strict=True):
            history = sessions.items[sessions.indptr[user]:sessions.indptr[user + 1]]
            position = int(np.flatnonzero(history == target)[0])
            before = history[max(0, position - 4):position]
            assert list(sequence[4 - len(before):]) == list(before)
            assert (sequence[: 4 - len(before)] == sessions.n_items).all()
            rows.add((user, position))
    expected = {(u, p) for u in range(sessions.n_users) for p in range(1, sessions.lengths[u])}
    assert rows == expected


def test_scores_depend_on_the_user_and_the_sequence(chain):
    model = Caser(SMALL, chain.info()).eval()
    sequence = torch.tensor([[3, 4, 5], [3, 4, 5]])
    with torch.no_grad():
        two_users = model(torch.tensor([0, 1]), sequence)
        other = model(torch.tensor([0]), torch.tensor([[7, 8, 9]]))
    assert not torch.allclose(two_users[0], two_users[1])
    assert not torch.allclose(two_users[0], other[0])


@pytest.mark.parametrize("neg_samples", [0, 2])
def test_loss_follows_neg_samples(chain, neg_samples):
    model = Caser({**SMALL, "neg_samples": neg_samples}, chain.info()).eval()
    batch = next(iter(model.get_dataloader(chain.train, chain.train_sessions)))
    users, sequences, targets, negatives = batch
    hidden = model(users, sequences)
    items = model.item_embedding.weight
    if neg_samples:
        positive = (hidden * items[targets]).sum(-1, keepdim=True)
        negative = torch.einsum("ne,nke->nk", hidden, items[negatives])
        expected = -torch.nn.functional.logsigmoid(positive - negative).mean()
    else:
        expected = torch.nn.functional.cross_entropy(hidden @ items[: chain.n_items].T, targets)
    assert torch.allclose(model.train_step(batch), expected, atol=1e-6)


@pytest.mark.parametrize(("params", "name"), bad_param_cases([
    ({"n_h": 0}, "n_h"), ({"n_v": 0}, "n_v"), ({"dropout_prob": -0.1}, "dropout_prob"),
]))
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        Caser(params, chain.info())


def test_learns_the_next_item_of_a_chain(chain):
    model = fit(Caser, SMALL, chain)
    assert ndcg(with_validation_history(model, chain), chain) > max(0.8, 3 * chance(chain))
