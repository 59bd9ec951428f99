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

USER_METRICS = ["nDCG", "nDCGRendle2020", "Precision", "Recall", "HitRate", "MRR", "MAP", "MAR",
                "F1", "EPC", "EFD", "APLT", "ACLT", "ARP", "NumRetrieved", "LAUC"]  # fmt: skip
GLOBAL_METRICS = ["ItemCoverage", "Gini", "ShannonEntropy", "UserCoverageAtN", "PopREO", "PopRSP"]
NO_CUTOFF_USER = ["GAUC", "MAE", "RMSE"]
NO_CUTOFF_GLOBAL = ["AUC", "UserCoverage"]
ALL = USER_METRICS + GLOBAL_METRICS + NO_CUTOFF_USER + NO_CUTOFF_GLOBAL


def ranking(scores: list[float], excluded: set[int], rank: list[int]) -> list[int]:
    candidates = [i for i in range(len(scores)) if i not in excluded]
    return sorted(candidates, key=lambda i: (-scores[i], rank[i]))


def ranked(scores: list[float], excluded: set[int], rank: list[int], k: int) -> list[int]:
    return ranking(scores, excluded, rank)[:k]


def areas(full: list[int], rel: set[int]) -> dict[int, float]:
    """WarpRec's area of each relevant item: (N + 1 - negatives before it) / (N + 1)."""
    n_neg = sum(1 for i in full if i not in rel)
    out, before = {}, 0
    for i in full:
        if i in rel:
            out[i] = (n_neg + 1 - before) / (n_neg + 1)
        else:
            before += 1
    return out


def user_metrics(lst: list[int], full: list[int], rel: set[int], k: int, pop: list[int],
                 tail: set[int], n_users: int) -> dict[str, float]:  # fmt: skip
    hits = [1.0 if i in rel else 0.0 for i in lst]
    found = sum(hits)
    precision, recall = found / k, found / len(rel)
    discount = [1 / math.log2(r + 2) for r in range(k)]
    idcg = sum(discount[: min(k, len(rel))])
    first = next((r for r, h in enumerate(hits) if h), None)
    ap = sum(sum(hits[: r + 1]) / (r + 1) for r, h in enumerate(hits) if h) / min(k, len(rel))
    ar = sum(sum(hits[: r + 1]) / len(rel) for r, h in enumerate(hits) if h) / min(k, len(rel))
    total = sum(pop)
    epc = sum(h * (1 - max(pop[i], 1) / n_users) * discount[r]
              for r, (i, h) in enumerate(zip(lst, hits, strict=True)))  # fmt: skip
    efd = sum(h * -math.log2(max(pop[i], 1) / max(total, 1)) * discount[r]
              for r, (i, h) in enumerate(zip(lst, hits, strict=True)))  # fmt: skip
    # A relevant item that could not be ranked (masked) comes after every ranked item.
    area = areas(full + sorted(rel - set(full)), rel)
    return {
        "nDCG": sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg,
        "nDCGRendle2020": sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg,
        "Precision": precision,
        "Recall": recall,
        "HitRate": 1.0 if found else 0.0,
        "MRR": 0.0 if first is None else 1 / (first + 1),
        "MAP": ap,
        "MAR": ar,
        "F1": 2 * precision * recall / (precision + recall) if found else 0.0,
        "EPC": epc / sum(discount),
        "EFD": efd / sum(discount),
        "APLT": sum(1.0 for i in lst if i in tail) / k,
        "ACLT": sum(1.0 for i in lst if i in tail),
        "ARP": sum(max(pop[i], 1) for i in lst) / k,
        "NumRetrieved": float(len(lst)),
        "LAUC": sum(area[i] for i in full[:k] if i in rel) / min(len(rel), k),
    }


def dispersion(rates: list[float]) -> float:
    mean = sum(rates) / len(rates)
    if mean == 0:
        return math.nan
    return math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates)) / mean


def global_metrics(lists: list[list[int]], n_items: int, k: int, tail: set[int],
                   rels: list[set[int]], offered: list[list[int]],
                   positive: list[int]) -> dict[str, float]:  # fmt: skip
    counts = [sum(lst.count(i) for lst in lists) for i in range(n_items)]
    total = sum(counts)
    slots = len(lists) * k
    ordered = sorted(counts)
    gini = (sum((2 * (j + 1) - n_items - 1) * c for j, c in enumerate(ordered))
            / (slots * (n_items - 1)) if n_items > 1 else math.nan)  # fmt: skip
    entropy = -sum(c / total * math.log(c / total) for c in counts if c) if total else 0.0
    hits = [[i for i in lst if i in rel] for lst, rel in zip(lists, rels, strict=True)]
    side = lambda items, t: sum(1 for i in items if (i in tail) == t)  # noqa: E731
    reo_num = [sum(side(h, t) for h in hits) for t in (False, True)]
    reo_den = [sum(side(r, t) for r in rels) for t in (False, True)]
    rsp_num = [sum(side(lst, t) for lst in lists) for t in (False, True)]
    rsp_den = [sum(side(o, t) for o in offered) for t in (False, True)]
    rates = lambda n, d: (dispersion([a / b for a, b in zip(n, d, strict=True)])  # noqa: E731
                          if all(d) else math.nan)  # fmt: skip
    return {
        "ItemCoverage": float(sum(c > 0 for c in counts)),
        "Gini": gini,
        "ShannonEntropy": entropy,
        "UserCoverageAtN": float(sum(p >= k for p in positive)),
        "PopREO": rates(reo_num, reo_den),
        "PopRSP": rates(rsp_num, rsp_den),
    }


def long_tail(pop: list[int]) -> set[int]:
    """WarpRec's split: the head ends at the first item where the count passes 80%."""
    order = sorted(range(len(pop)), key=lambda i: -pop[i])
    head, covered, total = set(), 0, sum(pop)
    for i in order:
        if total == 0 or covered > 0.8 * total:
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
    rels = [set(np.flatnonzero(target[u]).tolist()) for u in users]
    fulls = [ranking(scores[u].tolist(), set(np.flatnonzero(known[u])), rank) for u in users]
    means: dict[str, float] = {}
    per_user: dict[str, list[float]] = {}
    mean = lambda xs: float(np.mean(xs)) if xs else math.nan  # noqa: E731
    for k in ks:
        lists = [full[:k] for full in fulls]
        rows = [
            user_metrics(lst, full, rel, k, pop, tail, n_users)
            for lst, full, rel in zip(lists, fulls, rels, strict=True)
        ]
        for name in USER_METRICS:
            per_user[f"{name}@{k}"] = [row[name] for row in rows]
            means[f"{name}@{k}"] = mean(per_user[f"{name}@{k}"])
        if users:
            positive = [sum(1 for i in full if scores[u][i] > 0)
                        for u, full in zip(users, fulls, strict=True)]  # fmt: skip
            for name, value in global_metrics(lists, n_items, k, tail, rels, fulls,
                                              positive).items():  # fmt: skip
                means[f"{name}@{k}"] = value
    every = [areas(full + sorted(rel - set(full)), rel)
             for full, rel in zip(fulls, rels, strict=True)]  # fmt: skip
    all_areas = [a for area in every for a in area.values()]
    gauc = [sum(area.values()) / len(rel) for area, rel in zip(every, rels, strict=True)]
    # Implicit feedback: every rating is 1, so the errors are those of the scores against 1.
    mae = [float(np.mean([abs(float(scores[u][i]) - 1) for i in sorted(rel)]))
           for u, rel in zip(users, rels, strict=True)]  # fmt: skip
    rmse = [math.sqrt(np.mean([(float(scores[u][i]) - 1) ** 2 for i in sorted(rel)]))
            for u, rel in zip(users, rels, strict=True)]  # fmt: skip
    for name, values in (("GAUC", gauc), ("MAE", mae), ("RMSE", rmse)):
        per_user[name], means[name] = values, mean(values)
    means["AUC"] = sum(all_areas) / len(all_areas) if all_areas else math.nan
    means["UserCoverage"] = float(len(users)) if users else math.nan
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
    expected_keys = [f"{m}@{k}" for m in USER_METRICS + GLOBAL_METRICS for k in sorted(set(ks))]
    assert list(result.values) == expected_keys + NO_CUTOFF_USER + NO_CUTOFF_GLOBAL
    for key, value in means.items():
        assert result.values[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
    for key, values in per_user.items():
        assert result.per_user[key] == pytest.approx(values, abs=1e-6), key
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
