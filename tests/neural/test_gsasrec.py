"""gSASRec: the gBCE loss, the output embeddings, errors and learning."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
from warprec.data.dataset import Dataset
from warprec.errors import ConfigError
from warprec_models_neural.gsasrec import gbce_beta, gSASRec
from warprec_models_neural.sasrec import SASRec

SMALL = {"epochs": 30, "batch_size": 16, "max_seq_len": 6, "embedding_size": 16,
         "n_heads": 2, "n_layers": 1, "inner_size": 32, "dropout_prob": 0.1,
         "attn_dropout_prob": 0.1, "learning_rate": 0.01, "neg_samples": 8}


def test_beta_runs_from_bce_to_the_sampling_rate():
    assert gbce_beta(8, 101, 0.0) == pytest.approx(1.0)
    assert gbce_beta(8, 101, 1.0) == pytest.approx(8 / 100)
    assert gbce_beta(8, 101, 0.5) == pytest.approx(0.5 * (1 + 8 / 100))


def reference_gbce(positive, negative, beta):
    """The paper's form: BCE with the positive probability raised to beta."""
    probability = torch.sigmoid(positive.double()) ** beta
    logits = torch.cat([torch.logit(probability).unsqueeze(1), negative.double()], 1)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)


@pytest.mark.parametrize("t", [0.0, 0.75, 1.0])
def test_loss_is_the_papers_gbce(chain, t):
    model = gSASRec({**SMALL, "gbce_t": t}, chain.info()).eval()
    windows, negatives = next(iter(model.get_dataloader(chain.train, chain.train_sessions)))
    assert negatives.shape[-1] == 8
    hidden = model(windows[:, :-1])
    valid = (windows[:, :-1] != chain.n_items) & (windows[:, 1:] != chain.n_items)
    items = model.item_embedding.weight
    h, targets, negs = hidden[valid], windows[:, 1:][valid], negatives[valid]
    bias = model.score_bias
    positive = (h * items[targets]).sum(-1) + bias
    negative = torch.einsum("ne,nke->nk", h, items[negs]) + bias
    expected = reference_gbce(positive, negative, gbce_beta(8, chain.n_items, t))
    got = model.train_step((windows, negatives))
    assert torch.allclose(got.double(), expected, atol=1e-5)
    if t == 0.0:  # plain BCE without the bias: SASRec's sampled loss
        with torch.no_grad():
            model.score_bias.zero_()
        sasrec = SASRec({k: v for k, v in SMALL.items()}, chain.info()).eval()
        state = {k: v for k, v in model.state_dict().items() if k != "score_bias"}
        sasrec.load_state_dict(state)
        assert torch.allclose(sasrec.train_step((windows, negatives)),
                              model.train_step((windows, negatives)), atol=1e-6)


@pytest.mark.parametrize(("negatives", "t"), [(8, 0.75), (8, 0.0), (28, 1.0)])
def test_score_bias_starts_where_gbce_balances(chain, negatives, t):
    # At s = log(beta / k) the gradient of beta * softplus(-s) + k * softplus(s) is 0:
    # the negatives' push down balances the positive's pull up.
    model = gSASRec({**SMALL, "neg_samples": negatives, "gbce_t": t}, chain.info())
    beta = gbce_beta(negatives, chain.n_items, t)
    assert model.score_bias.item() == pytest.approx(math.log(beta / negatives), rel=1e-6)
    s = model.score_bias.detach().double().requires_grad_()
    (beta * F.softplus(-s) + negatives * F.softplus(s)).backward()
    assert abs(s.grad.item()) < 1e-6


def test_separate_output_embeddings_score(chain):
    model = gSASRec({**SMALL, "reuse_item_embeddings": False}, chain.info()).eval()
    model.get_dataloader(chain.train, chain.train_sessions)
    users = torch.arange(3)
    with torch.no_grad():
        last = model(model.user_sequences[users])[:, -1]
        expected = last @ model.output_embedding.weight[: chain.n_items].T
        expected = expected + model.score_bias
        assert torch.allclose(model.predict(users), expected, atol=1e-6)
        items = torch.tensor([[0, 5], [1, 2], [3, 3]])
        assert torch.allclose(model.predict(users, item_indices=items),
                              expected.gather(1, items), atol=1e-6)


@pytest.mark.parametrize(("params", "name"), bad_param_cases([
    ({"neg_samples": 0}, "neg_samples"), ({"gbce_t": 1.5}, "gbce_t"),
    ({"gbce_t": -0.1}, "gbce_t"),
]))
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        gSASRec(params, chain.info())


def test_learns_the_next_item_of_a_chain(chain):
    model = fit(gSASRec, SMALL, chain)
    assert ndcg(with_validation_history(model, chain), chain) > max(0.8, 3 * chance(chain))


@pytest.fixture(scope="module")
def long_chain() -> Dataset:
    """``chain`` with 200 items: 100 negatives of 199 (beta 0.51) against one positive,
    the imbalance MovieLens-100K's defaults have (64 of 1681, beta 0.28)."""
    rng = np.random.default_rng(0)
    n_users, n_items, length = 100, 200, 8
    start = rng.integers(0, n_items, n_users)
    items = (start[:, None] + np.arange(length)[None, :]) % n_items
    frame = pd.DataFrame({"user_id": np.repeat(np.arange(n_users), length),
                          "item_id": items.ravel(),
                          "timestamp": np.tile(np.arange(length), n_users)})
    last, valid = frame["timestamp"] == length - 1, frame["timestamp"] == length - 2
    return Dataset(frame[~last & ~valid], frame[last], frame[valid])


def test_many_negatives_still_learn_the_next_item(long_chain):
    # Without score_bias the strongly negative scores gBCE wants were reached through a
    # direction shared by every hidden state (the final LayerNorm bounds their norm):
    # every user got the same scores and this stayed at chance (nDCG@10 0.026 vs 0.020).
    params = {**SMALL, "neg_samples": 100, "learning_rate": 0.003}
    model = fit(gSASRec, params, long_chain)
    assert ndcg(with_validation_history(model, long_chain), long_chain) > max(
        0.6, 10 * chance(long_chain))
