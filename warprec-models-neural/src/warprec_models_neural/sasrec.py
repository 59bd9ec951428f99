"""SASRec (Kang & McAuley, ICDM 2018): next-item prediction with causal self-attention.

Training reads the users' time-ordered histories from :class:`Sessions`: each history
is cut, from its end, into windows of ``max_seq_len + 1`` items (left-padded with
``n_items``), and one pass of the transformer over a window predicts every next item in
it at once. The loss is, as in WarpRec, chosen by ``neg_samples``: 0 is the cross-entropy
of a softmax over every item; ``neg_samples > 0`` is the paper's binary cross-entropy of
each target against that many items the user never interacted with. This covers each
training interaction once per epoch at ``1/max_seq_len`` of the cost of one pass per
(prefix -> next item) sample.

The model keeps each user's last ``max_seq_len`` training items as a buffer (filled by
:meth:`SASRec.get_dataloader`, saved with the checkpoint): ``predict(users)`` ranks the
items that would come next after the user's training sequence.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions

from warprec_models_neural._sequential import (
    SequentialRecommender,
    TransformerEncoder,
    TransformerHyperparameters,
    session_windows,
    window_loader,
)

__all__ = ["SASRec", "session_windows"]


class SASRec(TransformerHyperparameters, SequentialRecommender):
    """Self-attentive sequential recommender (causal transformer over item sequences)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size = self.embedding_size
        self.item_embedding = nn.Embedding(self.n_items + 1, size, padding_idx=self.n_items)
        self.position_embedding = nn.Embedding(self.max_seq_len, size)
        self.embedding_dropout = nn.Dropout(self.dropout_prob)
        self.encoder = TransformerEncoder(size, self.n_layers, self.n_heads, self.inner_size,
                                          self.dropout_prob, self.attn_dropout_prob)
        self._build_output()
        self.apply(self._init_weights)
        self.to(self.device)

    def _build_output(self) -> None:
        """Extra output layers of subclasses (none: scores use the item embeddings)."""

    def _output_weight(self) -> Tensor:
        """The ``[n_items + 1, E]`` item vectors hidden states are scored against."""
        return self.item_embedding.weight

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(windows [B, max_seq_len + 1], negatives [B, max_seq_len, N])``.

        Also stores each user's last ``max_seq_len`` items for :meth:`predict`.
        """
        sessions = self._remember(sessions)
        return window_loader(sessions, self.max_seq_len + 1, self.neg_samples, self.batch_size,
                             seed=kwargs.get("seed", self.seed),
                             shuffle=kwargs.get("shuffle", True))

    def forward(self, sequences: Tensor) -> Tensor:
        """Hidden states ``[B, L, E]`` of left-padded item sequences ``[B, L]``."""
        length = sequences.shape[1]
        keep = sequences != self.n_items
        positions = torch.arange(length, device=sequences.device)
        hidden = self.item_embedding(sequences) * self.embedding_size**0.5
        hidden = self.embedding_dropout(hidden + self.position_embedding(positions))
        hidden = hidden * keep.unsqueeze(-1)
        return self.encoder(hidden, keep, causal=True)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """The next-item loss of every non-padded target of the windows, plus the L2
        penalty on the embeddings of the targets and negatives."""
        windows, negatives = batch
        inputs, targets = windows[:, :-1], windows[:, 1:]
        hidden = self.forward(inputs)
        valid = (inputs != self.n_items) & (targets != self.n_items)
        targets, negatives = targets[valid], negatives[valid]
        loss = self._loss(hidden[valid], targets, negatives)
        weight = self._output_weight()
        return loss + self._l2(len(windows), weight[targets], weight[negatives])

    def _loss(self, hidden: Tensor, targets: Tensor, negatives: Tensor) -> Tensor:
        return self._next_item_loss(hidden, targets, negatives, self._output_weight(),
                                    kind="bce")

    def predict(
        self,
        user_indices: Tensor,
        *args: Any,
        item_indices: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Scores of the item following each user's training sequence, ``[B, n_items]``
        or ``[B, S]`` for ``item_indices [B, S]``."""
        last = self.forward(self._sequences(user_indices))[:, -1]
        return self._score(last, self._output_weight(), item_indices)
