"""BPR (Rendle et al., UAI 2009): matrix factorisation trained with the Bayesian
Personalised Ranking loss on ``(user, positive item, negative item)`` triples.

The model is the guide's ``MyBPR`` (plus an item bias) made fast. A batch touches only
``3 x batch_size`` embedding rows, so instead of dense gradients and Adam over the whole
tables (which costs O(n_users + n_items) per step), the loss and its gradient are
computed in one fused autograd function that returns *sparse* row gradients, applied by
:class:`SparseRowOptimizer` (default: row-wise Adagrad on the user embeddings and item
biases, Adam on the item embeddings; or Adam on every row) or by :class:`SparseSGD`,
which adds them to the touched rows with ``index_add_``: the per-sample SGD of the
original paper (and of Cornac and implicit) applied a batch at a time, the batch-mean
gradient scaled by the batch size so that ``learning_rate`` is the step per sample
whatever ``batch_size`` is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import ConfigError, DataError
from warprec.recommenders.base_recommender import IterativeRecommender

__all__ = [
    "BPR",
    "KernelApplied",
    "KernelRuns",
    "SparseRowOptimizer",
    "SparseSGD",
    "bpr_loss_sparse",
    "load_kernel",
]


class _FusedBPR(torch.autograd.Function):
    """``mean_b softplus(s_j - s_i) + reg / 2 (|u|^2 + |i|^2 + |j|^2 + b_i^2 + b_j^2)``
    with ``s_i = u.i + b_i``, and sparse row gradients for the user and item tables and
    the item biases."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        user_weight: Tensor,
        item_weight: Tensor,
        item_bias: Tensor,
        users: Tensor,
        pos_items: Tensor,
        neg_items: Tensor,
        reg_weight: float,
    ) -> Tensor:
        items = torch.cat([pos_items, neg_items])
        user_e = user_weight.index_select(0, users)
        item_e = item_weight.index_select(0, items)
        bias = item_bias.index_select(0, items)
        pos_e, neg_e = item_e.chunk(2)
        pos_b, neg_b = bias.chunk(2)
        diff = pos_e - neg_e
        margin = torch.linalg.vecdot(user_e, diff) + (pos_b - neg_b)
        loss = nn.functional.softplus(-margin).mean()
        if reg_weight:
            # Flat dot products: squared norms without a [B, E] temporary.
            squares = _squared_norm(user_e) + _squared_norm(item_e) + _squared_norm(bias)
            loss = loss + 0.5 * reg_weight * squares / users.numel()
        ctx.reg_weight = reg_weight
        ctx.shapes = (user_weight.shape, item_weight.shape, item_bias.shape)
        ctx.save_for_backward(users, items, user_e, item_e, bias, diff, margin)
        return loss

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        if getattr(ctx, "used", False):
            # The saved tensors are reused in place below.
            raise RuntimeError("bpr_loss_sparse: backward can run once (no retain_graph)")
        ctx.used = True
        users, items, user_e, item_e, bias, diff, margin = ctx.saved_tensors
        batch = users.numel()
        # d softplus(-m) / dm = -sigmoid(-m); the mean divides by the batch.
        coef = torch.sigmoid(-margin).mul_(-grad_output / batch)
        bias_grad = torch.cat([coef, -coef])
        user_grad = diff.mul_(coef.unsqueeze(1))
        item_grad = torch.empty_like(item_e)
        torch.mul(user_e, bias_grad[:batch, None], out=item_grad[:batch])
        torch.mul(user_e, bias_grad[batch:, None], out=item_grad[batch:])
        if ctx.reg_weight:
            # In-place fused multiply-adds: no [B, E] temporaries.
            scale = (ctx.reg_weight / batch) * grad_output
            user_grad.addcmul_(user_e, scale)
            item_grad.addcmul_(item_e, scale)
            bias_grad.addcmul_(bias, scale)
        user_shape, item_shape, bias_shape = ctx.shapes
        return (
            _row_gradient(users, user_grad, user_shape),
            _row_gradient(items, item_grad, item_shape),
            _row_gradient(items, bias_grad, bias_shape),
            None,
            None,
            None,
            None,
        )


def _squared_norm(tensor: Tensor) -> Tensor:
    flat = tensor.reshape(-1)
    return torch.dot(flat, flat)


def _row_gradient(rows: Tensor, values: Tensor, shape: torch.Size) -> Tensor:
    # Uncoalesced on purpose: SparseSGD sums repeated rows with index_add_.
    return torch.sparse_coo_tensor(
        rows.unsqueeze(0), values, shape, check_invariants=False, is_coalesced=False
    )


def bpr_loss_sparse(
    user_weight: Tensor,
    item_weight: Tensor,
    item_bias: Tensor,
    users: Tensor,
    pos_items: Tensor,
    neg_items: Tensor,
    reg_weight: float = 0.0,
) -> Tensor:
    """The mean BPR loss plus ``reg_weight / 2`` times the squared norms of the rows (and
    biases) the batch uses, as a scalar whose gradients w.r.t. the two tables and the
    bias vector are sparse COO tensors.

    Equals ``BPRLoss()(pos_scores, neg_scores) + reg_weight / 2 * EmbLoss()(u, i, j, b)``
    with scores ``u.i + b_i``.
    """
    return _FusedBPR.apply(
        user_weight, item_weight, item_bias, users, pos_items, neg_items, reg_weight
    )


class SparseSGD(torch.optim.Optimizer):
    """Plain SGD that applies sparse gradients row by row with ``index_add_``.

    Sparse (COO) gradients are added to the rows they name without coalescing (repeated
    rows add up, as in per-sample SGD); dense gradients are applied as usual.

    Args:
        params: the parameters (or parameter groups) to update.
        lr: the step size.
    """

    def __init__(self, params: Any, lr: float) -> None:
        if lr <= 0:
            raise ConfigError(f"SparseSGD: lr must be > 0, got {lr}")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Tensor | None:  # type: ignore[override]
        """Apply one update; ``closure`` (re-evaluating the loss) is optional."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    # index_add_ with alpha takes a slow path on CPU: scale the values,
                    # in place (the gradient is consumed by this step).
                    values = grad._values().mul_(-group["lr"])
                    param.index_add_(0, grad._indices()[0], values)
                else:
                    param.add_(grad, alpha=-group["lr"])
        return loss



class SparseRowOptimizer(torch.optim.Optimizer):
    """Adaptive steps on the rows that sparse gradients touch, without the sparse-tensor
    coalescing of ``torch.optim.SparseAdam`` (a sort and several sparse tensors per
    step). Each parameter group's ``rule`` picks the update:

    - ``"adam"``: the update of ``torch.optim.SparseAdam`` (moments and parameters
      change only on the touched rows, bias correction by the global step), about
      twice as fast: repeated rows are summed through a reusable per-row slot map (no
      sort) and the two moments live interleaved in one ``[rows, 2, ...]`` table, so a
      step gathers and writes back the touched rows once.
    - ``"adagrad"``: row-wise Adagrad (as for embedding tables in DLRM/FBGEMM): one
      accumulator per row, adding the mean squared gradient of each occurrence of the
      row; every occurrence steps by ``lr / sqrt(accumulator)`` once the batch is
      accumulated. No deduplication and a ``[rows]`` state: about the cost of plain SGD.

    Args:
        params: the parameters (or parameter groups, which may set their own ``rule``,
            ``lr``, ``betas``, ``eps``); their gradients must be sparse COO tensors over
            dimension 0, coalesced or not.
        lr: the step size.
        rule: ``"adam"`` or ``"adagrad"``.
        betas: Adam's decay rates of the first and second moment.
        eps: added to the square root of the second moment (or of the accumulator).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        rule: str = "adam",
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        defaults = {"lr": lr, "rule": rule, "betas": tuple(betas), "eps": eps}
        super().__init__(params, defaults)
        for group in self.param_groups:
            _check_group(group)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Tensor | None:  # type: ignore[override]
        """Apply one update; ``closure`` (re-evaluating the loss) is optional."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            update = _adam_rows if group["rule"] == "adam" else _adagrad_rows
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise RuntimeError(
                        "SparseRowOptimizer needs sparse gradients; use torch.optim.Adam "
                        "for dense ones"
                    )
                update(param, self.state[param], group)
        return loss


def _check_group(group: dict[str, Any]) -> None:
    if group["rule"] not in ("adam", "adagrad"):
        raise ConfigError(
            f"SparseRowOptimizer: rule must be 'adam' or 'adagrad', got {group['rule']!r}"
        )
    if group["lr"] <= 0:
        raise ConfigError(f"SparseRowOptimizer: lr must be > 0, got {group['lr']}")
    if not all(0.0 <= beta < 1.0 for beta in group["betas"]) or group["eps"] < 0:
        raise ConfigError(
            "SparseRowOptimizer: betas must lie in [0, 1) and eps be >= 0, got "
            f"{group['betas']}, {group['eps']}"
        )


def _adam_rows(param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
    if not state:
        state["step"] = 0
        state["moments"] = param.new_zeros((param.shape[0], 2, *param.shape[1:]))
        state["slots"] = torch.zeros(param.shape[0], dtype=torch.long, device=param.device)
    state["step"] += 1
    rows, grad = _summed_rows(param.grad, state["slots"])
    beta1, beta2 = group["betas"]
    moments = state["moments"].index_select(0, rows)
    exp_avg, exp_avg_sq = moments.unbind(1)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    state["moments"].index_copy_(0, rows, moments)
    step = state["step"]
    step_size = group["lr"] * math.sqrt(1 - beta2**step) / (1 - beta1**step)
    # The update reuses the summed gradient's buffer: no new [rows, ...] tensors.
    update = torch.sqrt(exp_avg_sq, out=grad).add_(group["eps"])
    torch.div(exp_avg, update, out=update).mul_(-step_size)
    param.index_add_(0, rows, update)


def _adagrad_rows(param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
    if not state:
        state["sum"] = param.new_zeros(param.shape[0])
    grad = param.grad
    rows, values = grad._indices()[0], grad._values()
    if values.dim() == 1:
        squares = values * values
    else:
        flat = values.reshape(values.shape[0], -1)
        squares = torch.linalg.vecdot(flat, flat).div_(flat.shape[1])
    state["sum"].index_add_(0, rows, squares)
    scale = state["sum"].index_select(0, rows).sqrt_().add_(group["eps"])
    scale.reciprocal_().mul_(-group["lr"])
    # In place: the gradient is consumed by this step.
    values.mul_(scale.view(-1, *([1] * (values.dim() - 1))))
    param.index_add_(0, rows, values)


def _summed_rows(grad: Tensor, slots: Tensor) -> tuple[Tensor, Tensor]:
    """The distinct rows of a sparse gradient (ascending) and their summed values.

    ``slots`` is an all-zero per-row scratch vector, left all-zero: marking the rows and
    reading back the marks finds the distinct ones in O(rows) without sorting the batch.
    """
    rows, values = grad._indices()[0], grad._values()
    if grad.is_coalesced():
        return rows, values.clone()
    slots.index_fill_(0, rows, 1)
    distinct = slots.nonzero().squeeze(1)
    slots.index_copy_(0, distinct, torch.arange(distinct.numel(), device=slots.device))
    position = slots.index_select(0, rows)
    slots.index_fill_(0, distinct, 0)
    summed = values.new_zeros((distinct.numel(), *values.shape[1:]))
    return distinct, summed.index_add_(0, position, values)

class BPR(IterativeRecommender):
    """Bayesian Personalised Ranking matrix factorisation (fast sparse updates).

    Scores are dot products of user and item embeddings plus an item bias; training
    samples one negative per training interaction, uniformly among the items the user
    has not interacted with, afresh each epoch.
    """

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the user and item embeddings."""
    reg_weight: Annotated[float, Ge(0)] = 0.01
    """L2 penalty on the embedding rows and item biases each sample touches (as Cornac's
    ``lambda_reg`` and implicit's ``regularization``). Without it the model over-trains
    on data the size of MovieLens-100K (nDCG@10 falling after ~20 epochs)."""
    batch_size: int = 8192
    """Training triples per step; large batches amortise the per-step overhead (32768
    trains ~15% more samples per second on 1M interactions), but small data needs steps:
    MovieLens-100K has 10 steps per epoch at 8192."""
    epochs: int = 40
    """Maximum passes over the training interactions (with the defaults, MovieLens-100K's
    validation nDCG@10 stops rising at about 40 and holds to 60)."""
    learning_rate: float = 0.1
    """``adagrad``: the row-wise Adagrad step of the user embeddings and item biases.
    ``adam``: the Adam learning rate (0.01 suits it). ``sgd``: the step per training
    sample, independent of ``batch_size`` (0.05-0.1 work; above ~0.3 training may
    diverge)."""
    item_learning_rate: Annotated[float, Gt(0), Le(100)] | None = None
    """``adagrad``: the step of the item embeddings; unset, 0.005 for the torch path (Adam
    on the item rows) and 0.02 for the compiled kernel (row-wise Adagrad, one step per
    sample; best of 0.01-0.1 on MovieLens-100K and the synthetic benchmark). Ignored by
    ``adam`` and ``sgd``."""
    optimizer: Literal["adagrad", "adam", "sgd"] = "adagrad"
    """``adagrad`` (best accuracy per second): :class:`SparseRowOptimizer` with row-wise
    Adagrad on the user embeddings and item biases and Adam on the item embeddings;
    ``adam``: Adam on every touched row (the update of torch's SparseAdam; slower, as
    accurate per epoch); ``sgd``: :class:`SparseSGD`, per-sample SGD a batch at a time
    (the most samples per second, slower to converge)."""
    init_std: Annotated[float, Ge(0), Le(100)] = 0.01
    """Standard deviation of the normal initialisation of the embeddings (0.1 suits
    ``optimizer: sgd``, whose updates are proportional to the embeddings)."""
    kernel: Literal["torch", "compiled"] = "torch"
    """``torch``: the batched step above (every device). ``compiled``: on CPU, a numba
    kernel updates one ``(user, positive, negative)`` triple at a time, lock-free across
    ``torch.get_num_threads()`` threads (Hogwild, as Cornac's and implicit's BPR do);
    ``optimizer`` picks its per-sample rules (``adagrad``: row-wise Adagrad on every
    table; see :mod:`warprec_models_neural._bpr_kernel`). Each sample takes its own step,
    so ``batch_size`` is not used: the kernel takes an epoch's shuffled samples in runs
    of 131,072 (one trainer step each). Needs
    ``pip install 'warprec-models-neural[compiled]'``; on CUDA the torch step runs."""

    weight_decay: Annotated[float, Ge(0), Le(0)] = 0.0
    """Not supported by the sparse updates (only 0): use ``reg_weight``, the L2 penalty on
    the rows each sample touches."""

    # optimization.optimizer names BPR honours (with these constructor arguments), as
    # WarpRec's configs mean them: the optimizer at ``learning_rate`` on every touched
    # row. Without one, ``optimizer`` above picks BPR's own, faster updates.
    optimizers_honoured: ClassVar[dict[str, tuple[str, ...]]] = {
        "Adam": ("betas", "eps"), "Adagrad": ("eps",), "SGD": ()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.item_embedding = nn.Embedding(
            self.n_items + 1, self.embedding_size, padding_idx=self.n_items
        )
        nn.init.normal_(self.user_embedding.weight, std=self.init_std)
        nn.init.normal_(self.item_embedding.weight, std=self.init_std)
        with torch.no_grad():
            self.item_embedding.weight[self.n_items].zero_()
        # Item popularity is most of what a few epochs can learn: a bias per item
        # learns it directly (as in Cornac's and implicit's BPR).
        self.item_bias = nn.Parameter(torch.zeros(self.n_items + 1))
        self.to(self.device)
        # Per-row optimizer state of the compiled kernel (reset by configure_optimizer).
        self._kernel_state: dict[str, Any] | None = None
        if self._uses_kernel():
            load_kernel()

    def _uses_kernel(self) -> bool:
        """Whether training steps run the compiled kernel (asked for, and on the CPU)."""
        return self.kernel == "compiled" and self.item_bias.device.type == "cpu"

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """``(user, pos_item, neg_item)`` batches over the training interactions."""
        kwargs.setdefault("seed", self.seed)
        if not self._uses_kernel() or kwargs.get("neg_sampling", "uniform") != "uniform":
            return interactions.get_contrastive_dataloader(batch_size=self.batch_size, **kwargs)
        return self._kernel_dataloader(interactions, **kwargs)

    def _kernel_dataloader(
        self, interactions: Interactions, shuffle: bool = True, seed: int = 42, **kwargs: Any
    ) -> KernelRuns:
        """The training triples, drawn by the kernel: a fresh shuffle per epoch and one
        exact uniform negative per interaction (:class:`KernelRuns`)."""
        matrix = interactions.get_sparse().tocsr()
        matrix.sum_duplicates()
        matrix.sort_indices()
        degree = np.diff(matrix.indptr)
        if (degree >= self.n_items).any():
            user = int(np.flatnonzero(degree >= self.n_items)[0])
            raise DataError(
                f"user index {user} interacted with all {self.n_items} items: no negative "
                "item can be sampled for it"
            )
        # int32 where it fits: half the cache lines for the negatives' searches (their
        # cost is those misses).
        index = np.int32 if matrix.nnz < 2**31 else np.int64
        csr = (matrix.indptr.astype(index), matrix.indices.astype(index))
        return KernelRuns(interactions.users, interactions.items, csr, self.n_items,
                          shuffle, seed)

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """:class:`SparseRowOptimizer` (``adagrad``, ``adam``), or :class:`SparseSGD` with
        a per-sample step of ``learning_rate``; with the compiled kernel, which applies
        its updates inside :meth:`train_step`, :class:`KernelApplied` (a no-op) and a
        fresh per-row state for the kernel."""
        configured = self.optimizer_config
        if self._uses_kernel():
            if configured is not None:
                raise ConfigError(
                    "BPR: kernel: compiled applies its own per-sample rules (chosen by "
                    f"optimizer); optimization.optimizer {configured['name']!r} cannot apply "
                    "to it; expected no optimization.optimizer with the compiled kernel")
            self._kernel_state = _kernel_state(self)
            return KernelApplied([self.item_bias])
        if configured is not None:
            return self._configured_optimizer(configured["name"], configured["params"])
        if self.optimizer == "sgd":
            return SparseSGD(self.parameters(), lr=self.learning_rate * self.batch_size)
        if self.optimizer == "adam":
            return SparseRowOptimizer(self.parameters(), lr=self.learning_rate)
        # A user row is touched about once a batch: row-wise Adagrad, at the cost of SGD,
        # suits it. Item rows recur in nearly every batch, so Adagrad's accumulators
        # would soon shrink their steps; Adam keeps them moving, and deduplicating the
        # (popular, repeated) item rows is cheap.
        return SparseRowOptimizer(
            [
                # Batch-mean gradients are ~1e-7 here: eps 1e-8 would damp the steps.
                {
                    "params": [self.user_embedding.weight, self.item_bias],
                    "rule": "adagrad",
                    "eps": 1e-10,
                },
                {
                    "params": [self.item_embedding.weight],
                    "rule": "adam",
                    "lr": self.item_learning_rate or _TORCH_ITEM_LEARNING_RATE,
                },
            ],
            lr=self.learning_rate,
        )

    def _configured_optimizer(self, name: str, params: dict[str, Any]) -> torch.optim.Optimizer:
        """The optimizer a config names, as torch's would act on the batch-mean loss, on
        the rows the batch touches (sparse updates)."""
        if name == "SGD":
            return SparseSGD(self.parameters(), lr=self.learning_rate)
        rule = {"Adam": "adam", "Adagrad": "adagrad"}[name]
        return SparseRowOptimizer(self.parameters(), lr=self.learning_rate, rule=rule,
                                  **params)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        """Scores of ``(user[b], item[b])`` pairs, ``[B]``."""
        dot = torch.linalg.vecdot(self.user_embedding(user), self.item_embedding(item))
        return dot + self.item_bias[item]

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """The regularised BPR loss of one batch (sparse gradients); with the compiled
        kernel, the batch's per-sample updates are applied here and the loss is the
        mean of each sample's loss before its own update."""
        user, pos_item, neg_item = batch
        if self._uses_kernel():
            return _KernelStep.apply(self.item_bias, self, user, pos_item, neg_item)
        return bpr_loss_sparse(
            self.user_embedding.weight,
            self.item_embedding.weight,
            self.item_bias,
            user,
            pos_item,
            neg_item,
            self.reg_weight,
        )

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores ``[B, n_items]``, or ``[B, S]`` for ``item_indices [B, S]``."""
        user_e = self.user_embedding(user_indices.to(self.device))
        if item_indices is None:
            items = self.item_embedding.weight[: self.n_items]
            return torch.addmm(self.item_bias[: self.n_items], user_e, items.T)
        item_indices = item_indices.to(self.device)
        item_e = self.item_embedding(item_indices)
        return torch.einsum("be,bse->bs", user_e, item_e) + self.item_bias[item_indices]


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


_EXTRA_HINT = "pip install 'warprec-models-neural[compiled]'"


def load_kernel() -> Any:
    """The compiled kernel module; a :class:`ConfigError` naming the extra when numba is
    not installed."""
    try:
        from warprec_models_neural import _bpr_kernel
    except ImportError as exc:
        raise ConfigError(
            f"BPR: kernel='compiled' needs numba ({exc}); install the extra: {_EXTRA_HINT}"
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


# item_learning_rate when unset, by kernel (see the hyperparameter).
_TORCH_ITEM_LEARNING_RATE, _KERNEL_ITEM_LEARNING_RATE = 0.005, 0.02
# Samples per kernel call (at ~5M samples/s per thread, tens of milliseconds: the
# trainer's per-step work stays a few percent, Ctrl-C is still seen within a second).
_KERNEL_RUN = 1 << 17


def _kernel_state(model: BPR) -> dict[str, Any]:
    """The kernel's rule and per-table steps (users, items, item biases), and each
    table's ``(acc, moments, steps)`` state, allocated only where the rule reads it."""
    kernel = load_kernel()
    rule = {"sgd": kernel.SGD, "adagrad": kernel.ADAGRAD, "adam": kernel.ADAM}[model.optimizer]
    rates = [model.learning_rate, model.learning_rate, model.learning_rate]
    if model.optimizer == "adagrad":
        rates[1] = model.item_learning_rate or _KERNEL_ITEM_LEARNING_RATE
    shapes = ((model.n_users, model.embedding_size), (model.n_items + 1, model.embedding_size),
              (model.n_items + 1, 1))
    adagrad, adam = rule == kernel.ADAGRAD, rule == kernel.ADAM
    state = tuple(
        (np.zeros(rows if adagrad else 0, dtype=np.float32),
         np.zeros((rows if adam else 0, 2, width), dtype=np.float32),
         np.zeros(rows if adam else 0, dtype=np.int64))
        for rows, width in shapes)
    return {"rule": rule, "rates": np.array(rates, dtype=np.float32), "tables": state}


class _KernelStep(torch.autograd.Function):
    """Runs the compiled kernel over a batch (updating the model's tables in place) and
    returns the batch's mean loss; its backward gives the item biases the gradient of
    that loss (``-c`` on the positives, ``+c`` on the negatives, over the batch size),
    so the loss is an ordinary differentiable scalar for the trainer."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, item_bias: Tensor, model: BPR, users: Tensor, pos_items: Tensor,
        neg_items: Tensor,
    ) -> Tensor:
        kernel = load_kernel()
        users_np, pos_np, neg_np = users.numpy(), pos_items.numpy(), neg_items.numpy()
        if model._kernel_state is None:
            model._kernel_state = _kernel_state(model)
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

