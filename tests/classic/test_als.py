"""iALS and iALS2008: the compiled conjugate-gradient half-sweep against exact solves and
against the numpy implementation it replaced, on one thread and on two."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from als_reference import reference_fit
from classic_helpers import info_of, interactions_of, random_ratings
from warprec_models_classic.als import cg_half_sweep, iALS, iALS2008


def exact_half_sweep(fixed, weights, targets, w0, lam):
    """Row by row ``np.linalg.solve`` of the systems cg_half_sweep approximates."""
    f = fixed.shape[1]
    out = np.zeros((weights.shape[0], f))
    for u in range(weights.shape[0]):
        row = weights[u]
        F_u = fixed[row.indices]
        A = w0 * fixed.T @ fixed + (F_u.T * row.data) @ F_u + lam[u] * np.eye(f)
        out[u] = np.linalg.solve(A, F_u.T @ targets[u].data)
    return out


def test_cg_half_sweep_reaches_the_exact_solution():
    rng = np.random.default_rng(0)
    weights = random_ratings(30, 25, 0.2, seed=1).astype(np.float64)
    keep = np.ones((30, 1))
    keep[3] = 0.0  # a row without interactions
    weights = sp.csr_matrix(weights.multiply(keep))
    weights.eliminate_zeros()
    fixed = rng.normal(size=(25, 6))
    targets = weights.copy()
    targets.data = rng.uniform(1.0, 3.0, targets.nnz)  # targets unlike the weights
    lam = rng.uniform(0.5, 2.0, 30)
    target = rng.normal(size=(30, 6))
    cg_half_sweep(fixed, target, weights, targets, 0.3, lam, steps=6)  # f steps: exact
    np.testing.assert_allclose(target, exact_half_sweep(fixed, weights, targets, 0.3, lam),
                               rtol=1e-6, atol=1e-8)
    assert not target[3].any()


def test_few_cg_steps_already_lower_the_residual():
    rng = np.random.default_rng(2)
    weights = random_ratings(40, 30, 0.2, seed=3).astype(np.float64)
    fixed = rng.normal(size=(30, 8))
    lam = np.ones(40)
    exact = exact_half_sweep(fixed, weights, weights, 0.5, lam)
    start = rng.normal(size=(40, 8))
    errors = []
    for steps in (1, 2, 3):
        target = start.copy()
        cg_half_sweep(fixed, target, weights, weights, 0.5, lam, steps)
        errors.append(np.linalg.norm(target - exact))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.3 * np.linalg.norm(start - exact)


def test_ials_learns_the_clusters(small_dataset):
    model = iALS({"factors": 16, "n_iterations": 8}, small_dataset.info(), small_dataset.train)
    assert model.user_factors.shape == (small_dataset.n_users, 16)
    assert model.item_factors.dtype == torch.float32
    users = torch.arange(small_dataset.n_users)
    scores = model.predict(users)
    # Items of a user's training rows score higher than the others on average.
    seen = torch.from_numpy(small_dataset.train.get_sparse().toarray() > 0)
    assert scores[seen].mean() > scores[~seen].mean() + 0.1


def test_ials_minimises_its_objective_better_than_the_start():
    X = random_ratings(60, 40, 0.15, seed=4)
    X.data[:] = 1.0
    info, interactions = info_of(X), interactions_of(X)

    def loss(model, alpha0, reg, nu):
        W, H = model.user_factors.double().numpy(), model.item_factors.double().numpy()
        S = W @ H.T
        dense = X.toarray()
        observed = ((S - 1) ** 2 * (dense > 0)).sum() + alpha0 * (S**2).sum()
        users = reg * (np.diff(X.indptr) + alpha0 * 40) ** nu
        items = reg * (np.diff(X.tocsc().indptr) + alpha0 * 60) ** nu
        return observed + (users * (W**2).sum(1)).sum() + (items * (H**2).sum(1)).sum()

    params = {"factors": 8, "alpha0": 0.2, "reg": 0.01, "nu": 1.0}
    one = iALS({**params, "n_iterations": 1}, info, interactions)
    many = iALS({**params, "n_iterations": 10}, info, interactions)
    assert loss(many, 0.2, 0.01, 1.0) < loss(one, 0.2, 0.01, 1.0)


@pytest.mark.parametrize("confidence_type", ["linear", "log"])
def test_ials2008_weighs_larger_values_more(confidence_type):
    X = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0, 0]], dtype=np.float32))
    model = iALS2008({"factors": 2, "confidence_type": confidence_type}, info_of(X),
                     interactions_of(X, explicit=True))
    weights, _, _ = model._systems(X)[0], None, None
    assert weights == 1.0
    _, extra, confidence = model._systems(sp.csr_matrix(np.array([[4.0, 0, 0]],
                                                                 dtype=np.float32)))
    expected = 10.0 * (4.0 if confidence_type == "linear" else np.log1p(4.0))
    np.testing.assert_allclose(extra.data, [expected], rtol=1e-6)
    np.testing.assert_allclose(confidence.data, [expected + 1], rtol=1e-6)
    assert not model.user_factors[1].any()  # a user without interactions scores 0


@pytest.fixture
def threads():
    """Sets torch's thread count (which the models take as the run's) and restores it."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize(("model_class", "params"), [
    (iALS, {"alpha0": 0.3, "reg": 0.02, "nu": 0.5}),
    (iALS2008, {"alpha": 5.0, "reg": 2.0, "confidence_type": "log"}),
])
def test_compiled_sweeps_learn_the_numpy_implementations_factors(threads, n_threads,
                                                                 model_class, params):
    keep = np.ones((300, 1), dtype=np.float32)
    keep[7] = 0.0  # a user without interactions
    X = sp.csr_matrix(random_ratings(300, 120, 0.05, seed=5).multiply(keep))
    X.eliminate_zeros()
    threads(n_threads)
    model = model_class({**params, "factors": 16, "n_iterations": 3, "cg_steps": 3},
                        info_of(X), interactions_of(X, explicit=True))
    users, items = reference_fit(model, sp.csr_matrix(X, dtype=np.float32))
    np.testing.assert_allclose(model.user_factors.numpy(), users, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(model.item_factors.numpy(), items, rtol=1e-4, atol=2e-5)
    assert torch.get_num_threads() == n_threads  # numba's pool start left torch's count


def test_the_kernel_runs_on_the_runs_threads(threads, monkeypatch):
    from warprec_models_classic import _als_kernel

    applied = []
    set_threads = _als_kernel.set_threads
    monkeypatch.setattr("warprec_models_classic.als.set_threads",
                        lambda n: applied.append(set_threads(n)) or applied[-1])
    X = random_ratings(20, 10, 0.3, seed=6)
    for n in (1, 2):
        threads(n)
        iALS({"factors": 4, "n_iterations": 1}, info_of(X), interactions_of(X))
    assert applied == [1, min(2, _als_kernel.numba.config.NUMBA_NUM_THREADS)]
