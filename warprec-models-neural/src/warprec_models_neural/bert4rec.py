"""BERT4Rec (Sun et al., CIKM 2019): a bidirectional transformer trained to fill in
masked items of the user's sequence (the cloze task).

Training cuts the time-ordered histories into windows of ``max_seq_len + 1`` items; each
real item of a window is replaced by the ``[MASK]`` token (index ``n_items + 1``) with
probability ``mask_prob`` (a window where none was drawn has its last item masked), and
the model predicts the masked items from both sides. To recommend, the ``[MASK]`` token
is appended after the user's last ``max_seq_len`` training items and the model's output
there scores the next item.

Items are scored by the dot product with their embedding plus an output bias per item.
The loss follows ``neg_samples``: 0 is the paper's cross-entropy of a softmax over every
item, ``> 0`` is WarpRec's BPR against that many sampled items the user never interacted
with.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import torch
from annotated_types import Gt, Le
from torch import Tensor, nn
from warprec.data.dataset import BatchLoader, Interactions, Sessions

from warprec_models_neural._sequential import (
    SequentialRecommender,
    TransformerEncoder,
    TransformerHyperparameters,
    history_sampler,
    session_windows,
)

__all__ = ["BERT4Rec"]


class BERT4Rec(TransformerHyperparameters, SequentialRecommender):
    """Bidirectional transformer trained on masked items (cloze task)."""

    mask_prob: Annotated[float, Gt(0), Le(1)] = 0.2
    """Probability that an item of a training window is masked (to be predicted)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size = self.embedding_size
        self.mask_token = self.n_items + 1
        # Rows: the items, the padding (n_items) and the [MASK] token (n_items + 1).
        self.item_embedding = nn.Embedding(self.n_items + 2, size, padding_idx=self.n_items)
        self.position_embedding = nn.Embedding(self.max_seq_len + 1, size)
        self.embedding_dropout = nn.Dropout(self.dropout_prob)
        self.encoder = TransformerEncoder(size, self.n_layers, self.n_heads, self.inner_size,
                                          self.dropout_prob, self.attn_dropout_prob)
        self.output_bias = nn.Parameter(torch.zeros(self.n_items))
        self.apply(self._init_weights)
        self.to(self.device)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(masked [B, L], windows [B, L], negatives [B, L, N])`` with
        ``L = max_seq_len + 1``: ``masked`` is the input (masked positions hold the
        ``[MASK]`` token), ``windows`` the original items; negatives are empty when
        ``neg_samples`` is 0. Also stores the users' last items for :meth:`predict`."""
        sessions = self._remember(sessions)
        windows, users = session_windows(sessions, self.max_seq_len + 1)
        sampler = history_sampler(sessions) if self.neg_samples else None
        length, pad, mask_prob = windows.shape[1], self.n_items, self.mask_prob
        neg_samples = self.neg_samples

        def collate(index: np.ndarray, rng: np.random.Generator) -> tuple[Tensor, ...]:
            batch = windows[index]
            real = batch != pad
            masked = (rng.random(batch.shape) < mask_prob) & real
            # Every window predicts something; its last item is always real.
            masked[~masked.any(axis=1), -1] = True
            inputs = np.where(masked, self.mask_token, batch)
            if sampler is None:
                negatives = np.zeros((len(index), length, 0), dtype=np.int64)
            else:
                negatives = sampler.sample(users[index], length * neg_samples, rng)
                negatives = negatives.reshape(len(index), length, neg_samples)
            return (torch.from_numpy(inputs), torch.from_numpy(batch),
                    torch.from_numpy(negatives))

        return BatchLoader(len(windows), self.batch_size, collate,
                           kwargs.get("shuffle", True), kwargs.get("seed", self.seed))

    def forward(self, sequences: Tensor) -> Tensor:
        """Hidden states ``[B, L, E]`` of left-padded sequences ``[B, L]`` (L at most
        ``max_seq_len + 1``), attending in both directions."""
        length = sequences.shape[1]
        keep = sequences != self.n_items
        positions = torch.arange(self.max_seq_len + 1 - length, self.max_seq_len + 1,
                                 device=sequences.device)
        hidden = self.item_embedding(sequences) + self.position_embedding(positions)
        hidden = self.embedding_dropout(hidden) * keep.unsqueeze(-1)
        return self.encoder(hidden, keep, causal=False)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Loss of the masked items, plus the L2 penalty on the embeddings of the targets
        and negatives."""
        inputs, windows, negatives = batch
        hidden = self.forward(inputs)
        masked = inputs == self.mask_token
        targets, negatives = windows[masked], negatives[masked]
        weight = self.item_embedding.weight
        loss = self._next_item_loss(hidden[masked], targets, negatives, weight, kind="bpr",
                                    bias=self.output_bias)
        return loss + self._l2(len(inputs), weight[targets], weight[negatives])

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores of the item following each user's training sequence (the output at a
        ``[MASK]`` appended to it), ``[B, n_items]`` or ``[B, S]`` for ``item_indices``."""
        sequences = self._sequences(user_indices)
        mask = torch.full_like(sequences[:, :1], self.mask_token)
        last = self.forward(torch.cat([sequences, mask], dim=1))[:, -1]
        return self._score(last, self.item_embedding.weight, item_indices,
                           bias=self.output_bias)
