"""What the feature-based models share: WarpRec's similarity functions over feature
profiles, its blockwise top-k, its TF-IDF weighting and the feature matrix lookup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.metrics.pairwise import cosine_similarity, euclidean_distances, manhattan_distances
from sklearn.preprocessing import normalize
from warprec.errors import DataError

__all__ = ["FeatureSimilarity", "item_features", "profile_similarity", "tfidf", "topk_rows"]

FeatureSimilarity = Literal["cosine", "dot", "euclidean", "manhattan"]

# Bytes of one dense block of similarities while the top-k is taken.
_BLOCK_BYTES = 64 * 2**20

_SIMILARITIES: dict[str, Callable[[sp.csr_matrix, sp.csr_matrix], np.ndarray]] = {
    "cosine": cosine_similarity,
    "dot": lambda X, Y: np.asarray((X @ Y.T).toarray()),
    "euclidean": lambda X, Y: 1 / (1 + euclidean_distances(X, Y)),
    "manhattan": lambda X, Y: (1 / (1 + manhattan_distances(X, Y))).astype(X.dtype),
}


def item_features(interactions: Any, model: str) -> sp.csr_matrix:
    """The ``(n_items, n_features)`` item features the training interactions carry."""
    features = getattr(interactions, "item_features", None)
    if features is None:
        raise DataError(f"{model}: the training interactions carry no item features; "
                        "expected reader.side naming a side-information file")
    return sp.csr_matrix(features, dtype=np.float32)


def profile_similarity(similarity: str) -> Callable[[sp.csr_matrix, sp.csr_matrix], np.ndarray]:
    """WarpRec's similarity ``name`` between the rows of two profile matrices."""
    return _SIMILARITIES[similarity]


def topk_rows(profiles: sp.csr_matrix, similarity: str, k: int) -> sp.csr_matrix:
    """Row ``t`` keeps the ``k`` largest similarities between profile ``t`` and every
    profile, itself included (WarpRec's blockwise top-k: ``torch.topk`` per row, so ties
    fall the same way)."""
    n = profiles.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    compute = profile_similarity(similarity)
    block = max(1, _BLOCK_BYTES // (8 * max(n, 1)))
    cols = np.empty(n * k, dtype=np.int64)
    values = np.empty(n * k, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        top = torch.topk(torch.from_numpy(compute(profiles[start:stop], profiles)), k=k, dim=1)
        cols[start * k: stop * k] = top.indices.numpy().ravel()
        values[start * k: stop * k] = top.values.numpy().ravel()
    rows = np.repeat(np.arange(n), k)
    return sp.csr_matrix((values, (rows, cols)), shape=(n, n))


def tfidf(profiles: sp.csr_matrix, normalize_tf: bool = False) -> sp.csr_matrix:
    """WarpRec's TF-IDF of a (row x feature) profile: smoothed IDF over the rows,
    ``log((n + 1) / (df + 1)) + 1``, optional per-row term frequencies, L2-normalised rows."""
    profiles = sp.csr_matrix(profiles)
    document_frequency = np.diff(profiles.tocsc().indptr)
    idf = np.log((profiles.shape[0] + 1) / (document_frequency + 1)) + 1
    if normalize_tf:
        sums = np.asarray(profiles.sum(axis=1)).ravel()
        sums[sums == 0] = 1
        profiles = sp.csr_matrix(profiles.multiply(1 / sums[:, None]))
    return normalize(profiles @ sp.diags(idf), norm="l2", axis=1)
