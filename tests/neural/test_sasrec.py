"""SASRec: training windows, the kept sequences, errors and learning a sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural.sasrec import SASRec, session_windows

SMALL = {"epochs": 30, "batch_size": 16, "max_seq_len": 6, "embedding_size": 16,
         "n_heads": 2, "n_layers": 1, "dropout": 0.1, "learning_rate": 0.01}


@pytest.mark.parametrize("length", [2, 3, 4, 9])
def test_windows_cover_every_next_item_once(toy, length):
    sessions = toy.train_sessions
    windows, users = session_windows(sessions, length)
    assert windows.shape == (len(users), length)
    # Each (previous, next) pair inside a window, with a real previous item, is one target.
    prev, nxt = windows[:, :-1], windows[:, 1:]
    real = (prev != sessions.n_items) & (nxt != sessions.n_items)
    got = sorted(zip(np.repeat(users, length - 1)[real.ravel()], nxt[real], strict=True))
    first = np.zeros(len(sessions), bool)
    first[sessions.indptr[:-1][sessions.lengths > 0]] = True
    expected = sorted(zip(sessions.users[~first], sessions.items[~first], strict=True))
    assert got == expected


def test_keeps_each_users_latest_training_items(chain):
    model = SASRec({"max_seq_len": 4}, chain.info())
    model.get_dataloader(chain.train, chain.train_sessions)
    sequences, _ = chain.train_sessions.get_padded_sequences(4)
    assert torch.equal(model.user_sequences, sequences)


def test_predict_depends_on_the_sequence(chain):
    model = fit(SASRec, {**SMALL, "epochs": 2}, chain)
    model.eval()
    users = torch.arange(3)
    before = model.predict(users)
    model.user_sequences[:3] = model.user_sequences[3:6]
    assert not torch.allclose(model.predict(users), before)


def test_needs_sessions(chain):
    with pytest.raises(WarpRecError, match="Sessions"):
        SASRec({}, chain.info()).get_dataloader(chain.train, None)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"embedding_size": 10, "n_heads": 3}, "n_heads"), ({"max_seq_len": 0}, "max_seq_len"),
     ({"dropout": -0.1}, "dropout")],
)
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        SASRec(params, chain.info())


def test_learns_the_next_item_of_a_chain(chain):
    model = fit(SASRec, SMALL, chain)
    assert ndcg(model, chain) > max(0.8, 3 * chance(chain))
