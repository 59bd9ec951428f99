"""Each context-aware model's own layer, computed by hand on a small case: AFM's
attention pooling, DeepFM's and WideAndDeep's parts, DCN's and DCNv2's cross layers and
a CIN step of xDeepFM."""

from __future__ import annotations

import itertools

import pytest
import torch
from context_helpers import build, contexts
from warprec_models_neural.afm import AFM
from warprec_models_neural.dcn import DCN
from warprec_models_neural.dcnv2 import DCNv2
from warprec_models_neural.deepfm import DeepFM
from warprec_models_neural.wideanddeep import WideAndDeep
from warprec_models_neural.xdeepfm import CIN


def one_row(model, user=2, item=10, seed=4):
    """A single row with a context, its field vectors and its first-order term."""
    user, item, context = torch.tensor([user]), torch.tensor([item]), contexts(1, seed)
    fields = model.fields(user, item, context)[0]
    return (user, item, context), fields, model.first_order(user, item, context)


def test_afm_is_the_attention_weighted_sum_of_the_pairwise_products(toy):
    model = build(AFM, toy)
    with torch.no_grad():
        row, fields, first = one_row(model)
        assert len(fields) == 6  # user, item, genre, length, daytime, weekend
        pairs = [a * b for a, b in itertools.combinations(fields, 2)]
        hidden, out = model.attention[0], model.attention[2]
        logits = torch.stack([out.weight @ torch.relu(hidden.weight @ pair + hidden.bias)
                              + out.bias for pair in pairs]).flatten()
        weights = torch.exp(logits) / torch.exp(logits).sum()
        pooled = sum(w * pair for w, pair in zip(weights, pairs, strict=True))
        expected = first + pooled @ model.p
        assert float(model.forward(*row)) == pytest.approx(float(expected), rel=1e-5)


def test_deepfm_adds_every_pairwise_dot_product_and_the_mlp(toy):
    model = build(DeepFM, toy)
    with torch.no_grad():
        row, fields, first = one_row(model)
        second = sum(a @ b for a, b in itertools.combinations(fields, 2))
        deep = model.deep_predict_layer(model.mlp_layers(fields.reshape(1, -1)))
        expected = first + second + deep.flatten()
        assert float(model.forward(*row)) == pytest.approx(float(expected), rel=1e-5)


def test_wide_and_deep_is_the_linear_term_plus_the_mlp(toy):
    model = build(WideAndDeep, toy)
    with torch.no_grad():
        row, fields, first = one_row(model)
        deep = model.deep_predict_layer(model.mlp_layers(fields.reshape(1, -1)))
        assert float(model.forward(*row)) == pytest.approx(float(first + deep.flatten()),
                                                           rel=1e-5)


def test_a_dcn_cross_layer_by_hand(toy):
    model = build(DCN, toy, cross_layer_num=1)
    with torch.no_grad():
        model.cross_layer_w[0].zero_()[:2] = torch.tensor([0.5, -1.0])
        model.cross_layer_b[0].zero_()[:2] = torch.tensor([0.1, 0.2])
        x_0 = torch.zeros(1, model.cross_layer_w[0].numel())
        x_0[0, :2] = torch.tensor([1.0, 2.0])
        # x_0 . w = 0.5 - 2 = -1.5; x_1 = x_0 * -1.5 + b + x_0
        assert torch.allclose(model.cross(x_0)[0, :2], torch.tensor([-0.4, -0.8]))
        assert not model.cross(x_0)[0, 2:].any()


def test_a_dcnv2_matrix_cross_layer_by_hand(toy):
    model = build(DCNv2, toy, cross_layer_num=1)
    with torch.no_grad():
        model.cross_w.zero_()
        model.cross_w[0, 0, 0], model.cross_w[0, 1, 1], model.cross_w[0, 0, 1] = 1.0, 2.0, 3.0
        model.cross_b.zero_()[0, 1] = 0.5
        x_0 = torch.zeros(1, model.cross_w.shape[-1])
        x_0[0, :2] = torch.tensor([1.0, 2.0])
        # x_0 W = [1, 3 + 4] = [1, 7]; + b = [1, 7.5]; x_0 * that + x_0 = [2, 17]
        assert torch.allclose(model.cross(x_0)[0, :2], torch.tensor([2.0, 17.0]))


def test_a_dcnv2_mixed_layer_is_the_gated_sum_of_its_low_rank_experts(toy):
    model = build(DCNv2, toy, cross_layer_num=1, use_mixed=True, expert_num=2, low_rank=3)
    with torch.no_grad():
        x_0 = torch.randn(1, model.cross_u.shape[2], generator=torch.Generator().manual_seed(1))
        gate = torch.softmax(model.gating[0](x_0), dim=1)[0]
        expected = x_0[0].clone()
        for e in range(2):
            low = torch.tanh(model.cross_v[0, e].T @ x_0[0])
            low = torch.tanh(low * torch.diagonal(model.cross_c[0, e]))  # WarpRec's diagonal
            expert = model.cross_u[0, e] @ low + model.cross_b[0]
            expected += gate[e] * x_0[0] * expert
        assert torch.allclose(model.cross(x_0)[0], expected, atol=1e-4)


@pytest.mark.parametrize("direct", [True, False])
def test_a_cin_step_by_hand(direct):
    cin = CIN(n_fields=2, layer_sizes=[2], direct=direct)
    with torch.no_grad():
        # Map 0 reads the products field0*field1 (channel 1 of h*F + m), map 1 field1^2.
        cin.convolutions[0].weight.zero_()
        cin.convolutions[0].weight[0, 1, 0] = 1.0
        cin.convolutions[0].weight[1, 3, 0] = -2.0
        cin.convolutions[0].bias.zero_()
        x = torch.tensor([[[1.0, 2.0], [3.0, -1.0]]])  # fields [1, 2] and [3, -1]
        # field0*field1 = [3, -2] -> ReLU [3, 0], summed 3; -2 * field1^2 = [-18, -2] -> 0
        assert cin.output_size == 2
        assert torch.equal(cin(x), torch.tensor([[3.0, 0.0]]))


def test_a_two_layer_cin_feeds_half_its_maps_forward_without_direct():
    cin = CIN(n_fields=3, layer_sizes=[5, 4], direct=False)
    # [5, 4] rounds to [4, 4]: 2 maps go on, 2 to the output, then all 4 of the last.
    assert cin.layer_sizes == [4, 4] and cin.maps == [3, 2, 2]
    assert cin.convolutions[1].in_channels == 2 * 3 and cin.output_size == 2 + 4
    assert cin(torch.randn(7, 3, 5)).shape == (7, 6)
