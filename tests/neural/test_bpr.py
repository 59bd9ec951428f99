"""BPR: the fused sparse loss, the sparse optimizers, errors and learning."""

from __future__ import annotations

import pytest
import torch
from neural_helpers import chance, fit, ndcg
from warprec.errors import ConfigError
from warprec.evaluation import Evaluator
from warprec.recommenders.losses import BPRLoss, EmbLoss
from warprec.recommenders.trainer import Trainer
from warprec_models_neural.bpr import BPR, SparseRowOptimizer, SparseSGD, bpr_loss_sparse


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_fused_loss_and_gradients_match_autograd(reg):
    torch.manual_seed(0)
    users = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    items = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, dtype=torch.float64, requires_grad=True)
    u, i, j = (torch.tensor(t) for t in ([0, 1, 1, 3, 6], [0, 2, 2, 5, 1], [3, 2, 4, 4, 0]))
    fused = bpr_loss_sparse(users, items, bias, u, i, j, reg)
    (3 * fused).backward()
    params = (users, items, bias)
    assert all(p.grad.is_sparse for p in params)
    sparse_grads = [p.grad.to_dense() for p in params]
    users.grad = items.grad = bias.grad = None
    ue, ie, je, bi, bj = users[u], items[i], items[j], bias[i, None], bias[j, None]
    pos, neg = (ue * ie).sum(1) + bi[:, 0], (ue * je).sum(1) + bj[:, 0]
    reference = BPRLoss()(pos, neg) + reg / 2 * EmbLoss()(ue, ie, je, bi, bj)
    (3 * reference).backward()
    assert torch.allclose(fused, reference)
    for sparse, param in zip(sparse_grads, params, strict=True):
        assert torch.allclose(sparse, param.grad)


def test_sparse_sgd_adds_repeated_rows_like_dense_sgd():
    weight = torch.nn.Parameter(torch.ones(4, 2))
    rows = torch.tensor([[1, 1, 3]])
    values = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    expected = torch.ones(4, 2)
    expected.index_add_(0, rows[0], values, alpha=-0.5)
    weight.grad = torch.sparse_coo_tensor(rows, values.clone(), (4, 2), check_invariants=True)
    SparseSGD([weight], lr=0.5).step()
    assert torch.equal(weight.detach(), expected)



def _sparse_grad(rows: list[int], values: torch.Tensor, rows_total: int) -> torch.Tensor:
    shape = (rows_total, *values.shape[1:])
    return torch.sparse_coo_tensor(torch.tensor([rows]), values, shape, check_invariants=True)


ROW_BATCHES = ([1, 4, 1, 0], [5, 5, 5], [2, 4, 0, 1, 4])


@pytest.mark.parametrize("coalesced", [False, True])
def test_row_adam_matches_torch_sparse_adam(coalesced):
    torch.manual_seed(0)
    start = torch.randn(6, 3, dtype=torch.float64)
    ours, reference = (torch.nn.Parameter(start.clone()) for _ in range(2))
    row_adam = SparseRowOptimizer([ours], lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    sparse_adam = torch.optim.SparseAdam([reference], lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    for rows in ROW_BATCHES:
        grad = _sparse_grad(rows, torch.randn(len(rows), 3, dtype=torch.float64), 6)
        ours.grad = grad.coalesce() if coalesced else grad
        reference.grad = grad.clone()
        row_adam.step()
        sparse_adam.step()
        assert torch.allclose(ours, reference)
    assert not torch.equal(ours.detach(), start)  # it moved
    assert not torch.any(row_adam.state[ours]["slots"])  # the scratch map is left clean


def test_row_adagrad_accumulates_each_occurrence_then_steps():
    torch.manual_seed(1)
    table = torch.nn.Parameter(torch.randn(6, 3, dtype=torch.float64))
    bias = torch.nn.Parameter(torch.randn(6, dtype=torch.float64))
    expected_table, expected_bias = table.detach().clone(), bias.detach().clone()
    sums_table, sums_bias = torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    optimizer = SparseRowOptimizer([table, bias], lr=0.5, rule="adagrad", eps=1e-9)
    for rows in ROW_BATCHES:
        values = torch.randn(len(rows), 3, dtype=torch.float64)
        table.grad = _sparse_grad(rows, values.clone(), 6)
        bias.grad = _sparse_grad(rows, values[:, 0].clone(), 6)
        optimizer.step()
        for row, value in zip(rows, values, strict=True):
            sums_table[row] += (value**2).mean()
            sums_bias[row] += value[0] ** 2
        for row, value in zip(rows, values, strict=True):
            expected_table[row] -= 0.5 * value / (sums_table[row].sqrt() + 1e-9)
            expected_bias[row] -= 0.5 * value[0] / (sums_bias[row].sqrt() + 1e-9)
        assert torch.allclose(table, expected_table)
        assert torch.allclose(bias, expected_bias)


def test_row_optimizer_refuses_dense_gradients_and_bad_settings():
    weight = torch.nn.Parameter(torch.ones(3, 2))
    weight.grad = torch.ones(3, 2)
    with pytest.raises(RuntimeError, match="sparse gradients"):
        SparseRowOptimizer([weight]).step()
    with pytest.raises(ConfigError, match="lr"):
        SparseRowOptimizer([weight], lr=0.0)
    with pytest.raises(ConfigError, match="betas"):
        SparseRowOptimizer([weight], betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="rule"):
        SparseRowOptimizer([{"params": [weight], "rule": "rmsprop"}])


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"embedding_size": 0}, "embedding_size"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"item_learning_rate": 0.0}, "item_learning_rate"),
        ({"reg_weight": -1.0}, "reg_weight"),
        ({"weight_decay": 0.01}, "weight_decay"),
        ({"embedding_size": "big"}, "embedding_size"),
        ({"optimizer": "rmsprop"}, "optimizer"),
    ],
)
def test_bad_params_are_config_errors(toy, params, name):
    with pytest.raises(ConfigError, match=name):
        BPR(params, toy.info())


def test_padding_row_is_zero_and_never_scored(toy):
    model = BPR({}, toy.info())
    assert torch.count_nonzero(model.item_embedding.weight[toy.n_items]) == 0
    assert model.predict(torch.arange(3)).shape == (3, toy.n_items)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"optimizer": "adam", "learning_rate": 0.01},
        {"optimizer": "sgd", "learning_rate": 0.1, "reg_weight": 0.01, "init_std": 0.1},
    ],
)
def test_beats_chance_and_stops_early_on_the_validation_metric(toy, params):
    model = BPR({"epochs": 60, "batch_size": 64, **params}, toy.info(), seed=7)
    history = Trainer(
        model, toy, Evaluator(metrics=["nDCG"], top_k=[10]), patience=3, progress=False
    ).fit()
    assert history.monitor == "nDCG@10"
    assert history.best_epoch is not None and history.epochs_run <= 60
    assert ndcg(model, toy) > 2 * chance(toy)


def test_deterministic_under_seed(toy):
    first = fit(BPR, {"epochs": 3, "batch_size": 64}, toy).predict(torch.arange(5))
    second = fit(BPR, {"epochs": 3, "batch_size": 64}, toy).predict(torch.arange(5))
    assert torch.equal(first, second)


@pytest.mark.parametrize(("name", "params", "kind", "rule"), [
    ("Adam", {"betas": [0.8, 0.99]}, "SparseRowOptimizer", "adam"),
    ("Adagrad", {}, "SparseRowOptimizer", "adagrad"),
    ("SGD", {}, "SparseSGD", None),
])
def test_a_configured_optimizer_is_honoured_as_warprec_means_it(name, params, kind, rule):
    model = BPR({"learning_rate": 0.02}, {"n_users": 4, "n_items": 5})
    model.optimizer_config = {"name": name, "params": params}
    optimizer = model.configure_optimizer()
    assert type(optimizer).__name__ == kind
    # One group over every parameter, at learning_rate: the optimizer a WarpRec config
    # names, not BPR's own mix of row-wise Adagrad and Adam.
    assert len(optimizer.param_groups) == 1
    assert optimizer.param_groups[0]["lr"] == 0.02
    assert optimizer.param_groups[0].get("rule") == rule
    if params:
        assert optimizer.param_groups[0]["betas"] == (0.8, 0.99)


def test_config_naming_an_optimizer_trains_bpr_with_it(tmp_path):
    from warprec import run_experiment

    config = {"reader": {"dataset": "synthetic", "dataset_params": {
                  "n_users": 40, "n_items": 30, "n_interactions": 400}},
              "models": {"BPR": {"epochs": 2, "batch_size": 64,
                                 "optimization": {"optimizer": {"name": "adam"}}}},
              "evaluation": {"top_k": [5], "metrics": ["nDCG"]}}
    entry = run_experiment(config, tmp_path / "run", quiet=True)["BPR"]
    assert entry["status"] == "ok"
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "name: Adam" in saved  # the canonical name, as run
