"""gSASRec: the gBCE loss, the output embeddings, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
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
    positive = (h * items[targets]).sum(-1)
    negative = torch.einsum("ne,nke->nk", h, items[negs])
    expected = reference_gbce(positive, negative, gbce_beta(8, chain.n_items, t))
    got = model.train_step((windows, negatives))
    assert torch.allclose(got.double(), expected, atol=1e-5)
    if t == 0.0:  # plain BCE: SASRec's sampled loss
        sasrec = SASRec({k: v for k, v in SMALL.items()}, chain.info()).eval()
        sasrec.load_state_dict(model.state_dict())
        assert torch.allclose(sasrec.train_step((windows, negatives)), got, atol=1e-6)


def test_separate_output_embeddings_score(chain):
    model = gSASRec({**SMALL, "reuse_item_embeddings": False}, chain.info()).eval()
    model.get_dataloader(chain.train, chain.train_sessions)
    users = torch.arange(3)
    with torch.no_grad():
        last = model(model.user_sequences[users])[:, -1]
        expected = last @ model.output_embedding.weight[: chain.n_items].T
        assert torch.allclose(model.predict(users), expected, atol=1e-6)


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
