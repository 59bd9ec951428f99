"""What every context-aware model shares: scoring under a context (full ranking equals
the row-wise forward), the context's effect on the scores, the errors on a bad context,
the loss and penalty with context, per-column item fields, checkpoints and learning."""

from __future__ import annotations

import pytest
import torch
from context_helpers import ALL_MODELS, CONTEXT_DIMS, FIELD_MODELS, build, contexts
from neural_helpers import chance, ndcg
from warprec.errors import DataError
from warprec.recommenders.trainer import Trainer
from warprec_models_neural import _context
from warprec_models_neural.afm import AFM
from warprec_models_neural.dcnv2 import DCNv2
from warprec_models_neural.fm import FM
from warprec_models_neural.nfm import NFM
from warprec_models_neural.xdeepfm import xDeepFM

MODELS = pytest.mark.parametrize("model_class", ALL_MODELS, ids=lambda c: c.__name__)


def rowwise(model, users, items, context):
    """The forward of every (user, item) pair, ``[len(users), len(items)]``."""
    pairs_u = users.repeat_interleave(len(items))
    pairs_c = None if context is None else context.repeat_interleave(len(items), dim=0)
    return model.forward(pairs_u, items.repeat(len(users)), pairs_c).view(len(users), -1)


@MODELS
def test_full_scores_equal_the_rowwise_forward_under_a_context(model_class, toy, monkeypatch):
    # A tiny block forces several item blocks through the blocked scoring.
    monkeypatch.setattr(_context, "BLOCK_ELEMENTS", 500)
    model = build(model_class, toy)
    users, context = torch.arange(5), contexts(5)
    with torch.no_grad():
        expected = rowwise(model, users, torch.arange(toy.n_items), context)
        assert torch.allclose(model.predict(users, context=context), expected, atol=1e-5)
        sampled = torch.tensor([[3, 1, 4]] * 5)
        got = model.predict(users, item_indices=sampled, context=context)
        assert torch.allclose(got, expected[:, [3, 1, 4]], atol=1e-5)


@pytest.mark.parametrize("model_class", [DCNv2], ids=["DCNv2-mixed-stacked"])
def test_the_mixed_and_stacked_dcnv2_scores_equal_its_forward(model_class, toy):
    model = build(model_class, toy, use_mixed=True, model_structure="stacked")
    users, context = torch.arange(4), contexts(4)
    with torch.no_grad():
        expected = rowwise(model, users, torch.arange(toy.n_items), context)
        assert torch.allclose(model.predict(users, context=context), expected, atol=1e-5)


@MODELS
def test_the_context_changes_every_score(model_class, toy):
    model = build(model_class, toy)
    users = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        scores = model.predict(users, context=torch.tensor([[0, 0], [2, 1]]))
    assert (scores[0] != scores[1]).all()


@pytest.mark.parametrize("model_class", [FM, NFM, AFM], ids=lambda c: c.__name__)
def test_the_pairwise_models_score_without_a_context_by_leaving_it_out(model_class, toy):
    with_columns, without = build(model_class, toy), build(model_class, toy, context=False)
    without.load_state_dict(with_columns.state_dict(), strict=False)
    users = torch.arange(3)
    with torch.no_grad():
        assert torch.allclose(with_columns.predict(users), without.predict(users), atol=1e-6)


@pytest.mark.parametrize("model_class", FIELD_MODELS[1:], ids=lambda c: c.__name__)
def test_a_model_with_fixed_fields_asks_for_its_context(model_class, toy):
    model = build(model_class, toy)
    with pytest.raises(DataError, match=r"fitted with the context columns \['daytime', "
                                        r"'weekend'\]; expected a context"):
        model.predict(torch.arange(2))


@MODELS
def test_a_bad_context_is_one_clear_error(model_class, toy):
    model, bare = build(model_class, toy), build(model_class, toy, context=False)
    users = torch.arange(2)
    with pytest.raises(DataError, match=r"context has shape \(2, 1\); expected \(2, 2\)"):
        model.predict(users, context=torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(DataError, match="context category is out of range"):
        model.predict(users, context=torch.tensor([[0, 0], [3, 0]]))
    with pytest.raises(DataError, match="has no context columns"):
        bare.predict(users, context=torch.zeros(2, 2, dtype=torch.long))


@MODELS
def test_train_step_is_bce_plus_the_penalty_with_the_context_rows(model_class, toy):
    model = build(model_class, toy, reg_weight=0.5)
    user, item, label = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.ones(3)
    context = torch.tensor([[0, 1], [2, 0], [2, 0]])
    rows = context + torch.tensor([0, 3])
    with torch.no_grad():
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            model.forward(user, item, context), label)
        context_squares = (model.context_embedding.weight[rows].pow(2).sum()
                           + model.context_bias.weight[rows].pow(2).sum())
        expected = model.regularization(user, item) + 0.5 * context_squares / 3
        assert float(model.regularization(user, item, context)) == pytest.approx(
            float(expected), rel=1e-5)
        loss = model.train_step((user, item, context, label))
    assert float(loss) == pytest.approx(float(bce + 0.5 * expected), rel=1e-5)


def test_the_field_models_pool_a_multi_valued_column_by_its_mean(toy):
    # The toy's side file: a categorical genre (items 0, 5, 10... have a second genre,
    # "mixed") and a numeric length: two fields.
    model, fm = build(AFM, toy), build(FM, toy)
    assert model.n_item_fields == 2 and model.n_fields == 2 + 2 + len(CONTEXT_DIMS)
    with torch.no_grad():
        item = torch.tensor([10])
        values = fm.item_feature_matrix[10]
        genres, length = torch.nonzero(values[:-1]).flatten(), values.shape[0] - 1
        assert len(genres) == 2 and float(values[length]) == 0.5  # item 10: length 10 % 3 / 2
        fields = model.item_fields(item)[0]
        assert torch.allclose(fields[0], model.feature_embedding[genres].mean(0))
        assert torch.allclose(fields[1], 0.5 * model.feature_embedding[length])
        linear = model.item_bias.weight[10] + model.feature_bias[genres].mean(0) + (
            0.5 * model.feature_bias[length])
        assert torch.allclose(model.item_linear(item), linear)


@pytest.mark.parametrize("model_class", FIELD_MODELS, ids=lambda c: c.__name__)
def test_a_checkpoint_restores_the_fields_and_the_context_tables(model_class, toy, tmp_path):
    model = build(model_class, toy)
    model.save(tmp_path / "model.pt")
    loaded = model_class.load(tmp_path / "model.pt").eval()
    assert loaded.n_fields == model.n_fields == 6
    users, context = torch.arange(4), contexts(4, seed=1)
    with torch.no_grad():
        assert torch.equal(loaded.predict(users, context=context),
                           model.predict(users, context=context))


@MODELS
def test_weight_decay_reaches_the_dense_weights_only(model_class, toy):
    model = build(model_class, toy, weight_decay=0.1)
    decayed, plain = model.configure_optimizer().param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    decayed_ids = {id(p) for p in decayed["params"]}
    tables = [model.user_embedding.weight, model.item_embedding.weight,
              model.feature_embedding, model.feature_bias, model.context_embedding.weight,
              model.context_bias.weight, model.global_bias]
    assert not decayed_ids & {id(p) for p in tables}
    linear = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv1d)]
    assert {id(p) for p in linear} <= decayed_ids
    assert len(decayed_ids) + len(plain["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("model_class", FIELD_MODELS, ids=lambda c: c.__name__)
def test_learns_the_clusters_above_chance(model_class, toy):
    params = {"epochs": 15, "batch_size": 128, "learning_rate": 0.02, "reg_weight": 0.0}
    model = build(model_class, toy, context=False, **params).train()
    Trainer(model, toy, progress=False).fit()
    assert ndcg(model, toy) > 1.5 * chance(toy)


def test_xdeepfm_refuses_a_cin_layer_it_would_halve_to_nothing():
    xDeepFM.validate_params({"cin_layer_size": [4, 1], "direct": True})
    with pytest.raises(Exception, match=r"cin_layer_size \[4, 1\] has a layer under 2 maps"):
        xDeepFM.validate_params({"cin_layer_size": [4, 1], "direct": False})
