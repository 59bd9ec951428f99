"""SASRec (Kang & McAuley, ICDM 2018): next-item prediction with causal self-attention.

Training reads the users' time-ordered histories from :class:`Sessions`: each history
is cut, from its end, into windows of ``max_seq_len + 1`` items (left-padded with
``n_items``), and one pass of the transformer over a window predicts every next item in
it at once (binary cross-entropy of the target against ``neg_samples`` items the user
never interacted with, as in the paper). This covers each training interaction once
per epoch at ``1/max_seq_len`` of the cost of one pass per (prefix -> next item) sample.

The model keeps each user's last ``max_seq_len`` training items as a buffer (filled by
:meth:`SASRec.get_dataloader`, saved with the checkpoint): ``predict(users)`` ranks the
items that would come next after the user's training sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from warprec.data.dataset import BatchLoader, Interactions, Sessions
from warprec.errors import ConfigError, WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.recommenders.losses import BCELoss
from warprec.utils.checks import require_positive, require_range

__all__ = ["SASRec", "session_windows"]


def session_windows(sessions: Sessions, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(windows [W, length], users [W])``: windows of the users' histories,
    left-padded with ``n_items``, and the user of each.

    Windows end at each history's end, then every ``length - 1`` items back, so that
    every item after a user's first appears exactly once as a window's target (a
    position after the window's first).
    """
    step = length - 1
    starts, ends = sessions.indptr[:-1], sessions.indptr[1:]
    counts = np.maximum(-(-(ends - starts - 1) // step), 0)
    owner = np.repeat(np.arange(sessions.n_users), counts)
    # k-th window of a user ends k * step items before the history's end.
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    window_end = ends[owner] - k * step
    positions = window_end[:, None] - length + np.arange(length)[None, :]
    valid = positions >= starts[owner][:, None]
    windows = np.where(valid, sessions.items[np.maximum(positions, 0)], sessions.n_items)
    return windows, owner


class SASRec(IterativeRecommender):
    """Self-attentive sequential recommender (causal transformer over item sequences)."""

    embedding_size: int = 64
    """Dimension of item and position embeddings (and of the transformer)."""
    n_layers: int = 2
    """Number of transformer blocks."""
    n_heads: int = 2
    """Attention heads per block (must divide ``embedding_size``)."""
    max_seq_len: int = 50
    """Most recent items the model attends to."""
    dropout: float = 0.2
    """Dropout on embeddings, attention and feed-forward layers during training."""
    neg_samples: int = 1
    """Sampled negative items per target position in the loss."""
    batch_size: int = 256
    """Sequence windows per training step."""
    epochs: int = 100
    """Maximum passes over the training sequences."""
    learning_rate: float = 0.001
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(
        self,
        params: dict | None,
        info: dict,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        require_positive(self, "embedding_size", "n_layers", "n_heads", "max_seq_len",
                         "neg_samples", "batch_size", "epochs", "learning_rate")
        require_range(self, "dropout", 0.0, 0.99)
        if self.embedding_size % self.n_heads:
            raise ConfigError(
                f"SASRec: hyperparameter 'n_heads' ({self.n_heads}) must divide "
                f"'embedding_size' ({self.embedding_size})"
            )
        size = self.embedding_size
        self.item_embedding = nn.Embedding(self.n_items + 1, size, padding_idx=self.n_items)
        self.position_embedding = nn.Embedding(self.max_seq_len, size)
        self.embedding_dropout = nn.Dropout(self.dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                size, self.n_heads, dim_feedforward=size, dropout=self.dropout,
                activation="gelu", batch_first=True, norm_first=True,
            )
            for _ in range(self.n_layers)
        )
        self.final_norm = nn.LayerNorm(size)
        self.apply(self._init_weights)
        self.bce = BCELoss()
        pad = torch.full((self.n_users, self.max_seq_len), self.n_items, dtype=torch.long)
        self.register_buffer("user_sequences", pad)
        self.register_buffer(
            "causal_mask",
            nn.Transformer.generate_square_subsequent_mask(self.max_seq_len),
            persistent=False,
        )
        self.to(self.device)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(windows [B, max_seq_len + 1], negatives [B, max_seq_len, N])``.

        Also stores each user's last ``max_seq_len`` items for :meth:`predict`.
        """
        if sessions is None:
            raise WarpRecError("SASRec needs the training Sessions (time-ordered histories)")
        sequences, _ = sessions.get_padded_sequences(self.max_seq_len)
        self.user_sequences.copy_(sequences.to(self.device))
        windows, users = session_windows(sessions, self.max_seq_len + 1)
        positives = Interactions(sessions.users, sessions.items, self.n_users, self.n_items)
        sampler = positives.sampler()
        shape = (self.max_seq_len, self.neg_samples)

        def collate(index: np.ndarray, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
            negatives = sampler.sample(users[index], shape[0] * shape[1], rng)
            return (
                torch.from_numpy(windows[index]),
                torch.from_numpy(negatives.reshape(len(index), *shape)),
            )

        seed = kwargs.get("seed", self.seed)
        return BatchLoader(len(windows), self.batch_size, collate, kwargs.get("shuffle", True),
                           seed)

    def forward(self, sequences: Tensor) -> Tensor:
        """Hidden states ``[B, L, E]`` of left-padded item sequences ``[B, L]``."""
        length = sequences.shape[1]
        keep = (sequences != self.n_items).unsqueeze(-1)
        positions = torch.arange(length, device=sequences.device)
        hidden = self.item_embedding(sequences) * self.embedding_size**0.5
        hidden = self.embedding_dropout(hidden + self.position_embedding(positions)) * keep
        mask = self.causal_mask[:length, :length]
        for block in self.blocks:
            hidden = block(hidden, src_mask=mask, is_causal=True) * keep
        return self.final_norm(hidden)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """BCE of each next item against its sampled negatives, over non-padded targets."""
        windows, negatives = batch
        inputs, targets = windows[:, :-1], windows[:, 1:]
        hidden = self.forward(inputs)
        valid = (inputs != self.n_items) & (targets != self.n_items)
        hidden = hidden[valid]
        pos_score = torch.linalg.vecdot(hidden, self.item_embedding(targets[valid]))
        neg_score = torch.einsum("be,bne->bn", hidden, self.item_embedding(negatives[valid]))
        scores = torch.cat([pos_score.unsqueeze(1), neg_score], dim=1)
        labels = torch.zeros_like(scores)
        labels[:, 0] = 1.0
        return self.bce(scores, labels)

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores of the item following each user's training sequence, ``[B, n_items]``
        or ``[B, S]`` for ``item_indices [B, S]``."""
        sequences = self.user_sequences[user_indices.to(self.device)]
        last = self.forward(sequences)[:, -1]
        if item_indices is None:
            return last @ self.item_embedding.weight[: self.n_items].T
        items = self.item_embedding(item_indices.to(self.device))
        return torch.einsum("be,bse->bs", last, items)
