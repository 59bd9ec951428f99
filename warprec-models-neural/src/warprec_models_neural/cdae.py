"""CDAE (Wu et al., WSDM 2016): Collaborative Denoising Auto-Encoders.

A one-hidden-layer autoencoder of a user's interaction row with a user-specific input
node: ``z = h(W x~ + V_u + b)``, ``scores = f(W' z + b')``, where ``x~`` is the row
corrupted by dropout (``corruption``, the kept entries scaled by ``1 / (1 - q)``) in
training, ``V_u`` the user's embedding, ``h`` = ``hid_activation`` and ``f`` =
``out_activation``. The reconstruction loss is over all items of the row: binary
cross-entropy on the logits (``loss_type: BCE``) or the squared error of
``f(logits)`` (``MSE``), plus ``reg_weight`` times an L2 penalty on the batch's user
embeddings. The model keeps the training rows it was given (see
:mod:`warprec_models_neural._rows`) to score a user from their row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.recommenders.losses import EmbLoss

from warprec_models_neural._rows import UserRowsRecommender

__all__ = ["CDAE"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class CDAE(UserRowsRecommender):
    """Denoising autoencoder of the user's row with a per-user input embedding."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 200
    """Size of the hidden layer and of the user embeddings."""
    corruption: Annotated[float, Ge(0), Lt(1)] = 0.5
    """Dropout probability on the input rows in training (the denoising)."""
    hid_activation: Literal["relu", "tanh", "sigmoid"] = "sigmoid"
    """Activation of the hidden layer."""
    out_activation: Literal["relu", "sigmoid"] = "sigmoid"
    """Activation of the output (applied to the scores; inside the loss for MSE)."""
    loss_type: Literal["BCE", "MSE"] = "BCE"
    """Reconstruction loss over the whole row: BCE on the logits, or MSE of the outputs."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the batch's user embeddings."""
    weight_decay: float = 1e-5
    """L2 penalty on all weights, applied by the optimizer (keeps the plateau flat)."""
    batch_size: int = 128
    """Users per training step."""
    epochs: int = 60
    """Maximum passes over the users."""
    learning_rate: float = 5e-3
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        self.input_dropout = nn.Dropout(self.corruption)
        self.encoder = nn.Linear(self.n_items, self.embedding_size)
        self.decoder = nn.Linear(self.embedding_size, self.n_items)
        self.hidden_activation = _ACTIVATIONS[self.hid_activation]()
        self.output_activation = _ACTIVATIONS[self.out_activation]()
        self.emb_loss = EmbLoss()
        self.apply(self._init_weights)
        self.to(self.device)

    def forward(self, rows: Tensor, users: Tensor) -> Tensor:
        """Logits ``[B, n_items]`` reconstructing the rows (corrupted only in training)."""
        hidden = self.encoder(self.input_dropout(rows)) + self.user_embedding(users)
        return self.decoder(self.hidden_activation(hidden))

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Reconstruction loss of the batch rows plus L2 on the users' embeddings."""
        users, rows = batch
        logits = self.forward(rows, users)
        if self.loss_type == "BCE":
            loss = nn.functional.binary_cross_entropy_with_logits(logits, rows)
        else:
            loss = nn.functional.mse_loss(self.output_activation(logits), rows)
        return loss + self.reg_weight * self.emb_loss(self.user_embedding(users))

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """``out_activation`` of the logits of the users' rows, ``[B, n_items]`` or ``[B, S]``."""
        users = user_indices.to(self.device)
        logits = self.forward(self.user_rows(users), users)
        return self.gather(self.output_activation(logits), item_indices)
