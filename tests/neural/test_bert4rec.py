"""BERT4Rec: the cloze batches, the appended [MASK], losses, errors and learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_helpers import chance, fit, ndcg
from seq_helpers import bad_param_cases, with_validation_history
from warprec.errors import ConfigError
from warprec_models_neural.bert4rec import BERT4Rec

SMALL = {"epochs": 40, "batch_size": 16, "max_seq_len": 6, "embedding_size": 16,
         "n_heads": 2, "n_layers": 1, "inner_size": 32, "dropout_prob": 0.1,
         "attn_dropout_prob": 0.1, "mask_prob": 0.3, "learning_rate": 0.01}


def test_masks_only_real_items_and_at_least_one_per_window(toy):
    model = BERT4Rec({**SMALL, "max_seq_len": 8, "mask_prob": 0.2}, toy.info())
    loader = model.get_dataloader(toy.train, toy.train_sessions)
    masked_share, real = [], []
    for inputs, windows, negatives in loader:
        masked = inputs == model.mask_token
        assert inputs.shape == windows.shape == (len(inputs), 9)
        assert negatives.shape == (len(inputs), 9, 0)
        assert not (masked & (windows == toy.n_items)).any()
        assert masked.any(dim=1).all()
        assert torch.equal(inputs[~masked], windows[~masked])
        masked_share.append(int(masked.sum()))
        real.append(int((windows != toy.n_items).sum()))
    # About mask_prob of the real items (plus the forced last ones).
    assert 0.15 < sum(masked_share) / sum(real) < 0.35


def test_predict_reads_the_output_at_an_appended_mask(chain):
    model = BERT4Rec(SMALL, chain.info()).eval()
    model.get_dataloader(chain.train, chain.train_sessions)
    users = torch.arange(3)
    sequences = model.user_sequences[users]
    with torch.no_grad():
        mask = torch.full((3, 1), model.mask_token)
        hidden = model(torch.cat([sequences, mask], dim=1))[:, -1]
        expected = hidden @ model.item_embedding.weight[: chain.n_items].T + model.output_bias
        assert torch.allclose(model.predict(users), expected, atol=1e-6)


def test_attention_sees_both_sides_but_not_the_padding(chain):
    model = BERT4Rec(SMALL, chain.info()).eval()
    pad = chain.n_items
    sequence = torch.tensor([[pad, pad, 3, 4, 5, 6, 7]])
    with torch.no_grad():
        hidden = model(sequence)
        later = model(torch.tensor([[pad, pad, 3, 4, 5, 6, 9]]))
        assert not torch.allclose(hidden[:, 2], later[:, 2])  # bidirectional
        model.item_embedding.weight[pad] = 5.0
        assert torch.allclose(model(sequence)[:, 2:], hidden[:, 2:], atol=1e-6)


@pytest.mark.parametrize("neg_samples", [0, 3])
def test_loss_is_over_the_masked_items(chain, neg_samples):
    model = BERT4Rec({**SMALL, "neg_samples": neg_samples}, chain.info()).eval()
    inputs, windows, negatives = next(iter(model.get_dataloader(chain.train,
                                                                chain.train_sessions)))
    assert negatives.shape[-1] == neg_samples
    masked = inputs == model.mask_token
    hidden = model(inputs)[masked]
    items, bias = model.item_embedding.weight, model.output_bias
    targets = windows[masked]
    if neg_samples:
        positive = (hidden * items[targets]).sum(-1, keepdim=True) + bias[targets, None]
        negs = negatives[masked]
        negative = torch.einsum("ne,nke->nk", hidden, items[negs]) + bias[negs]
        expected = -torch.nn.functional.logsigmoid(positive - negative).mean()
    else:
        logits = hidden @ items[: chain.n_items].T + bias
        expected = torch.nn.functional.cross_entropy(logits, targets)
    assert torch.allclose(model.train_step((inputs, windows, negatives)), expected, atol=1e-6)


@pytest.mark.parametrize(("params", "name"), bad_param_cases([
    ({"mask_prob": 0.0}, "mask_prob"), ({"mask_prob": 1.5}, "mask_prob"),
    ({"n_layers": 0}, "n_layers"), ({"attn_dropout_prob": -0.5}, "attn_dropout_prob"),
]))
def test_bad_params_are_config_errors(chain, params, name):
    with pytest.raises(ConfigError, match=name):
        BERT4Rec(params, chain.info())


def test_heads_must_divide_the_embedding(chain):
    with pytest.raises(ConfigError, match="n_heads"):
        BERT4Rec({"embedding_size": 10, "n_heads": 4}, chain.info())


def test_learns_the_next_item_of_a_chain(chain):
    model = fit(BERT4Rec, SMALL, chain)
    assert ndcg(with_validation_history(model, chain), chain) > max(0.6, 3 * chance(chain))


def test_windows_are_reproducible_per_epoch(toy):
    model = BERT4Rec(SMALL, toy.info())
    first = [b[0] for b in model.get_dataloader(toy.train, toy.train_sessions)]
    again = [b[0] for b in model.get_dataloader(toy.train, toy.train_sessions)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
