"""VSM (Di Noia et al., "Linked open data to support content-based recommender
systems", 2012), as WarpRec computes it: a user's profile sums the features of their
items; a score is the similarity between the user's profile and the item's."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from warprec.data.dataset import Interactions
from warprec.recommenders.base_recommender import Recommender

from warprec_models_classic._features import (
    FeatureSimilarity,
    item_features,
    profile_similarity,
    tfidf,
)

__all__ = ["VSM"]


class VSM(Recommender):
    """Vector space model: ``score(u, i) = sim(profile(u), profile(i))``."""

    needs_training_data: ClassVar[bool] = True  # fitted from the data in __init__
    needs_item_features: ClassVar[bool] = True
    fitted_state = ("user_profiles", "item_profiles")

    similarity: FeatureSimilarity = "cosine"
    """Similarity between a user's profile and an item's."""
    user_profile: Literal["binary", "tfidf"] = "tfidf"
    """'binary': the summed features of the user's items; 'tfidf': its TF-IDF weighting
    (feature frequencies per user, inverse frequencies over users, L2-normalised)."""
    item_profile: Literal["binary", "tfidf"] = "tfidf"
    """'binary': the item's features; 'tfidf': their TF-IDF weighting over items."""

    def __init__(self, params: dict, info: dict, interactions: Interactions, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        items = item_features(interactions, self.name)
        if self.item_profile == "tfidf":
            items = tfidf(items)
        users = sp.csr_matrix(sp.csr_matrix(interactions.get_sparse(), dtype=np.float32) @ items)
        if self.user_profile == "tfidf":
            users = tfidf(users, normalize_tf=True)
        self.item_profiles = sp.csr_matrix(items)
        self.user_profiles = users

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        """Similarities of the users' profiles to every item's, or to ``item_indices``."""
        users = user_indices.detach().cpu().numpy()
        compute = profile_similarity(self.similarity)
        dense = compute(self.user_profiles[users], self.item_profiles)
        scores = torch.from_numpy(np.asarray(dense, dtype=np.float32)).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))

