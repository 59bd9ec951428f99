"""Caser (Tang & Wang, WSDM 2018): convolutional sequence embedding.

The last ``max_seq_len`` items (the paper's ``L``) form an ``L x E`` "image" of item
embeddings: ``n_h`` horizontal filters of every height ``1..L`` (ReLU, max-pooled over
time) catch union-level and point-level sequential patterns, ``n_v`` vertical filters
(``L x 1``) weighted sums of the items; both are concatenated, passed through dropout and
a ReLU layer, joined with the user's embedding (the general taste) and mapped by a second
ReLU layer to the vector scored against the item embeddings. As in WarpRec, training
takes one sample per next item with the items before it, and the loss follows
``neg_samples``: 0 is the cross-entropy of a softmax over every item, ``> 0`` is BPR
against that many sampled items the user never interacted with.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
import torch.nn.functional as F
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions

from warprec_models_neural._sequential import SequentialRecommender, next_item_loader

__all__ = ["Caser"]


class Caser(SequentialRecommender):
    """Convolutional sequence embedding recommender (user embedding + CNN over the
    latest items)."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the user and item embeddings."""
    n_h: Annotated[int, Gt(0), Le(4096)] = 16
    """Horizontal filters per height (heights 1 to ``max_seq_len``)."""
    n_v: Annotated[int, Gt(0), Le(4096)] = 4
    """Vertical filters."""
    dropout_prob: Annotated[float, Ge(0), Lt(1)] = 0.5
    """Dropout on the concatenated convolution outputs."""
    max_seq_len = 5
    batch_size: int = 512
    """(Sequence, next item) samples per training step."""
    epochs: int = 50
    """Maximum passes over the training interactions."""
    learning_rate: float = 0.001
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size, length = self.embedding_size, self.max_seq_len
        self.user_embedding = nn.Embedding(self.n_users, size)
        self.item_embedding = nn.Embedding(self.n_items + 1, size, padding_idx=self.n_items)
        self.conv_v = nn.Conv2d(1, self.n_v, kernel_size=(length, 1))
        self.conv_h = nn.ModuleList(
            nn.Conv2d(1, self.n_h, kernel_size=(height, size)) for height in range(1, length + 1)
        )
        self.fc1 = nn.Linear(self.n_v * size + self.n_h * length, size)
        self.fc2 = nn.Linear(2 * size, size)
        self.dropout = nn.Dropout(self.dropout_prob)
        self.apply(self._init_weights)
        self.to(self.device)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(users [B], sequences [B, max_seq_len], targets [B], negatives
        [B, N])``; also stores each user's last ``max_seq_len`` items for :meth:`predict`."""
        sessions = self._remember(sessions)
        return next_item_loader(sessions, self.max_seq_len, self.neg_samples, self.batch_size,
                                seed=kwargs.get("seed", self.seed),
                                shuffle=kwargs.get("shuffle", True))

    def forward(self, users: Tensor, sequences: Tensor) -> Tensor:
        """The vector ``[B, E]`` scoring the next item after left-padded ``sequences
        [B, max_seq_len]`` of ``users [B]``."""
        image = self.item_embedding(sequences).unsqueeze(1)  # [B, 1, L, E]
        vertical = self.conv_v(image).flatten(1)  # [B, n_v * E]
        horizontal = [
            F.relu(conv(image).squeeze(3)).amax(dim=2)  # [B, n_h], max over time
            for conv in self.conv_h
        ]
        features = self.dropout(torch.cat([vertical, *horizontal], dim=1))
        z = F.relu(self.fc1(features))
        return F.relu(self.fc2(torch.cat([z, self.user_embedding(users)], dim=1)))

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Next-item loss of the batch, plus the L2 penalty on the embeddings of the
        users, targets and negatives."""
        users, sequences, targets, negatives = batch
        hidden = self.forward(users, sequences)
        weight = self.item_embedding.weight
        loss = self._next_item_loss(hidden, targets, negatives, weight, kind="bpr")
        return loss + self._l2(len(users), self.user_embedding(users), weight[targets],
                               weight[negatives])

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores of the item following each user's training sequence, ``[B, n_items]``
        or ``[B, S]`` for ``item_indices [B, S]``."""
        users = user_indices.to(self.device)
        hidden = self.forward(users, self._sequences(users))
        return self._score(hidden, self.item_embedding.weight, item_indices)
