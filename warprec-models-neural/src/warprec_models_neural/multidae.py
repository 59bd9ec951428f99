"""Mult-DAE (Liang et al., WWW 2018): a denoising autoencoder of users' interaction
rows with a multinomial likelihood.

A user's row is L2-normalised, corrupted by dropout (``corruption``) in training,
encoded ``n_items -> intermediate_dim -> latent_dim`` and decoded back to logits over
all items (tanh between layers, none on the output). The loss is the multinomial
negative log-likelihood of the row under the softmax of the logits; ``weight_decay``
is the L2 penalty on the weights. The model keeps the training rows it was given (see
:mod:`warprec_models_neural._rows`) to score a user from their row.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.recommenders.losses import MultinomialLoss

from warprec_models_neural._rows import UserRowsRecommender

__all__ = ["MultiDAE"]


class MultiDAE(UserRowsRecommender):
    """Denoising autoencoder with a multinomial likelihood over the item catalogue."""

    intermediate_dim: Annotated[int, Gt(0), Le(65536)] = 600
    """Size of the hidden layer of the encoder and of the decoder (the paper's 600)."""
    latent_dim: Annotated[int, Gt(0), Le(65536)] = 200
    """Size of the bottleneck, the user representation (the paper's 200)."""
    corruption: Annotated[float, Ge(0), Lt(1)] = 0.5
    """Dropout probability on the input rows in training (the denoising)."""
    weight_decay: float = 0.01
    """L2 penalty on all weights, applied by the optimizer (the paper's lambda 0.01); it
    keeps the model from over-training when it trains longer."""
    batch_size: int = 128
    """Users per training step."""
    epochs: int = 40
    """Passes over the users."""
    learning_rate: float = 1e-3
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.input_dropout = nn.Dropout(self.corruption)
        self.encoder = nn.Sequential(
            nn.Linear(self.n_items, self.intermediate_dim), nn.Tanh(),
            nn.Linear(self.intermediate_dim, self.latent_dim), nn.Tanh(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, self.intermediate_dim), nn.Tanh(),
            nn.Linear(self.intermediate_dim, self.n_items),
        )
        self.multinomial = MultinomialLoss()
        self.apply(self._init_weights)
        self.to(self.device)

    def forward(self, rows: Tensor) -> Tensor:
        """Logits ``[B, n_items]`` reconstructing the rows (corrupted only in training)."""
        hidden = self.input_dropout(nn.functional.normalize(rows, dim=1))
        return self.decoder(self.encoder(hidden))

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Multinomial negative log-likelihood of the batch rows."""
        _, rows = batch
        return self.multinomial(self.forward(rows), rows)

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Logits of the users' training rows, ``[B, n_items]`` or ``[B, S]``."""
        return self.gather(self.forward(self.user_rows(user_indices)), item_indices)
