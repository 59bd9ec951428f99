"""The glue between BPR and its compiled CPU kernel (:mod:`._bpr_kernel`, numba).

- :func:`load_kernel` imports the kernel (a :class:`ConfigError` naming the extra
  without numba) and starts numba's thread pool once;
- :func:`kernel_runs` / :class:`KernelRuns`: the kernel's data loader (the training
  triples of an epoch, drawn by compiled code);
- :class:`KernelStep` runs the kernel over a run of triples inside ``train_step`` and
  gives the trainer an ordinary differentiable loss; :class:`KernelApplied` is the
  matching no-op optimizer and :func:`kernel_state` the kernel's per-row state.

Importable without numba: only :func:`load_kernel` imports the kernel.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.errors import ConfigError, DataError

__all__ = [
    "EXTRA_HINT",
    "KERNEL_ITEM_LEARNING_RATE",
    "KernelApplied",
    "KernelRuns",
    "KernelStep",
    "kernel_runs",
    "kernel_state",
    "load_kernel",
    "numba_installed",
]

# item_learning_rate of the kernel when unset (see BPR's hyperparameter).
KERNEL_ITEM_LEARNING_RATE = 0.02
# Samples per kernel call (at ~5M samples/s per thread, tens of milliseconds: the
# trainer's per-step work stays a few percent, Ctrl-C is still seen within a second).
_KERNEL_RUN = 1 << 17


def kernel_runs(interactions: Interactions, n_items: int, shuffle: bool = True,
                seed: int = 42) -> KernelRuns:
    """The training triples of ``interactions``, drawn by the kernel: a fresh shuffle per
    epoch and one exact uniform negative per interaction (:class:`KernelRuns`)."""
    matrix = interactions.get_sparse().tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    degree = np.diff(matrix.indptr)
    if (degree >= n_items).any():
        user = int(np.flatnonzero(degree >= n_items)[0])
        raise DataError(
            f"user index {user} interacted with all {n_items} items: no negative "
            "item can be sampled for it"
        )
    # int32 where it fits: half the cache lines for the negatives' searches (their
    # cost is those misses).
    index = np.int32 if matrix.nnz < 2**31 else np.int64
    csr = (matrix.indptr.astype(index), matrix.indices.astype(index))
    return KernelRuns(interactions.users, interactions.items, csr, n_items, shuffle, seed)


class KernelRuns:
    """The compiled kernel's data loader: each iteration is an epoch of training triples
    ``(user, pos_item, neg_item)`` (int64 tensors) in runs of :data:`_KERNEL_RUN`.

    The kernel draws them (:func:`warprec_models_neural._bpr_kernel.shuffled` and
    ``draw_run``, compiled and parallel): a fresh uniform shuffle of the interactions
    per epoch and, per interaction, an exact uniform negative among the items its user
    has not interacted with, both from ``SeedSequence([seed, epoch])``, so one seed
    gives the same epochs whatever the thread count. The same kind of sampling as the
    core's ``get_contrastive_dataloader``, at a fraction of its cost (its gathers,
    shuffle and per-batch sampler were a third of an epoch next to the kernel).
    """

    def __init__(self, users: np.ndarray, items: np.ndarray,
                 csr: tuple[np.ndarray, np.ndarray], n_items: int, shuffle: bool = True,
                 seed: int = 42) -> None:
        self.users, self.items, self.csr, self.n_items = users, items, csr, n_items
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def __len__(self) -> int:
        return -(-len(self.users) // _KERNEL_RUN)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        kernel = load_kernel()
        order_seed, draw_seed = np.random.SeedSequence([self.seed, self.epoch]).generate_state(
            2, dtype=np.uint64)
        self.epoch += 1
        n = len(self.users)
        order = kernel.shuffled(n, order_seed) if self.shuffle else np.arange(n)
        for start in range(0, n, _KERNEL_RUN):
            run = order[start : start + _KERNEL_RUN]
            triple = [np.empty(run.size, dtype=np.int64) for _ in range(3)]
            kernel.draw_run(run, self.users, self.items, *self.csr, self.n_items,
                            draw_seed, start, *triple)
            yield tuple(torch.from_numpy(part) for part in triple)


EXTRA_HINT = "pip install 'warprec-models-neural[compiled]'"


def numba_installed() -> bool:
    """Whether numba can be imported (found without importing it: plan-time cheap)."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # a broken or blocked numba
        return False


def load_kernel() -> Any:
    """The compiled kernel module; a :class:`ConfigError` naming the extra when numba is
    not installed."""
    try:
        from warprec_models_neural import _bpr_kernel
    except ImportError as exc:
        raise ConfigError(
            f"BPR: kernel='compiled' needs numba ({exc}); install the extra: {EXTRA_HINT}"
        ) from None
    if not _POOL_STARTED:
        # numba starts its thread pool once per process; with its OpenMP layer that
        # resets the OpenMP thread count torch shares: start it now and put the run's
        # limit (torch.get_num_threads, as thread_limit set it) back.
        wanted = torch.get_num_threads()
        _bpr_kernel.set_threads(wanted)
        torch.set_num_threads(wanted)
        _POOL_STARTED.append(True)
    return _bpr_kernel


_POOL_STARTED: list[bool] = []


class KernelApplied(torch.optim.Optimizer):
    """The optimizer of BPR's compiled kernel: the kernel applies its per-sample updates
    inside ``train_step``, so ``step`` changes nothing (the item-bias gradient that the
    loss back-propagates is left unused)."""

    def __init__(self, params: Any) -> None:
        super().__init__(params, {})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Tensor | None:  # type: ignore[override]
        """Nothing to apply; evaluates ``closure`` when given."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()


def kernel_state(model: Any) -> dict[str, Any]:
    """The kernel's rule and per-table steps (users, items, item biases), and each
    table's ``(acc, moments, steps)`` state, allocated only where the rule reads it."""
    kernel = load_kernel()
    rule = {"sgd": kernel.SGD, "adagrad": kernel.ADAGRAD, "adam": kernel.ADAM}[model.optimizer]
    rates = [model.learning_rate, model.learning_rate, model.learning_rate]
    if model.optimizer == "adagrad":
        rates[1] = model.item_learning_rate or KERNEL_ITEM_LEARNING_RATE
    shapes = ((model.n_users, model.embedding_size), (model.n_items + 1, model.embedding_size),
              (model.n_items + 1, 1))
    adagrad, adam = rule == kernel.ADAGRAD, rule == kernel.ADAM
    state = tuple(
        (np.zeros(rows if adagrad else 0, dtype=np.float32),
         np.zeros((rows if adam else 0, 2, width), dtype=np.float32),
         np.zeros(rows if adam else 0, dtype=np.int64))
        for rows, width in shapes)
    return {"rule": rule, "rates": np.array(rates, dtype=np.float32), "tables": state}


class KernelStep(torch.autograd.Function):
    """Runs the compiled kernel over a batch (updating the model's tables in place) and
    returns the batch's mean loss; its backward gives the item biases the gradient of
    that loss (``-c`` on the positives, ``+c`` on the negatives, over the batch size),
    so the loss is an ordinary differentiable scalar for the trainer."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, item_bias: Tensor, model: Any, users: Tensor, pos_items: Tensor,
        neg_items: Tensor,
    ) -> Tensor:
        kernel = load_kernel()
        users_np, pos_np, neg_np = users.numpy(), pos_items.numpy(), neg_items.numpy()
        if model._kernel_state is None:
            model._kernel_state = kernel_state(model)
        state = model._kernel_state
        threads = kernel.set_threads(torch.get_num_threads())
        chunks = max(1, min(threads, users_np.size))
        coefficients = np.empty(users_np.size, dtype=np.float32)
        losses = np.zeros(chunks, dtype=np.float64)
        user_state, item_state, bias_state = state["tables"]
        kernel.bpr_updates(
            model.user_embedding.weight.detach().numpy(),
            model.item_embedding.weight.detach().numpy(),
            item_bias.detach().numpy().reshape(-1, 1),
            users_np, pos_np, neg_np,
            state["rule"], state["rates"], np.float32(model.reg_weight),
            user_state, item_state, bias_state,
            chunks, coefficients, losses,
        )
        batch = max(users_np.size, 1)
        ctx.batch = batch
        ctx.shape = item_bias.shape
        ctx.save_for_backward(pos_items, neg_items, torch.from_numpy(coefficients))
        return torch.tensor(losses.sum() / batch, dtype=item_bias.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        pos_items, neg_items, coefficients = ctx.saved_tensors
        # Dense, by two single-threaded bincounts: torch's multi-threaded cat and sparse
        # tensor were a quarter of a fit whenever the cores were shared.
        coef, rows = coefficients.numpy(), ctx.shape[0]
        grad = np.bincount(neg_items.numpy(), coef, rows) - np.bincount(pos_items.numpy(),
                                                                         coef, rows)
        scale = grad_output.to(torch.float64) / ctx.batch
        return torch.from_numpy(grad).mul_(scale).to(grad_output.dtype), None, None, None, None
