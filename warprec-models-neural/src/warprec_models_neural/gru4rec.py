"""GRU4Rec (Hidasi et al., ICLR 2016; Tan et al., DLRS 2016): next-item prediction with a
recurrent network over the user's item sequence.

As in WarpRec: item embeddings (with dropout) go through a GRU without bias terms, a
linear layer maps each hidden state back to the embedding space and the dot product with
the item embeddings scores the next item. Without bias terms a zero input leaves a zero
state unchanged, so the left padding (zero embeddings) before a history changes nothing.

Training cuts the time-ordered histories into windows of ``max_seq_len + 1`` items (as
SASRec does): one pass of the GRU over a window predicts every next item in it, so each
training interaction is a target once per epoch. The loss follows WarpRec's
``neg_samples``: 0 is the cross-entropy of a softmax over every item, ``> 0`` is BPR
against that many sampled items the user never interacted with.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions

from warprec_models_neural._sequential import SequentialRecommender, window_loader

__all__ = ["GRU4Rec"]


class GRU4Rec(SequentialRecommender):
    """Recurrent (GRU) next-item recommender."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of the item embeddings."""
    hidden_size: Annotated[int, Gt(0), Le(65536)] = 128
    """Size of the GRU's hidden state."""
    num_layers: Annotated[int, Gt(0), Le(64)] = 1
    """Number of stacked GRU layers."""
    dropout_prob: Annotated[float, Ge(0), Lt(1)] = 0.3
    """Dropout on the input item embeddings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item_embedding = nn.Embedding(self.n_items + 1, self.embedding_size,
                                           padding_idx=self.n_items)
        self.embedding_dropout = nn.Dropout(self.dropout_prob)
        self.gru = nn.GRU(self.embedding_size, self.hidden_size, self.num_layers, bias=False,
                          batch_first=True)
        self.dense = nn.Linear(self.hidden_size, self.embedding_size)
        self.apply(self._init_weights)
        self.to(self.device)

    def get_dataloader(
        self, interactions: Interactions, sessions: Sessions | None = None, **kwargs: Any
    ) -> Any:
        """Batches of ``(windows [B, max_seq_len + 1], negatives [B, max_seq_len, N])``;
        also stores each user's last ``max_seq_len`` items for :meth:`predict`."""
        sessions = self._remember(sessions)
        return window_loader(sessions, self.max_seq_len + 1, self.neg_samples, self.batch_size,
                             seed=kwargs.get("seed", self.seed),
                             shuffle=kwargs.get("shuffle", True))

    def forward(self, sequences: Tensor) -> Tensor:
        """Output ``[B, L, E]`` at every position of left-padded sequences ``[B, L]``."""
        hidden, _ = self.gru(self.embedding_dropout(self.item_embedding(sequences)))
        return self.dense(hidden)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Next-item loss of every non-padded target of the windows, plus the L2 penalty
        on the embeddings of the targets and negatives."""
        windows, negatives = batch
        inputs, targets = windows[:, :-1], windows[:, 1:]
        hidden = self.forward(inputs)
        valid = (inputs != self.n_items) & (targets != self.n_items)
        targets, negatives = targets[valid], negatives[valid]
        weight = self.item_embedding.weight
        loss = self._next_item_loss(hidden[valid], targets, negatives, weight, kind="bpr")
        return loss + self._l2(len(windows), weight[targets], weight[negatives])

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
        return self._score(last, self.item_embedding.weight, item_indices)
