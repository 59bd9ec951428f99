"""BPR's sparse training path: the fused BPR loss with *sparse* row gradients, and the
optimizers that apply them to the rows a batch touches.

A batch touches only ``3 x batch_size`` embedding rows, so instead of dense gradients
and an optimizer pass over whole tables (``O(n_users + n_items)`` per step),
:func:`bpr_loss_sparse` computes the loss and its gradient in one autograd function
that returns sparse COO row gradients, and :class:`SparseRowOptimizer` (row-wise Adam
or Adagrad) or :class:`SparseSGD` (``index_add_`` of the uncoalesced rows, as
per-sample SGD) apply them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from warprec.errors import ConfigError

__all__ = ["SparseRowOptimizer", "SparseSGD", "bpr_loss_sparse"]


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
