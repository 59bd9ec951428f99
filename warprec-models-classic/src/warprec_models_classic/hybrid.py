"""Hybrid models that read item features (``reader.side``), under WarpRec's names and
hyperparameters: AttributeItemKNN, AttributeUserKNN (Gantner et al., MyMediaLite 2011),
CEASE and AddEASE (Jeunen et al., "Closed-form models for collaborative filtering with
side-information", RecSys 2020).

With ``F`` the ``(n_items, n_features)`` feature matrix and ``X`` the training matrix:

- AttributeItemKNN: item-item top-``k`` similarities of the rows of ``F``; ``X @ S``.
- AttributeUserKNN: user profiles ``X @ F`` (optionally TF-IDF), user-user top-``k``
  similarities ``S``; ``S @ X``.
- CEASE: EASE on ``X`` stacked over ``alpha * F^T``, so the Gram matrix is
  ``X^T X + alpha^2 F F^T``.
- AddEASE: ``alpha * B(X) + (1 - alpha) * B(F^T)``, two EASE solutions with one ``l2``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import ItemSimRecommender, Recommender

from warprec_models_classic._features import FeatureSimilarity, item_features, tfidf, topk_rows
from warprec_models_classic.ease import ease_weights

__all__ = ["CEASE", "AddEASE", "AttributeItemKNN", "AttributeUserKNN"]


class AttributeItemKNN(ItemSimRecommender):
    """Item k-nearest neighbours on item features: ``score(u, j) = sum_i x_ui s(i, j)``
    over the ``k`` items ``j`` most similar to each item ``i`` by their features."""

    needs_item_features: ClassVar[bool] = True

    k: Annotated[int, Ge(1), Le(2**31 - 1)] = 100
    """Neighbours kept per item (the item itself among them, as in WarpRec)."""
    similarity: FeatureSimilarity = "cosine"
    """Similarity between two items' feature rows."""

    def __init__(self, params: dict, info: dict, interactions: Interactions, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        features = item_features(interactions, self.name)
        self.item_similarity = topk_rows(features, self.similarity, self.k)


class AttributeUserKNN(Recommender):
    """User k-nearest neighbours on feature profiles: a user's profile sums the features
    of their items; their scores are the similarity-weighted sum of the ``k`` most
    similar users' interactions."""

    needs_training_data: ClassVar[bool] = True  # fitted from the data in __init__
    needs_item_features: ClassVar[bool] = True
    fitted_state = ("train_matrix", "user_similarity")

    k: Annotated[int, Ge(1), Le(2**31 - 1)] = 60
    """Neighbours kept per user (the user among them, as in WarpRec)."""
    similarity: FeatureSimilarity = "cosine"
    """Similarity between two users' profiles."""
    user_profile: Literal["binary", "tfidf"] = "tfidf"
    """'binary': the summed features ``X @ F``; 'tfidf': its TF-IDF weighting (feature
    frequencies per user, inverse frequencies over users, L2-normalised)."""

    def __init__(self, params: dict, info: dict, interactions: Interactions, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.train_matrix = sp.csr_matrix(interactions.get_sparse(), dtype=np.float32)
        profiles = sp.csr_matrix(self.train_matrix @ item_features(interactions, self.name))
        if self.user_profile == "tfidf":
            profiles = tfidf(profiles, normalize_tf=True)
        self.user_similarity = topk_rows(profiles, self.similarity, self.k)

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        """Scores ``user_similarity[users] @ train_matrix``, all items or ``item_indices``."""
        users = user_indices.detach().cpu().numpy()
        dense = (self.user_similarity[users] @ self.train_matrix).toarray()
        scores = torch.from_numpy(np.asarray(dense, dtype=np.float32)).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))



class _ClosedForm(ItemSimRecommender):
    """The hyperparameters CEASE and AddEASE share (WarpRec's ``l2`` > 0, ``alpha`` in
    [0, 1])."""

    needs_item_features: ClassVar[bool] = True

    l2: Annotated[float, Gt(0), Le(1e12)] = 500.0
    """L2 regularisation added to the diagonal of the Gram matrix (EASE's default)."""
    dtype: Literal["float32", "float64"] = "float32"
    """Precision of the Gram matrix and its inverse (WarpRec inverts in float64)."""

    def _weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        weights = ease_weights(matrix, self.l2, self.dtype, self.device)
        if isinstance(weights, torch.Tensor):
            return weights.double().cpu().numpy()
        return weights


class CEASE(_ClosedForm):
    """EASE on the interactions stacked over the weighted item features: items that
    share features get larger weights."""

    alpha: Annotated[float, Ge(0), Le(1)] = 1.0
    """Weight of the feature rows stacked under the interactions (their Gram term is
    ``alpha^2 F F^T``)."""

    def __init__(self, params: dict, info: dict, interactions: Interactions, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        features = item_features(interactions, self.name)
        extended = sp.vstack([self.train_matrix, self.alpha * features.T]).tocsr()
        self.item_similarity = self._weights(extended).astype(np.float32, copy=False)


class AddEASE(_ClosedForm):
    """A weighted sum of two EASE solutions: one on the interactions, one on the item
    features."""

    alpha: Annotated[float, Ge(0), Le(1)] = 0.9
    """Weight of the collaborative solution; the feature solution gets ``1 - alpha``."""

    def __init__(self, params: dict, info: dict, interactions: Interactions, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, interactions, *args, seed=seed, **kwargs)
        features = item_features(interactions, self.name)
        collaborative = self._weights(self.train_matrix)
        content = self._weights(sp.csr_matrix(features.T))
        collaborative *= self.alpha
        collaborative += (1 - self.alpha) * content
        self.item_similarity = collaborative.astype(np.float32, copy=False)
