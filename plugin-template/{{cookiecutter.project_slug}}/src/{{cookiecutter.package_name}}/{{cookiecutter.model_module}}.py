{%- if cookiecutter.model_kind == "classic" -%}
"""{{ cookiecutter.model_name }}: item-based collaborative filtering.

The item-item similarity is the cosine between item columns of the user-item matrix,
shrunk towards zero when few users back it, and pruned to the ``k`` nearest neighbours
of each item. A user's score for item ``j`` is the sum of the similarities between ``j``
and the items the user interacted with (``ItemSimRecommender`` computes it).

Replace :func:`item_similarity` with your own model: any ``[n_items, n_items]`` matrix
(numpy, torch, or scipy sparse) assigned to ``self.item_similarity`` works.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
from annotated_types import Ge, Le
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import ItemSimRecommender

__all__ = ["{{ cookiecutter.model_name }}", "item_similarity"]

# Similarity columns computed at once: memory stays O(n_items * _BLOCK).
_BLOCK = 1024


class {{ cookiecutter.model_name }}(ItemSimRecommender):
    """Item-based collaborative filtering with shrunk cosine similarity.

    Every hyperparameter has a default, so ``{{ cookiecutter.model_name }}: {}`` in a
    config runs as is.
    """

    # A hyperparameter's domain lives in its annotation: the core checks it (config
    # check, the plan, the constructor) before anything is built.
    k: Annotated[int, Ge(1), Le(100_000)] = 50
    """Neighbours kept per item (its most similar items)."""
    shrink: Annotated[float, Ge(0)] = 10.0
    """Added to the cosine denominator: damps similarities backed by few users."""

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        self.item_similarity = item_similarity(self.train_matrix, self.k, self.shrink)


def item_similarity(X: sp.csr_matrix, k: int, shrink: float) -> sp.csr_matrix:
    """Shrunk cosine similarity of the item columns of ``X``, top-``k`` per item.

    ``S[i, j] = X[:, i] . X[:, j] / (|X[:, i]| |X[:, j]| + shrink)``; column ``j`` keeps
    the ``k`` largest positive values (the neighbours of item ``j``), the diagonal is 0.
    Computed in column blocks, so the dense part never exceeds ``n_items x _BLOCK``.
    """
    X = sp.csc_matrix(X, dtype=np.float32)
    n = X.shape[1]
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n), dtype=np.float32)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    Xt = X.T.tocsr()
    rows, cols, values = [], [], []
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        block = (Xt @ X[:, start:stop]).toarray()
        block /= norms[:, None] * norms[None, start:stop] + shrink + 1e-12
        block[np.arange(start, stop), np.arange(stop - start)] = 0.0
        top = np.argpartition(-block, k - 1, axis=0)[:k]
        best = np.take_along_axis(block, top, axis=0)
        keep = best > 0
        rows.append(top[keep])
        cols.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
        values.append(best[keep])
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
        dtype=np.float32,
    )
{%- elif cookiecutter.model_kind == "features" -%}
"""{{ cookiecutter.model_name }}: content-based item neighbours from item features.

The item-item similarity is the cosine between the items' feature rows (the side
information of ``reader.side``: a genre, a category, a numeric attribute...), pruned to
the ``k`` nearest neighbours of each item. A user's score for item ``j`` is the sum of
the similarities between ``j`` and the items the user interacted with
(``ItemSimRecommender`` computes it). An item never seen in training (an
``item_cold_start`` split holds whole items out) still has its features, so it is
scored like any other.

``needs_item_features = True`` is the contract: WarpRec refuses a config without
``reader.side`` before reading any data, and the training interactions the constructor
receives carry ``interactions.item_features``, a float32 scipy CSR matrix
``[n_items, n_features]`` (row ``i`` describes item index ``i``).

Replace :func:`feature_similarity` with your own model: any ``[n_items, n_items]``
matrix assigned to ``self.item_similarity`` works.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
from annotated_types import Ge, Le
from warprec.data.dataset import Interactions
from warprec.errors import DataError
from warprec.recommenders.base_recommender import ItemSimRecommender

__all__ = ["{{ cookiecutter.model_name }}", "feature_similarity"]

# Similarity columns computed at once: memory stays O(n_items * _BLOCK).
_BLOCK = 1024


class {{ cookiecutter.model_name }}(ItemSimRecommender):
    """Item neighbours by the cosine similarity of their features.

    Every hyperparameter has a default, so ``{{ cookiecutter.model_name }}: {}`` in a
    config with ``reader.side`` runs as is.
    """

    # The model reads item features: the runner gives them with the interactions.
    needs_item_features = True

    # A hyperparameter's domain lives in its annotation: the core checks it (config
    # check, the plan, the constructor) before anything is built.
    k: Annotated[int, Ge(1), Le(100_000)] = 50
    """Neighbours kept per item (its most similar items by features)."""

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        features = getattr(interactions, "item_features", None)
        if features is None:
            raise DataError(f"{self.name}: the training interactions carry no item features; "
                            "expected reader.side naming a side-information file")
        self.item_similarity = feature_similarity(features, self.k)


def feature_similarity(features: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Cosine similarity of the rows of ``features``, top-``k`` per item.

    ``S[i, j] = F[i] . F[j] / (|F[i]| |F[j]|)``; column ``j`` keeps the ``k`` largest
    positive values (the neighbours of item ``j``), the diagonal is 0. Computed in column
    blocks, so the dense part never exceeds ``n_items x _BLOCK``.
    """
    F = sp.csr_matrix(features, dtype=np.float32)
    norms = np.sqrt(np.asarray(F.multiply(F).sum(axis=1)).ravel())
    F = sp.csr_matrix(sp.diags(1 / np.where(norms > 0, norms, 1)) @ F)  # unit rows
    n = F.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n), dtype=np.float32)
    Ft = sp.csc_matrix(F.T)
    rows, cols, values = [], [], []
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        block = (F @ Ft[:, start:stop]).toarray()
        block[np.arange(start, stop), np.arange(stop - start)] = 0.0
        top = np.argpartition(-block, k - 1, axis=0)[:k]
        best = np.take_along_axis(block, top, axis=0)
        keep = best > 0
        rows.append(top[keep])
        cols.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
        values.append(best[keep])
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
        dtype=np.float32,
    )
{%- elif cookiecutter.model_kind == "plain" -%}
"""{{ cookiecutter.model_name }}: PureSVD, a factor model fitted in closed form.

The user-item matrix ``X`` is approximated by its truncated singular value decomposition
``X ~ U S V^T`` (``factors`` singular triplets); a user's score for item ``j`` is
``(U S)[user] . V[j]``, the low-rank reconstruction of the user's row. Nothing is trained:
the constructor fits the model from the training interactions.

A plain ``Recommender`` states two things the runner relies on:

- ``needs_training_data = True``: the runner passes the training ``Interactions`` as the
  third positional constructor argument (without it, the constructor gets none);
- what the model learns lives in buffers (``register_buffer``; numpy or scipy state
  goes in attributes named by the class's ``fitted_state``), so ``save``/``load`` restore
  it: loading a checkpoint builds the model without running its constructor.

Replace :func:`truncated_svd` and :meth:`predict` with your own model.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Le
from scipy.sparse.linalg import svds
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import Recommender

__all__ = ["{{ cookiecutter.model_name }}", "truncated_svd"]


class {{ cookiecutter.model_name }}(Recommender):
    """PureSVD: scores from the rank-``factors`` reconstruction of the user-item matrix.

    Every hyperparameter has a default, so ``{{ cookiecutter.model_name }}: {}`` in a
    config runs as is.
    """

    # The runner passes the training interactions to the constructor (a class constant,
    # not a hyperparameter: no annotation).
    needs_training_data = True

    factors: Annotated[int, Ge(1), Le(65_536)] = 64
    """Singular triplets kept (at most min(n_users, n_items) - 1 are used)."""

    # Buffers, declared for type checkers; registered in __init__.
    user_factors: Tensor
    item_factors: Tensor

    def __init__(
        self,
        params: dict,
        info: dict,
        interactions: Interactions,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        users, items = truncated_svd(interactions.get_sparse(), self.factors, self.seed)
        # Buffers travel with state_dict (save/load) and with .to(device).
        self.register_buffer("user_factors", torch.from_numpy(users))
        self.register_buffer("item_factors", torch.from_numpy(items))

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``[B, n_items]`` of every item, or ``[B, S]`` of ``item_indices``."""
        users = self.user_factors[user_indices.to(self.user_factors.device)]
        if item_indices is None:
            return users @ self.item_factors.T
        items = self.item_factors[item_indices.to(self.item_factors.device)]
        return torch.einsum("bf,bsf->bs", users, items)


def truncated_svd(X: sp.spmatrix, factors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(U S, V)`` of the rank-``factors`` SVD of ``X``, float32.

    ``factors`` is capped at ``min(X.shape) - 1`` (what ARPACK can compute); the start
    vector comes from ``seed``, so the same data and seed give the same factors.
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    k = min(factors, min(X.shape) - 1)
    if k < 1 or X.nnz == 0:
        return (np.zeros((X.shape[0], 1), dtype=np.float32),
                np.zeros((X.shape[1], 1), dtype=np.float32))
    v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, min(X.shape))
    u, s, vt = svds(X, k=k, v0=v0)
    return (u * s).astype(np.float32), vt.T.astype(np.float32)
{%- else -%}
"""{{ cookiecutter.model_name }}: matrix factorisation trained with the BPR pairwise loss.

Users and items are embedded in the same space; a score is the dot product of the two
embeddings. Training (run by WarpRec's trainer) pushes each user's observed item above a
sampled unobserved one, with an L2 penalty on the embeddings of the batch.

Replace the embeddings, :meth:`train_step` and :meth:`predict` with your own model; keep
the ``batch_size``, ``epochs`` and ``learning_rate`` hyperparameters the trainer uses.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from annotated_types import Ge, Le
from torch import Tensor, nn
from warprec.data.dataset import Interactions, Sessions
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.recommenders.losses import BPRLoss, EmbLoss

__all__ = ["{{ cookiecutter.model_name }}"]


class {{ cookiecutter.model_name }}(IterativeRecommender):
    """Matrix factorisation with BPR, trained in mini-batches by the trainer.

    Every hyperparameter has a default, so ``{{ cookiecutter.model_name }}: {}`` in a
    config runs as is.
    """

    embedding_size: Annotated[int, Ge(1), Le(65_536)] = 64
    """Dimension of the user and item embeddings."""
    reg_weight: Annotated[float, Ge(0)] = 1e-4
    """Weight of the L2 penalty on the embeddings of each batch."""
    # The base class gives batch_size, epochs and learning_rate their domains; a bare
    # annotation here keeps them.
    batch_size: int = 1024
    """Training triples (user, positive item, negative item) per mini-batch."""
    epochs: int = 20
    """Passes over the training interactions."""
    learning_rate: float = 0.01
    """Learning rate of the optimizer (Adam unless the config names another)."""

    def __init__(
        self,
        params: dict,
        info: dict,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_size)
        # Index n_items is WarpRec's padding item: its embedding stays zero.
        self.item_embedding = nn.Embedding(
            self.n_items + 1, self.embedding_size, padding_idx=self.n_items
        )
        self.apply(self._init_weights)
        self.bpr_loss = BPRLoss()
        self.reg_loss = EmbLoss()

    def get_dataloader(self, interactions: Interactions, sessions: Sessions, **kwargs: Any) -> Any:
        """Batches of ``(user, positive item, negative item)``, new negatives each epoch."""
        return interactions.get_contrastive_dataloader(batch_size=self.batch_size, **kwargs)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        """Scores of ``(user[b], item[b])`` pairs."""
        return (self.user_embedding(user) * self.item_embedding(item)).sum(dim=-1)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """BPR loss of one batch plus the embedding penalty (a scalar tensor)."""
        user, pos_item, neg_item = batch
        user_e = self.user_embedding(user)
        pos_e, neg_e = self.item_embedding(pos_item), self.item_embedding(neg_item)
        loss = self.bpr_loss((user_e * pos_e).sum(dim=-1), (user_e * neg_e).sum(dim=-1))
        return loss + self.reg_weight * self.reg_loss(user_e, pos_e, neg_e)

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``[B, n_items]`` of every item, or ``[B, S]`` of ``item_indices``."""
        user_e = self.user_embedding(user_indices)
        if item_indices is None:
            return user_e @ self.item_embedding.weight[:-1].T
        return torch.einsum("be,bse->bs", user_e, self.item_embedding(item_indices))
{%- endif %}
