"""BPR's compiled CPU kernel (``kernel: compiled``, numba): the same tables as a plain
per-sample reference loop, its sampling (shuffles, exact uniform negatives), threads,
errors, conformance."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from neural_helpers import chance, fit, ndcg
from scipy import stats
from warprec.errors import ConfigError
from warprec.evaluation import Evaluator
from warprec.recommenders.trainer import Trainer
from warprec.testing import ModelConformance
from warprec.utils.threads import thread_limit

pytest.importorskip("numba")

import warprec_models_neural
from warprec_models_neural import bpr as bpr_module
from warprec_models_neural.bpr import BPR, KernelApplied, KernelRuns

# The rates and penalty these tests were written for (which the reference loop's rates
# below spell out): pinned, so default changes do not move them.
COMPILED = {"kernel": "compiled", "batch_size": 64, "learning_rate": 0.05,
            "item_learning_rate": 0.05, "reg_weight": 0.0}


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: the kernel is deterministic (and the reference comparable)."""
    with thread_limit(1):
        yield


def _reference_steps(model: BPR, batches: list, rules: tuple[str, str, str], rates, reg):
    """Plain Python/numpy per-sample BPR updates, in the kernel's order, on copies of
    the model's tables; returns the tables and each batch's mean loss."""
    tables = [
        model.user_embedding.weight.detach().numpy().astype(np.float64),
        model.item_embedding.weight.detach().numpy().astype(np.float64),
        model.item_bias.detach().numpy().astype(np.float64).reshape(-1, 1),
    ]
    acc = [np.zeros(len(t)) for t in tables]
    first = [np.zeros_like(t) for t in tables]
    second = [np.zeros_like(t) for t in tables]
    steps = [np.zeros(len(t), dtype=int) for t in tables]

    def step(which: int, row: int, grad: np.ndarray) -> None:
        table, rule, lr = tables[which], rules[which], rates[which]
        if rule == "sgd":
            table[row] -= lr * grad
        elif rule == "adagrad":
            acc[which][row] += np.mean(grad**2)
            table[row] -= lr * grad / (math.sqrt(acc[which][row]) + 1e-8)
        else:
            steps[which][row] += 1
            t = steps[which][row]
            first[which][row] = 0.9 * first[which][row] + 0.1 * grad
            second[which][row] = 0.999 * second[which][row] + 0.001 * grad**2
            size = lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            table[row] -= size * first[which][row] / (np.sqrt(second[which][row]) + 1e-8)

    users_t, items_t, bias_t = tables
    losses = []
    for users, positives, negatives in batches:
        total = 0.0
        for u, i, j in zip(users.tolist(), positives.tolist(), negatives.tolist(), strict=True):
            uu, vi, vj = users_t[u].copy(), items_t[i].copy(), items_t[j].copy()
            bi, bj = bias_t[i, 0], bias_t[j, 0]
            x = uu @ (vi - vj) + bi - bj
            c = 1 / (1 + math.exp(x))
            norms = uu @ uu + vi @ vi + vj @ vj + bi**2 + bj**2
            total += math.log1p(math.exp(-x)) + 0.5 * reg * norms
            step(0, u, -c * (vi - vj) + reg * uu)
            step(1, i, -c * uu + reg * vi)
            step(1, j, c * uu + reg * vj)
            step(2, i, np.array([-c + reg * bi]))
            step(2, j, np.array([c + reg * bj]))
        losses.append(total / len(users))
    return tables, losses


@pytest.mark.parametrize(
    ("params", "rules", "rates"),
    [
        ({"optimizer": "sgd", "learning_rate": 0.1, "reg_weight": 0.01, "init_std": 0.1},
         ("sgd", "sgd", "sgd"), (0.1, 0.1, 0.1)),
        ({"optimizer": "adagrad", "reg_weight": 0.02, "init_std": 0.1},
         ("adagrad", "adagrad", "adagrad"), (0.05, 0.05, 0.05)),
        ({"optimizer": "adam", "learning_rate": 0.01, "init_std": 0.1},
         ("adam", "adam", "adam"), (0.01, 0.01, 0.01)),
    ],
    ids=["sgd", "adagrad", "adam"],
)
def test_kernel_matches_a_plain_reference_loop(toy, params, rules, rates):
    model = BPR({**COMPILED, **params}, toy.info(), seed=3)
    users, positives, negatives = (
        a.numpy() for a in next(iter(model.get_dataloader(toy.train))))
    # Three kernel calls of 16 samples each.
    batches = [(users[s], positives[s], negatives[s])
               for s in (slice(0, 16), slice(16, 32), slice(32, 48))]
    expected, expected_losses = _reference_steps(model, batches, rules, rates,
                                                 params.get("reg_weight", 0.0))
    model.configure_optimizer()
    losses = [float(model.train_step(tuple(torch.from_numpy(a) for a in batch)).detach())
              for batch in batches]
    got = [model.user_embedding.weight, model.item_embedding.weight, model.item_bias]
    for table, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(table.detach().numpy().reshape(reference.shape), reference,
                                   rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-5)
    # Rows no sample touched (the padding item at least) keep their initial values.
    assert float(model.item_embedding.weight[toy.n_items].abs().sum()) == 0.0


def _epoch(loader) -> tuple[np.ndarray, ...]:
    return tuple(torch.cat(parts).numpy() for parts in zip(*loader, strict=True))


def test_each_epoch_is_a_fresh_shuffle_of_the_interactions(toy):
    model = BPR(COMPILED, toy.info(), seed=5)
    loader = model.get_dataloader(toy.train)
    assert isinstance(loader, KernelRuns)
    assert len(loader) == 1  # the kernel takes the epoch in one run here
    training = sorted(zip(toy.train.users.tolist(), toy.train.items.tolist(), strict=True))
    first, second = _epoch(loader), _epoch(loader)
    for users, positives, _ in (first, second):
        assert sorted(zip(users.tolist(), positives.tolist(), strict=True)) == training
    assert not np.array_equal(first[0], second[0])  # a new order each epoch
    again = BPR(COMPILED, toy.info(), seed=5).get_dataloader(toy.train)
    for ours, theirs in zip(first, _epoch(again), strict=True):  # the seed fixes them
        np.testing.assert_array_equal(ours, theirs)
    with thread_limit(2):  # counter-based draws: the same whatever the thread count
        for ours, theirs in zip(first, _epoch(BPR(COMPILED, toy.info(), seed=5)
                                              .get_dataloader(toy.train)), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_negatives_are_exact_uniform_draws_among_the_unseen_items(toy):
    seen = toy.train.get_sparse().toarray() > 0
    loader = BPR(COMPILED, toy.info(), seed=9).get_dataloader(toy.train)
    counts = np.zeros((toy.n_users, toy.n_items))
    for _ in range(300):
        users, _, negatives = _epoch(loader)
        assert not seen[users, negatives].any()  # never an item the user interacted with
        np.add.at(counts, (users, negatives), 1)
    # Per user, the counts over its unseen items are uniform (chi-square).
    unseen = ~seen
    statistic, dof = 0.0, 0
    for user in range(toy.n_users):
        observed = counts[user, unseen[user]]
        expected = observed.sum() / observed.size
        statistic += float(((observed - expected) ** 2 / expected).sum())
        dof += observed.size - 1
    assert stats.chi2.sf(statistic, dof) > 1e-3


def test_the_rank_search_maps_draws_onto_every_unseen_item_once():
    kernel = bpr_module.load_kernel()
    n_items = 12
    rows = [[], [0], [11], [0, 1, 2, 5, 6, 11], list(range(1, 12))]
    indptr = np.cumsum([0] + [len(row) for row in rows]).astype(np.int32)
    seen = np.array([item for row in rows for item in row], dtype=np.int32)
    for user, row in enumerate(rows):
        free = n_items - len(row)
        # Uniform numbers at each rank's centre: each unseen item exactly once, in order.
        drawn = [kernel._unseen(indptr, seen, user, (rank + 0.5) / free, n_items)
                 for rank in range(free)]
        assert drawn == sorted(set(range(n_items)) - set(row))


def test_one_thread_is_deterministic_and_learns(toy):
    first = fit(BPR, {**COMPILED, "epochs": 20, "init_std": 0.1}, toy)
    second = fit(BPR, {**COMPILED, "epochs": 20, "init_std": 0.1}, toy)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # Well above an untrained model's ~1x chance (the toy's BPR reaches 1.6-2.1x).
    assert ndcg(first, toy) > 1.5 * chance(toy)


def test_two_threads_learn(toy):
    with thread_limit(2):
        model = fit(BPR, {**COMPILED, "epochs": 20, "init_std": 0.1}, toy)
    assert ndcg(model, toy) > 1.5 * chance(toy)


def test_numba_threads_follow_torch_threads(toy):
    import numba

    model = BPR(COMPILED, toy.info())
    batch = next(iter(model.get_dataloader(toy.train)))
    model.configure_optimizer()
    pool = numba.config.NUMBA_NUM_THREADS
    for threads in (2, 1):
        with thread_limit(threads):
            model.train_step(batch)
            assert numba.get_num_threads() == min(threads, pool)


def test_missing_numba_is_a_config_error_naming_the_extra(toy, monkeypatch):
    monkeypatch.delitem(sys.modules, "warprec_models_neural._bpr_kernel", raising=False)
    monkeypatch.delattr(warprec_models_neural, "_bpr_kernel", raising=False)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'warprec-models-neural\[compiled\]'"):
        BPR({"kernel": "compiled"}, toy.info())
    # The torch path needs no numba.
    BPR({"kernel": "torch"}, toy.info())


def test_the_optimizer_is_a_no_op_and_the_loss_back_propagates(toy):
    model = BPR(COMPILED, toy.info())
    optimizer = model.configure_optimizer()
    assert isinstance(optimizer, KernelApplied)
    batch = next(iter(model.get_dataloader(toy.train)))
    before = model.user_embedding.weight.detach().clone()
    loss = model.train_step(batch)
    assert loss.dim() == 0 and loss.requires_grad
    changed = model.user_embedding.weight.detach().clone()
    assert not torch.equal(changed, before)  # train_step applied the updates
    loss.backward()
    assert model.item_bias.grad is not None and float(model.item_bias.grad.abs().sum()) > 0
    optimizer.step()
    assert torch.equal(model.user_embedding.weight.detach(), changed)


def test_the_item_bias_gradient_is_the_batch_mean_of_the_coefficients(toy):
    # Two triples sharing their positive item: d loss / d b_i sums -c over the
    # positives and +c over the negatives, divided by the batch size, c = sigmoid(-x).
    model = BPR({**COMPILED, "optimizer": "sgd", "learning_rate": 1e-9}, toy.info(), seed=3)
    model.configure_optimizer()
    with torch.no_grad():
        model.item_bias.copy_(torch.linspace(-0.5, 0.5, model.item_bias.numel()))
    users, pos, neg = torch.tensor([0, 1]), torch.tensor([2, 2]), torch.tensor([3, 4])
    user_e = model.user_embedding.weight.detach()
    item_e, bias = model.item_embedding.weight.detach(), model.item_bias.detach()
    x = (user_e[users] * (item_e[pos] - item_e[neg])).sum(1) + bias[pos] - bias[neg]
    c = torch.sigmoid(-x)  # a vanishing step: the second sample reads the same values
    with thread_limit(1):
        loss = model.train_step((users, pos, neg))
    loss.backward()
    expected = torch.zeros_like(bias)
    expected.index_add_(0, pos, -c / 2).index_add_(0, neg, c / 2)
    torch.testing.assert_close(model.item_bias.grad.to_dense(), expected, rtol=1e-5,
                               atol=1e-7)


def test_early_stopping_and_validation_run_through_the_trainer(toy):
    model = BPR({**COMPILED, "epochs": 30, "init_std": 0.1}, toy.info(), seed=7)
    evaluator = Evaluator(metrics=["nDCG"], top_k=[10])
    history = Trainer(model, toy, evaluator, patience=2, progress=False).fit()
    assert history.validation and history.best_epoch is not None
    assert history.epochs_run <= 30


def test_torch_kernel_needs_no_dataloader_change(toy):
    model = BPR({"batch_size": 64}, toy.info())
    negatives = next(iter(model.get_dataloader(toy.train)))[2]
    assert not negatives.is_floating_point()
    assert not model._uses_kernel()


def test_bpr_module_exports_load_kernel():
    assert bpr_module.load_kernel().__name__.endswith("_bpr_kernel")


class TestCompiledBPRConformance(ModelConformance):
    """The conformance kit on the compiled kernel (one thread: see the fixture above)."""

    model_class = BPR
    params = [
        {"epochs": 5, "kernel": "compiled", "batch_size": 64},
        {"epochs": 5, "kernel": "compiled", "batch_size": 64, "optimizer": "sgd",
         "learning_rate": 0.1, "reg_weight": 0.01, "init_std": 0.1},
    ]


def test_an_unset_item_learning_rate_is_each_kernels_own(toy):
    compiled = BPR({"kernel": "compiled"}, toy.info())
    compiled.configure_optimizer()
    assert compiled._kernel_state["rates"].tolist() == pytest.approx([0.1, 0.02, 0.1])
    torch_path = BPR({}, toy.info()).configure_optimizer()
    assert [group["lr"] for group in torch_path.param_groups] == [0.1, 0.005]
    given = BPR({"kernel": "compiled", "item_learning_rate": 0.07}, toy.info())
    given.configure_optimizer()
    assert given._kernel_state["rates"][1] == pytest.approx(0.07)
