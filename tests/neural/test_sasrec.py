"""SASRec: training windows, the kept sequences, masks, losses, errors and learning a
sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
from warprec.data.dataset import Sessions
from warprec.errors import ConfigError, WarpRecError
from warprec_models_neural.sasrec import SASRec, session_windows

SMALL = {"epochs": 30, "batch_size": 16, "max_seq_len": 6, "embedding_size": 16,
         "n_heads": 2, "n_layers": 1, "inner_size": 32, "dropout_prob": 0.1,
         "attn_dropout_prob": 0.1, "learning_rate": 0.01}


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


def test_set_history_extends_the_sequences_with_validation(chain):
    model = SASRec({"max_seq_len": 4}, chain.info())
    model.get_dataloader(chain.train, chain.train_sessions)
    both = chain.train_validation
    model.set_history(Sessions(both.users, both.items, chain.n_users, chain.n_items,
                               both.timestamps))
    valid = chain.validation
    last = model.user_sequences[torch.as_tensor(valid.users), -1]
    assert torch.equal(last, torch.as_tensor(valid.items))


def test_predict_depends_on_the_sequence(chain):
    model = fit(SASRec, {**SMALL, "epochs": 2}, chain)
    model.eval()
    users = torch.arange(3)
    before = model.predict(users)
    model.user_sequences[:3] = model.user_sequences[3:6]
    assert not torch.allclose(model.predict(users), before)


def test_attention_is_causal_and_ignores_padding(chain):
    model = SASRec({**SMALL, "max_seq_len": 6}, chain.info()).eval()
    pad = chain.n_items
    sequence = torch.tensor([[pad, pad, 3, 4, 5, 6]])
    with torch.no_grad():
        hidden = model(sequence)
        # A later item does not change earlier positions.
        changed = model(torch.tensor([[pad, pad, 3, 4, 5, 9]]))
        assert torch.allclose(hidden[:, :5], changed[:, :5], atol=1e-6)
        assert not torch.allclose(hidden[:, 5], changed[:, 5])
        # The padding's embedding row never reaches a real position.
        model.item_embedding.weight[pad] = 5.0
        assert torch.allclose(model(sequence)[:, 2:], hidden[:, 2:], atol=1e-6)


def test_neg_samples_selects_the_loss(chain):
    model = SASRec({**SMALL, "neg_samples": 0}, chain.info())
    windows, negatives = next(iter(model.get_dataloader(chain.train, chain.train_sessions)))
    assert negatives.shape == (len(windows), SMALL["max_seq_len"], 0)
    model.eval()  # no dropout: the loss is a function of the weights only
    hidden = model(windows[:, :-1])
    valid = (windows[:, :-1] != chain.n_items) & (windows[:, 1:] != chain.n_items)
    logits = hidden[valid] @ model.item_embedding.weight[: chain.n_items].T
    expected = torch.nn.functional.cross_entropy(logits, windows[:, 1:][valid])
    assert torch.allclose(model.train_step((windows, negatives)), expected)
    sampled = SASRec({**SMALL, "neg_samples": 3}, chain.info())
    _, negatives = next(iter(sampled.get_dataloader(chain.train, chain.train_sessions)))
    assert negatives.shape[-1] == 3


def test_reg_weight_adds_the_l2_penalty(chain):
    batch = next(iter(SASRec(SMALL, chain.info()).get_dataloader(chain.train,
                                                                  chain.train_sessions)))
    plain = SASRec(SMALL, chain.info()).eval()
    penalised = SASRec({**SMALL, "reg_weight": 0.5}, chain.info()).eval()
    assert penalised.train_step(batch) > plain.train_step(batch)


def test_needs_sessions(chain):
    with pytest.raises(WarpRecError, match="Sessions"):
        SASRec({}, chain.info()).get_dataloader(chain.train, None)


def test_heads_must_divide_the_embedding(chain):
    with pytest.raises(ConfigError, match="n_heads"):
        SASRec({"embedding_size": 10, "n_heads": 3}, chain.info())


@pytest.mark.parametrize(("params", "name"), bad_param_cases([
    ({"max_seq_len": 0}, "max_seq_len"), ({"dropout_prob": -0.1}, "dropout_prob"),
    ({"attn_dropout_prob": 1.0}, "attn_dropout_prob"), ({"inner_size": 0}, "inner_size"),
    ({"neg_samples": -1}, "neg_samples"), ({"reg_weight": -1.0}, "reg_weight"),
]))
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        SASRec(params, chain.info())


@pytest.mark.parametrize("neg_samples", [0, 1])
def test_learns_the_next_item_of_a_chain(chain, neg_samples):
    model = fit(SASRec, {**SMALL, "neg_samples": neg_samples}, chain)
    assert ndcg(with_validation_history(model, chain), chain) > max(0.8, 3 * chance(chain))
