"""What the sequential models (SASRec, gSASRec, BERT4Rec, GRU4Rec, Caser) share.

- :class:`SequentialRecommender`: the base class. It keeps each user's last
  ``max_seq_len`` training items as the buffer ``user_sequences`` (filled when the trainer
  asks for the data loader, saved with the checkpoint), so that ``predict(users)`` ranks
  the items that would come next after the user's training history; it scores hidden
  states against the item embeddings, computes the next-item losses (full softmax
  cross-entropy when ``neg_samples`` is 0, else a loss over sampled negatives) and the
  ``reg_weight`` L2 penalty.
- :func:`session_windows` / :func:`window_loader`: the users' histories cut into
  windows, every next item of a window a target (causal models train on every position
  of a window in one pass).
- :func:`next_item_loader`: one sample per next item, with the (at most ``max_seq_len``)
  items before it (models that read a fixed window, such as Caser).
- :class:`TransformerEncoder`: pre-LayerNorm transformer blocks with a causal or a
  bidirectional mask that ignores the left padding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from annotated_types import Ge, Gt, Le, Lt
from torch import Tensor, nn
from warprec.data.dataset import BatchLoader, Interactions, Sessions
from warprec.errors import ConfigError, WarpRecError
from warprec.recommenders.base_recommender import IterativeRecommender

__all__ = [
    "SequentialRecommender",
    "TransformerEncoder",
    "history_sampler",
    "next_item_loader",
    "session_windows",
    "window_loader",
]


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


def history_sampler(sessions: Sessions) -> Any:
    """A negative sampler that never draws an item of the user's history (nor one
    outside the sessions' ``negative_pool``: the items a cold-start split holds out)."""
    history = Interactions(sessions.users, sessions.items, sessions.n_users, sessions.n_items)
    history.negative_pool = sessions.negative_pool
    return history.sampler()


def window_loader(
    sessions: Sessions, length: int, neg_samples: int, batch_size: int, *,
    seed: int, shuffle: bool = True,
) -> BatchLoader:
    """Batches of ``(windows [B, length], negatives [B, length - 1, neg_samples])``.

    ``negatives[b, j]`` are drawn for the target ``windows[b, j + 1]``; with
    ``neg_samples == 0`` the tensor is empty (``[B, length - 1, 0]``).
    """
    windows, users = session_windows(sessions, length)
    sampler = history_sampler(sessions) if neg_samples else None
    positions = length - 1

    def collate(index: np.ndarray, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        if sampler is None:
            negatives = np.zeros((len(index), positions, 0), dtype=np.int64)
        else:
            negatives = sampler.sample(users[index], positions * neg_samples, rng)
            negatives = negatives.reshape(len(index), positions, neg_samples)
        return torch.from_numpy(windows[index]), torch.from_numpy(negatives)

    return BatchLoader(len(windows), batch_size, collate, shuffle, seed)


def next_item_loader(
    sessions: Sessions, max_seq_len: int, neg_samples: int, batch_size: int, *,
    seed: int, shuffle: bool = True,
) -> BatchLoader:
    """Batches of ``(users [B], sequences [B, max_seq_len], targets [B], negatives [B, N])``:
    one sample per item after a user's first, the items before it left-padded with
    ``n_items``; ``negatives`` is empty (``[B, 0]``) when ``neg_samples == 0``."""
    targets = np.flatnonzero(np.arange(len(sessions)) > sessions.indptr[sessions.users])
    window = np.arange(-max_seq_len, 0, dtype=np.int64)
    sampler = history_sampler(sessions) if neg_samples else None

    def collate(index: np.ndarray, rng: np.random.Generator) -> tuple[Tensor, ...]:
        target = targets[index]
        users = sessions.users[target]
        positions = target[:, None] + window[None, :]
        valid = positions >= sessions.indptr[users][:, None]
        sequences = np.where(valid, sessions.items[np.maximum(positions, 0)], sessions.n_items)
        if sampler is None:
            negatives = np.zeros((len(index), 0), dtype=np.int64)
        else:
            negatives = sampler.sample(users, neg_samples, rng)
        return (torch.from_numpy(users), torch.from_numpy(sequences),
                torch.from_numpy(sessions.items[target]), torch.from_numpy(negatives))

    return BatchLoader(targets.size, batch_size, collate, shuffle, seed)


class TransformerHyperparameters:
    """The hyperparameters of the transformer models (SASRec, gSASRec, BERT4Rec)."""

    embedding_size: Annotated[int, Gt(0), Le(65536)] = 64
    """Dimension of item and position embeddings (and of the transformer)."""
    n_layers: Annotated[int, Gt(0), Le(64)] = 2
    """Number of transformer blocks."""
    n_heads: Annotated[int, Gt(0), Le(256)] = 2
    """Attention heads per block (must divide ``embedding_size``)."""
    inner_size: Annotated[int, Gt(0), Le(1 << 20)] = 256
    """Width of the feed-forward layer of each block."""
    dropout_prob: Annotated[float, Ge(0), Lt(1)] = 0.2
    """Dropout on the embeddings, the residual branches and the feed-forward layers."""
    attn_dropout_prob: Annotated[float, Ge(0), Lt(1)] = 0.2
    """Dropout on the attention weights."""

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        """``n_heads`` divides ``embedding_size`` (each head gets an equal slice)."""
        super().check_relations(params, optimizer)  # type: ignore[misc]
        if params["embedding_size"] % params["n_heads"]:
            raise ConfigError(f"n_heads ({params['n_heads']}) must divide embedding_size "
                              f"({params['embedding_size']}); expected a divisor such as "
                              f"{_divisor_near(params['embedding_size'], params['n_heads'])}")


def _divisor_near(size: int, heads: int) -> int:
    """The divisor of ``size`` closest to ``heads`` (the smaller one on a tie)."""
    return min((d for d in range(1, size + 1) if size % d == 0),
               key=lambda d: (abs(d - heads), d))


class SequentialRecommender(IterativeRecommender):
    """Base class of the next-item models: keeps each user's last ``max_seq_len``
    training items (the buffer ``user_sequences``) and scores what comes next."""

    max_seq_len: Annotated[int, Ge(1), Le(100_000)] = 50
    """Most recent items of a history the model reads."""
    neg_samples: Annotated[int, Ge(0), Le(100_000)] = 0
    """Sampled negative items per target; 0: full softmax cross-entropy over all items."""
    reg_weight: Annotated[float, Ge(0)] = 0.0
    """Weight of the L2 penalty on the item embeddings a batch uses (per sequence)."""
    batch_size: int = 128
    """Sequence windows per training step."""
    epochs: int = 200
    """Maximum passes over the training sequences."""
    learning_rate: float = 0.001
    """Adam learning rate (the trainer's default optimizer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pad = torch.full((self.n_users, self.max_seq_len), self.n_items, dtype=torch.long)
        self.register_buffer("user_sequences", pad)

    # -- data ----------------------------------------------------------------------

    def _remember(self, sessions: Sessions | None) -> Sessions:
        """Store each user's latest ``max_seq_len`` items of ``sessions`` for predict."""
        if sessions is None:
            raise WarpRecError(
                f"{self.name} needs the training Sessions (time-ordered histories); "
                "got sessions=None"
            )
        sequences, _ = sessions.get_padded_sequences(self.max_seq_len)
        self.user_sequences.copy_(sequences.to(self.user_sequences.device))
        return sessions

    def set_history(self, sessions: Sessions) -> None:
        """Replace the kept histories with each user's latest items of ``sessions``.

        For example the train + validation histories before scoring the test split of a
        leave-one-out protocol: the model then predicts the item after the validation
        item, reading it without having been trained on it.
        """
        self._remember(sessions)

    def _sequences(self, user_indices: Tensor) -> Tensor:
        """The kept sequences ``[B, max_seq_len]`` of ``user_indices``."""
        return self.user_sequences[user_indices.to(self.user_sequences.device)]

    # -- scoring and losses --------------------------------------------------------

    def _score(
        self, hidden: Tensor, weight: Tensor, item_indices: Tensor | None,
        bias: Tensor | None = None,
    ) -> Tensor:
        """Dot products of ``hidden [B, E]`` with the item rows of ``weight``: all items
        ``[B, n_items]`` or ``item_indices [B, S]`` (plus the item ``bias``)."""
        if item_indices is None:
            scores = hidden @ weight[: self.n_items].T
            return scores if bias is None else scores + bias[: self.n_items]
        items = item_indices.to(hidden.device)
        scores = torch.einsum("be,bse->bs", hidden, weight[items])
        return scores if bias is None else scores + bias[items]

    def _next_item_loss(
        self, hidden: Tensor, targets: Tensor, negatives: Tensor, weight: Tensor,
        kind: str = "bpr", bias: Tensor | None = None,
    ) -> Tensor:
        """Loss of predicting ``targets [N]`` from ``hidden [N, E]``.

        ``negatives [N, K]`` empty: cross-entropy of a softmax over every item. Else
        ``kind`` ``"bpr"`` (mean of ``-log sigmoid(pos - neg)``) or ``"bce"`` (binary
        cross-entropy, the target labelled 1 and each negative 0, averaged).
        """
        if negatives.shape[-1] == 0:
            logits = hidden @ weight[: self.n_items].T
            if bias is not None:
                logits = logits + bias[: self.n_items]
            return F.cross_entropy(logits, targets)
        positive = torch.linalg.vecdot(hidden, weight[targets])
        negative = torch.einsum("ne,nke->nk", hidden, weight[negatives])
        if bias is not None:
            positive, negative = positive + bias[targets], negative + bias[negatives]
        if kind == "bpr":
            return F.softplus(negative - positive.unsqueeze(1)).mean()
        # BCE over [positive, negatives] with labels [1, 0, ...], averaged per element.
        per_row = F.softplus(-positive) + F.softplus(negative).sum(dim=1)
        return per_row.mean() / (1 + negative.shape[1])

    def _l2(self, rows: int, *embeddings: Tensor) -> Tensor | float:
        """``reg_weight * 0.5 * sum of squares / rows`` (WarpRec's ``EmbLoss``), or 0."""
        if not self.reg_weight:
            return 0.0
        total = sum(e.pow(2).sum() for e in embeddings)
        return self.reg_weight * 0.5 * total / max(rows, 1)


def attention_mask(keep: Tensor, causal: bool) -> Tensor:
    """Boolean mask ``[B, 1, L, L]`` (True: may attend) for left-padded sequences:
    real keys only (and, if ``causal``, none after the query); every position may
    attend to itself, so that padding rows are not empty (no NaN)."""
    length = keep.shape[1]
    allowed = keep[:, None, None, :].expand(-1, 1, length, -1)
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool,
                                       device=keep.device).tril()
    return allowed | torch.eye(length, dtype=torch.bool, device=keep.device)


class _Block(nn.Module):
    """One pre-LayerNorm transformer block (multi-head self-attention, GELU FFN)."""

    def __init__(self, size: int, heads: int, inner: int, dropout: float,
                 attn_dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.attn_norm = nn.LayerNorm(size)
        self.qkv = nn.Linear(size, 3 * size)
        self.out = nn.Linear(size, size)
        self.ffn_norm = nn.LayerNorm(size)
        self.ffn_in = nn.Linear(size, inner)
        self.ffn_out = nn.Linear(inner, size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        batch, length, size = hidden.shape
        qkv = self.qkv(self.attn_norm(hidden)).view(batch, length, 3, self.heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.attn_dropout if self.training else 0.0
        )
        attended = attended.transpose(1, 2).reshape(batch, length, size)
        hidden = hidden + self.dropout(self.out(attended))
        inner = self.dropout(F.gelu(self.ffn_in(self.ffn_norm(hidden))))
        return hidden + self.dropout(self.ffn_out(inner))


class TransformerEncoder(nn.Module):
    """``n_layers`` pre-LayerNorm blocks and a final LayerNorm.

    ``dropout`` applies to the residual branches and inside the feed-forward layer,
    ``attn_dropout`` to the attention weights (WarpRec's ``dropout_prob`` and
    ``attn_dropout_prob``).
    """

    def __init__(self, size: int, n_layers: int, n_heads: int, inner_size: int,
                 dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            _Block(size, n_heads, inner_size, dropout, attn_dropout) for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(size)

    def forward(self, hidden: Tensor, keep: Tensor, causal: bool) -> Tensor:
        """Hidden states ``[B, L, E]``; ``keep [B, L]`` marks the real (non-padding) items."""
        mask = attention_mask(keep, causal)
        weight = keep.unsqueeze(-1).to(hidden.dtype)
        for block in self.blocks:
            hidden = block(hidden, mask) * weight
        return self.final_norm(hidden)
