"""Top-k with seen items masked and ties broken by the seeded order, vs a plain sort."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from warprec.recommenders.ranking import mask_seen, tie_break_rank, top_k


def reference(scores: np.ndarray, k: int, rank: np.ndarray) -> list[list[int]]:
    return [
        sorted(range(len(row)), key=lambda i: (-row[i], rank[i]))[:k] for row in scores.tolist()
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 12),
    st.integers(1, 14),
    st.integers(0, 3),
    st.integers(0, 2**31 - 1),
)
def test_top_k_matches_sorted_order(rows: int, cols: int, k: int, levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct levels force ties; levels == 0 gives continuous scores.
    scores = rng.integers(0, levels, (rows, cols)) if levels else rng.random((rows, cols))
    scores = torch.tensor(scores, dtype=torch.float32)
    rank = tie_break_rank(cols, seed)
    items, values = top_k(scores, k, rank)
    expected = reference(scores.numpy(), k, rank.numpy())
    assert items.tolist() == expected
    assert torch.equal(values, scores.gather(1, items))


def test_top_k_with_per_row_rank() -> None:
    scores = torch.zeros(2, 4)
    rank = torch.tensor([[3, 2, 1, 0], [0, 1, 2, 3]])
    assert top_k(scores, 2, rank)[0].tolist() == [[3, 2], [0, 1]]


def test_tie_break_rank_is_a_seeded_permutation() -> None:
    a, b = tie_break_rank(50, 1), tie_break_rank(50, 2)
    assert sorted(a.tolist()) == list(range(50))
    assert torch.equal(a, tie_break_rank(50, 1)) and not torch.equal(a, b)


def test_mask_seen_sets_minus_infinity_in_place() -> None:
    seen = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0], [0, 1, 1]], dtype=np.float32))
    scores = torch.ones(2, 3)
    mask_seen(scores, np.array([2, 0]), seen)
    assert scores.tolist() == [[1.0, -np.inf, -np.inf], [-np.inf, 1.0, 1.0]]
