"""Mult-VAE (Liang et al., WWW 2018): a variational autoencoder of users' interaction
rows with a multinomial likelihood and a KL term annealed from 0 to ``anneal_cap``.

The encoder reads a user's L2-normalised row (after dropout), the decoder gives logits
over all items; at prediction time the posterior mean is decoded. The model keeps the
training matrix it was given by :meth:`MultVAE.get_dataloader` (saved with the
checkpoint), so that ``predict(users)`` can read the users' rows.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.errors import WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.recommenders.losses import KLDivergenceLoss, MultinomialLoss

__all__ = ["MultVAE", "MultiVAE"]


class _MultinomialVAE(IterativeRecommender):
    """The network and training step both VAEs share; subclasses declare the
    hyperparameters and say how the KL weight grows (:meth:`kl_weight`)."""

    latent_dim: Annotated[int, Gt(0), Le(65536)] = 200
    """Dimension of the latent user representation."""
    anneal_cap: Annotated[float, Ge(0), Le(1e6)] = 1.0
    """Largest weight of the KL term (the full term regularises the model)."""
    batch_size: int = 128
    """Users per training step."""
    epochs: int = 100
    """Maximum passes over the users."""
    learning_rate: float = 0.001
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dims = [self.n_items, *self.hidden_layers()]
        self.encoder = _mlp([*dims, 2 * self.latent_dim])
        self.decoder = _mlp([self.latent_dim, *reversed(dims)])
        self.input_dropout = nn.Dropout(self.input_dropout_rate())
        self.multinomial = MultinomialLoss()
        self.kl = KLDivergenceLoss()
        self.apply(self._init_weights)
        self.train_matrix: sp.csr_matrix | None = None
        self.steps = 0
        self.epoch = 0
        self.to(self.device)

    def hidden_layers(self) -> list[int]:
        """Sizes of the encoder's hidden layers (the decoder mirrors them)."""
        raise NotImplementedError

    def input_dropout_rate(self) -> float:
        """Dropout probability on the input rows during training."""
        raise NotImplementedError

    def kl_weight(self) -> float:
        """The current weight of the KL term."""
        raise NotImplementedError

    def on_epoch_start(self, epoch: int) -> None:
        """Remember the epoch (1-based), for annealing by epoch."""
        self.epoch = epoch

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(users, rows)``; also keeps the rows for :meth:`predict`."""
        self.train_matrix = interactions.get_sparse()
        kwargs.setdefault("seed", self.seed)
        return interactions.get_user_rows_dataloader(batch_size=self.batch_size, **kwargs)

    def forward(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(logits [B, n_items], mu, logvar)`` of the rows; samples z only in training."""
        hidden = nn.functional.normalize(rows, dim=1)
        hidden = self.input_dropout(hidden)
        mu, logvar = self.encoder(hidden).chunk(2, dim=1)
        z = mu
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Negative ELBO of the batch rows with the annealed KL weight."""
        _, rows = batch
        logits, mu, logvar = self.forward(rows)
        loss = self.multinomial(logits, rows) + self.kl_weight() * self.kl(mu, logvar)
        self.steps += 1
        return loss

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Decoded logits of the users' training rows, ``[B, n_items]`` or ``[B, S]``."""
        if self.train_matrix is None:
            raise WarpRecError(
                f"{self.name}: no training rows; train the model (get_dataloader) before "
                "predict"
            )
        users = user_indices.detach().cpu().numpy()
        dense = self.train_matrix[users].toarray().astype(np.float32, copy=False)
        rows = torch.from_numpy(dense).to(self.device)
        logits, _, _ = self.forward(rows)
        if item_indices is None:
            return logits
        return logits.gather(1, item_indices.to(self.device))

    def get_extra_state(self) -> dict[str, Any]:
        """The training rows and the step counter, saved with the checkpoint."""
        return {"train_matrix": self.train_matrix, "steps": self.steps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        self.train_matrix = state["train_matrix"]
        self.steps = int(state["steps"])


class MultVAE(_MultinomialVAE):
    """Variational autoencoder with a multinomial likelihood over the item catalogue
    (Liang et al., WWW 2018), the KL weight annealed by training step."""

    hidden_dims: list[Annotated[int, Gt(0), Le(65536)]] = [600]
    """Sizes of the encoder's hidden layers (the decoder mirrors them)."""
    dropout: Annotated[float, Ge(0), Lt(1)] = 0.5
    """Dropout probability on the input rows during training."""
    total_anneal_steps: Annotated[int, Gt(0), Le(2**40)] = 200
    """Training steps over which the KL weight grows linearly to ``anneal_cap``. A step
    count depends on the data's size (the paper's 20000 suits millions of users);
    ``MultiVAE``'s ``anneal_step`` counts epochs instead."""

    def hidden_layers(self) -> list[int]:
        """``hidden_dims``."""
        return list(self.hidden_dims)

    def input_dropout_rate(self) -> float:
        """``dropout``."""
        return self.dropout

    def kl_weight(self) -> float:
        """``min(anneal_cap, steps / total_anneal_steps)``."""
        return min(self.anneal_cap, self.steps / self.total_anneal_steps)


class MultiVAE(_MultinomialVAE):
    """WarpRec's MultiVAE: the same network with WarpRec's hyperparameters and meanings
    (one hidden layer of ``intermediate_dim``, input ``corruption``, the KL weight
    annealed by epoch over ``anneal_step`` epochs)."""

    intermediate_dim: Annotated[int, Gt(0), Le(65536)] = 600
    """Size of the encoder's hidden layer (the decoder mirrors it)."""
    corruption: Annotated[float, Ge(0), Lt(1)] = 0.5
    """Dropout probability on the input rows during training."""
    anneal_step: Annotated[int, Ge(0), Le(10**6)] = 20
    """Epochs over which the KL weight grows linearly to ``anneal_cap`` (0: the cap from
    the start)."""

    def hidden_layers(self) -> list[int]:
        """``[intermediate_dim]``."""
        return [self.intermediate_dim]

    def input_dropout_rate(self) -> float:
        """``corruption``."""
        return self.corruption

    def kl_weight(self) -> float:
        """``min(anneal_cap * (epoch - 1) / anneal_step, anneal_cap)``, as WarpRec's
        0-based epoch counter gives."""
        if self.anneal_step == 0:
            return self.anneal_cap
        return min(self.anneal_cap * max(self.epoch - 1, 0) / self.anneal_step,
                   self.anneal_cap)


def _mlp(dims: list[int]) -> nn.Sequential:
    """Linear layers between consecutive ``dims`` with tanh in between (none at the end)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(dims)):
        if i:
            layers.append(nn.Tanh())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)
