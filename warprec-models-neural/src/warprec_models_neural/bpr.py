"""BPR (Rendle et al., UAI 2009): matrix factorisation trained with the Bayesian
Personalised Ranking loss on ``(user, positive item, negative item)`` triples.

The model is the guide's ``MyBPR`` (plus an item bias) made fast. A batch touches only
``3 x batch_size`` embedding rows, so the loss returns *sparse* row gradients that
sparse optimizers apply to those rows only (:mod:`._bpr_sparse`); on the CPU,
``kernel: compiled`` instead updates one triple at a time in a numba kernel
(:mod:`._bpr_compiled`, :mod:`._bpr_kernel`).

What sets BPR's optimizer and learning rate, one rule:

1. ``optimization.optimizer`` (``Adam``, ``Adagrad`` or ``SGD``), when the config names
   one: that optimizer as torch defines it, on the batch-mean loss, at
   ``learning_rate`` on every row the batch touches (``SGD``: a step of
   ``learning_rate`` on the batch-mean gradient). BPR's ``optimizer`` then does not
   apply; ``item_learning_rate`` and ``kernel: compiled`` (which applies its own
   per-sample rules) are refused before anything runs.
2. Otherwise BPR's ``optimizer`` picks the rule, on either kernel, and
   ``learning_rate`` is its step on the user rows and item biases, and on the item rows
   too except with ``adagrad``, whose item rows step at ``item_learning_rate``. With
   ``sgd`` the step is per training sample whatever ``batch_size`` is (the torch path
   scales the batch-mean gradient by the batch size).

``weight_decay`` is not applied by sparse updates: it is fixed at 0, and ``reg_weight``
is BPR's L2 penalty (on the rows each sample touches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import IterativeRecommender

from warprec_models_neural._bpr_compiled import (
    EXTRA_HINT,
    KernelApplied,
    KernelRuns,
    KernelStep,
    kernel_runs,
    kernel_state,
    load_kernel,
    numba_installed,
)
from warprec_models_neural._bpr_sparse import SparseRowOptimizer, SparseSGD, bpr_loss_sparse

__all__ = [
    "BPR",
    "KernelApplied",
    "KernelRuns",
    "SparseRowOptimizer",
    "SparseSGD",
    "bpr_loss_sparse",
    "load_kernel",
]

# item_learning_rate of the torch path when unset (Adam on the item rows).
_TORCH_ITEM_LEARNING_RATE = 0.005


class BPR(IterativeRecommender):
    """Bayesian Personalised Ranking matrix factorisation (fast sparse updates).

    Scores are dot products of user and item embeddings plus an item bias; training
    samples one negative per training interaction, uniformly among the items the user
    has not interacted with, afresh each epoch. The module docstring gives the rule for
    the optimizer and the learning rate.
    """

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the user and item embeddings."""
    reg_weight: Annotated[float, Ge(0)] = 0.01
    """L2 penalty on the embedding rows and item biases each sample touches (as Cornac's
    ``lambda_reg`` and implicit's ``regularization``); without it the model over-trains
    on small data."""
    batch_size: int = 8192
    """Training triples per step; large batches amortise the per-step overhead, but
    small data needs steps. Not used by ``kernel: compiled``."""
    epochs: int = 40
    """Maximum passes over the training interactions."""
    learning_rate: float = 0.1
    """The step of the optimizer (see the rule in the module docstring): ``adagrad``'s
    on the user rows and item biases, ``adam``'s on every row, ``sgd``'s per training
    sample (the package README gives values that suit each)."""
    item_learning_rate: Annotated[float, Gt(0), Le(100)] | None = None
    """``adagrad``: the step of the item rows; unset, 0.005 for the torch path (Adam on
    the item rows) and 0.02 for the compiled kernel (row-wise Adagrad, one step per
    sample). Not used by ``adam`` and ``sgd``; refused with ``optimization.optimizer``."""
    optimizer: Literal["adagrad", "adam", "sgd"] = "adagrad"
    """BPR's own update rule, unless ``optimization.optimizer`` names one. ``adagrad``
    (best accuracy per second): row-wise Adagrad on the user embeddings and item biases
    and Adam on the item embeddings (compiled kernel: row-wise Adagrad on every table);
    ``adam``: Adam on every touched row (the update of torch's SparseAdam; slower, as
    accurate per epoch); ``sgd``: per-sample SGD (the most samples per second, slower to
    converge)."""
    init_std: Annotated[float, Ge(0), Le(100)] = 0.01
    """Standard deviation of the normal initialisation of the embeddings (0.1 suits
    ``optimizer: sgd``, whose updates are proportional to the embeddings)."""
    kernel: Literal["torch", "compiled"] = "torch"
    """``torch``: the batched sparse step (every device). ``compiled``: on CPU, a numba
    kernel updates one ``(user, positive, negative)`` triple at a time, lock-free across
    ``torch.get_num_threads()`` threads (Hogwild, as Cornac's and implicit's BPR do),
    with the per-sample rule ``optimizer`` names (see
    :mod:`warprec_models_neural._bpr_kernel`). Each sample takes its own step, so
    ``batch_size`` is not used: the kernel takes an epoch's shuffled samples in runs
    of 131,072 (one trainer step each). Needs
    ``pip install 'warprec-models-neural[compiled]'``; on CUDA the torch step runs."""

    weight_decay: Literal[0.0] = 0.0
    """Fixed at 0: sparse updates apply no weight decay (it would touch every row at
    every step). BPR's L2 penalty is ``reg_weight``, on the rows each sample touches."""

    # optimization.optimizer names BPR honours (with these constructor arguments), as
    # WarpRec's configs mean them: rule 1 of the module docstring.
    optimizers_honoured: ClassVar[dict[str, tuple[str, ...]]] = {
        "Adam": ("betas", "eps"), "Adagrad": ("eps",), "SGD": ()}

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        """``kernel: compiled`` needs numba; with ``optimization.optimizer`` (rule 1): no
        ``kernel: compiled`` and no ``item_learning_rate``."""
        super().check_relations(params, optimizer)
        if params["kernel"] == "compiled" and not numba_installed():
            raise ConfigError(f"kernel: compiled needs numba, which is not installed; "
                              f"install the extra: {EXTRA_HINT}")
        if optimizer is None:
            return
        if params["kernel"] == "compiled":
            raise ConfigError(
                f"kernel: compiled applies its own per-sample rules (chosen by optimizer); "
                f"optimization.optimizer {optimizer!r} cannot apply to it; expected no "
                "optimization.optimizer with kernel: compiled (or kernel: torch)")
        if params["item_learning_rate"] is not None:
            raise ConfigError(
                f"item_learning_rate ({params['item_learning_rate']}) is a step of BPR's own "
                f"optimizer; with optimization.optimizer {optimizer!r} every row steps at "
                "learning_rate; expected no item_learning_rate")

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
        return kernel_runs(interactions, self.n_items, kwargs.get("shuffle", True),
                           kwargs["seed"])

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer the rule of the module docstring names: the configured one on
        the touched rows (:class:`SparseRowOptimizer`, :class:`SparseSGD`), or BPR's
        own; with the compiled kernel, which applies its updates inside
        :meth:`train_step`, :class:`KernelApplied` (a no-op) and a fresh per-row state
        for the kernel."""
        configured = self.optimizer_config
        if configured is not None:  # the plan's check, for models built without one
            type(self).validate_params(self.get_params(), optimizer=configured["name"])
        if self._uses_kernel():
            self._kernel_state = kernel_state(self)
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
            return KernelStep.apply(self.item_bias, self, user, pos_item, neg_item)
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
