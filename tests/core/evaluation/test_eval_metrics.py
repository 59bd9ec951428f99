"""Every metric against a straightforward implementation written here, on random inputs
(few score levels, so ties are common) and edge cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warprec.evaluation import Evaluator
from warprec.recommenders.ranking import tie_break_rank

USER_METRICS = ["nDCG", "Precision", "Recall", "HitRate", "MRR", "MAP", "F1", "EPC", "APLT", "ARP"]
GLOBAL_METRICS = ["ItemCoverage", "Gini", "ShannonEntropy"]
ALL = USER_METRICS + GLOBAL_METRICS


def ranked(scores: list[float], excluded: set[int], rank: list[int], k: int) -> list[int]:
    candidates = [i for i in range(len(scores)) if i not in excluded]
    return sorted(candidates, key=lambda i: (-scores[i], rank[i]))[:k]


def user_metrics(lst: list[int], rel: set[int], k: int, pop: list[int], tail: set[int],
                 n_users: int) -> dict[str, float]:  # fmt: skip
    hits = [1.0 if i in rel else 0.0 for i in lst]
    found = sum(hits)
    precision, recall = found / k, found / len(rel)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
    first = next((r for r, h in enumerate(hits) if h), None)
    ap = sum(sum(hits[: r + 1]) / (r + 1) for r, h in enumerate(hits) if h) / min(k, len(rel))
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return {
        "nDCG": sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg,
        "Precision": precision,
        "Recall": recall,
        "HitRate": 1.0 if found else 0.0,
        "MRR": 0.0 if first is None else 1 / (first + 1),
        "MAP": ap,
        "F1": 2 * precision * recall / (precision + recall) if found else 0.0,
        "EPC": mean([1 - pop[i] / n_users for i in lst]),
        "APLT": mean([1.0 if i in tail else 0.0 for i in lst]),
        "ARP": mean([float(pop[i]) for i in lst]),
    }


def global_metrics(lists: list[list[int]], n_items: int) -> dict[str, float]:
    counts = [sum(lst.count(i) for lst in lists) for i in range(n_items)]
    total = sum(counts)
    if total == 0:
        return {"ItemCoverage": 0.0, "Gini": math.nan, "ShannonEntropy": math.nan}
    ordered = sorted(counts)
    gini = sum((2 * (j + 1) - n_items - 1) * c for j, c in enumerate(ordered)) / (n_items * total)
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return {"ItemCoverage": float(sum(c > 0 for c in counts)), "Gini": gini,
            "ShannonEntropy": entropy}  # fmt: skip


def long_tail(pop: list[int]) -> set[int]:
    order = sorted(range(len(pop)), key=lambda i: -pop[i])
    head, covered, total = set(), 0, sum(pop)
    for i in order:
        if total == 0 or covered >= 0.8 * total:
            break
        head.add(i)
        covered += pop[i]
    return set(range(len(pop))) - head


def reference(scores: np.ndarray, known: np.ndarray, target: np.ndarray, ks: list[int],
              seed: int) -> tuple[dict[str, float], dict[str, list[float]]]:  # fmt: skip
    n_users, n_items = scores.shape
    rank = tie_break_rank(n_items, seed).tolist()
    pop = [int(v) for v in (known > 0).sum(axis=0)]
    tail = long_tail(pop)
    users = [u for u in range(n_users) if target[u].any()]
    means: dict[str, float] = {}
    per_user: dict[str, list[float]] = {}
    for k in ks:
        lists = [ranked(scores[u].tolist(), set(np.flatnonzero(known[u])), rank, k) for u in users]
        rows = [
            user_metrics(lst, set(np.flatnonzero(target[u])), k, pop, tail, n_users)
            for u, lst in zip(users, lists, strict=True)
        ]
        for name in USER_METRICS:
            per_user[f"{name}@{k}"] = [row[name] for row in rows]
            means[f"{name}@{k}"] = float(np.mean(per_user[f"{name}@{k}"])) if rows else math.nan
        if users:
            for name, value in global_metrics(lists, n_items).items():
                means[f"{name}@{k}"] = value
    return means, per_user


def check(scores: Any, train: Any, test: Any, ks: list[int], tools: Any, seed: int = 42,
          validation: Any = None) -> Any:  # fmt: skip
    dataset = tools.build(train, test, validation)
    model = tools.model_for(scores, seed=seed)
    split = "test"
    result = Evaluator(ALL, ks, seed=seed).evaluate(model, dataset, split=split)
    known = dataset.train_validation.matrix.toarray()
    means, per_user = reference(np.asarray(scores, dtype=np.float32), known, np.asarray(test), ks,
                                seed)  # fmt: skip
    assert list(result.values) == [f"{m}@{k}" for m in ALL for k in sorted(set(ks))]
    for key, value in means.items():
        assert result.values[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
    for key, values in per_user.items():
        assert result.per_user[key] == pytest.approx(values, abs=1e-9), key
    return result


@st.composite
def problems(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int], int]:
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    levels = draw(st.integers(1, 4))
    scores = rng.integers(0, levels, (n_users, n_items)).astype(np.float32)
    train = (rng.random((n_users, n_items)) < draw(st.floats(0, 0.7))).astype(np.float32)
    test = (rng.random((n_users, n_items)) < draw(st.floats(0, 0.6))).astype(np.float32)
    ks = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
    return scores, train, test, ks, seed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=problems())
def test_metrics_match_reference(problem: Any, tools: Any) -> None:
    scores, train, test, ks, seed = problem
    check(scores, train, test, ks, tools, seed=seed)


def test_ties_fewer_relevant_than_k_and_skipped_users(tools: Any) -> None:
    scores = [[1, 1, 1, 1, 0], [3, 2, 2, 2, 1], [0, 0, 0, 0, 0]]
    train = [[1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0]]
    test = [[0, 1, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]
    result = check(scores, train, test, [1, 3, 10], tools)
    assert (result.n_users_evaluated, result.n_users_skipped) == (2, 1)
    assert result.users.tolist() == [0, 1]


def test_validation_items_are_masked_on_test(tools: Any) -> None:
    scores = [[5, 4, 3, 2, 1]]
    dataset = tools.build([[1, 0, 0, 0, 0]], [[0, 0, 1, 0, 0]], validation=[[0, 1, 0, 0, 0]])
    evaluator = Evaluator(["HitRate", "MRR"], [1, 2])
    test = evaluator.evaluate(tools.model_for(scores), dataset, split="test").summary()
    assert test == {"HitRate@1": 1.0, "HitRate@2": 1.0, "MRR@1": 1.0, "MRR@2": 1.0}
    valid = evaluator.evaluate(tools.model_for(scores), dataset, split="validation").summary()
    assert valid["MRR@1"] == 1.0  # on validation only training items are masked


def test_no_evaluable_user(tools: Any) -> None:
    result = Evaluator(ALL, [5]).evaluate(
        tools.model_for([[1.0, 2.0]]), tools.build([[1, 0]], [[0, 0]]), split="test"
    )
    assert result.n_users_evaluated == 0 and result.n_users_skipped == 1
    assert all(math.isnan(v) for v in result.values.values())


def test_known_values(tools: Any) -> None:
    # One user, relevant {0, 2}; the list is [0, 1, 2].
    result = Evaluator(["nDCG", "Precision", "Recall", "MRR", "MAP", "F1"], [3]).evaluate(
        tools.model_for([[3.0, 2.0, 1.0, 0.0]]),
        tools.build([[0, 0, 0, 1]], [[1, 0, 1, 0]]),
        split="test",
    )
    idcg = 1 + 1 / math.log2(3)
    assert result.summary() == pytest.approx({
        "nDCG@3": (1 + 1 / math.log2(4)) / idcg,
        "Precision@3": 2 / 3,
        "Recall@3": 1.0,
        "MRR@3": 1.0,
        "MAP@3": (1 + 2 / 3) / 2,
        "F1@3": 0.8,
    })  # fmt: skip
