"""Sampled ranking, AUC, configuration errors and paired significance tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats
from warprec.errors import ConfigError, RegistryError
from warprec.evaluation import Evaluator, paired_test
from warprec.evaluation.evaluator import EvaluationResult, _Context

FULL_METRICS = ["nDCG", "Precision", "Recall", "HitRate", "MRR", "MAP", "F1", "ItemCoverage",
                "Gini", "ShannonEntropy", "EPC", "APLT", "ARP"]  # fmt: skip
# Every metric that works under both strategies: with every negative sampled, the two
# strategies rank the same items, so every value must agree.
BOTH_STRATEGIES = [
    *FULL_METRICS, "nDCGRendle2020", "MAR", "LAUC", "GAUC", "AUC", "LogLoss", "MAE", "MSE", "RMSE",
    "NumRetrieved", "UserCoverage", "UserCoverageAtN", "ACLT", "EFD", "PopREO", "PopRSP",
    "REO", "RSP", "IPSRecall", "SNIPSRecall", "IPSDCG", "SNIPSDCG", "SRecall",
    "BiasDisparityBS", "BiasDisparityBR", "BiasDisparityBD", "ItemMADRanking",
    "ItemMADRating", "UserMADRanking", "UserMADRating",
]  # fmt: skip


def with_inputs(n_users: int, n_items: int, **options: Any) -> dict[str, Any]:
    """Groups, features and propensities for the metrics that need them."""
    rng = np.random.default_rng(n_users * 1000 + n_items)
    return {
        "user_groups": rng.integers(0, 3, n_users),
        "item_groups": rng.integers(0, 4, n_items),
        "item_features": rng.integers(0, 2, (n_items, 3)),
        "propensity": "popularity",
        **options,
    }


def random_problem(seed: int, n_users: int = 7, n_items: int = 12) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, (n_users, n_items)).astype(np.float32)
    train = rng.random((n_users, n_items)) < 0.3
    test = (rng.random((n_users, n_items)) < 0.3) & ~train
    return scores, train.astype(np.float32), test.astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_sampled_with_every_negative_equals_full_ranking(seed: int, tools: Any) -> None:
    scores, train, test = random_problem(seed)
    dataset = tools.build(train, test)
    model = tools.model_for(scores, seed=seed)
    inputs = with_inputs(*scores.shape)
    full = Evaluator(BOTH_STRATEGIES, [1, 3, 5], seed=seed, **inputs).evaluate(
        model, dataset, "test"
    )
    sampled = Evaluator(
        BOTH_STRATEGIES, [1, 3, 5], strategy="sampled", num_negatives=100, seed=seed, **inputs
    ).evaluate(model, dataset, "test")
    assert len(full.values) > 100
    assert sampled.values == pytest.approx(full.values, nan_ok=True)
    assert list(sampled.values) == list(full.values)
    for key, values in full.per_user.items():
        assert sampled.per_user[key] == pytest.approx(values)


def test_pairwise_auc_against_pairwise_count(tools: Any) -> None:
    scores, train, test = random_problem(3)
    result = Evaluator(["PairwiseAUC"], [10], strategy="sampled", num_negatives=100).evaluate(
        tools.model_for(scores), tools.build(train, test), "test"
    )
    expected = []
    for u in result.users:
        pos = scores[u][test[u] > 0]
        neg = scores[u][(test[u] == 0) & (train[u] == 0)]
        wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        expected.append(wins / (len(pos) * len(neg)))
    assert list(result.values) == ["PairwiseAUC"]
    assert result.per_user["PairwiseAUC"] == pytest.approx(expected)


@pytest.mark.parametrize("sampling", ["uniform", "popularity"])
def test_negatives_are_unseen_distinct_and_seeded(sampling: str, tools: Any) -> None:
    _scores, train, test = random_problem(1, n_users=20, n_items=40)
    train[:, 0] = 0  # item 0 has no popularity: never drawn by popularity
    dataset = tools.build(train, test)
    evaluator = Evaluator(["HitRate"], [5], strategy="sampled", num_negatives=6, sampling=sampling)
    known = dataset.train.matrix
    target = dataset.test.matrix
    users = np.flatnonzero(np.diff(target.indptr))
    context = _Context.build(known, torch.device("cpu"), 0.8)
    streams, excluded = users[:, None], known[users] + target[users]
    negatives = evaluator._negatives(streams, excluded, context)
    again = evaluator._negatives(streams, excluded, context)
    assert np.array_equal(negatives, again)
    for row, user in zip(negatives, users, strict=True):
        drawn = row[row < 40]
        seen = set(np.flatnonzero(train[user] + test[user]))
        assert len(set(drawn)) == len(drawn) == min(6, 40 - len(seen))
        assert not seen & set(drawn.tolist())
        if sampling == "popularity":
            assert 0 not in drawn
    other = Evaluator(["HitRate"], [5], strategy="sampled", num_negatives=6, sampling=sampling,
                      seed=7)._negatives(streams, excluded, context)  # fmt: skip
    assert not np.array_equal(negatives, other)


def test_batch_size_does_not_change_full_results(tools: Any) -> None:
    scores, train, test = random_problem(4, n_users=30)
    dataset, model = tools.build(train, test), tools.model_for(scores)
    inputs = with_inputs(*scores.shape)
    one = Evaluator(BOTH_STRATEGIES, [3], batch_size=1, **inputs).evaluate(model, dataset, "test")
    many = Evaluator(BOTH_STRATEGIES, [3], **inputs).evaluate(model, dataset, "test")
    assert one.values == pytest.approx(many.values, nan_ok=True)


@pytest.mark.parametrize("sampling", ["uniform", "popularity"])
def test_batch_size_does_not_change_sampled_results(sampling: str, tools: Any) -> None:
    scores, train, test = random_problem(5, n_users=30, n_items=40)
    dataset, model = tools.build(train, test), tools.model_for(scores)
    metrics = ["nDCG", "HitRate", "PairwiseAUC", "AUC", "GAUC"]
    results = [
        Evaluator(metrics, [3], strategy="sampled", num_negatives=5, sampling=sampling,
                  batch_size=size).evaluate(model, dataset, "test")
        for size in (1, 7, None)
    ]  # fmt: skip
    for other in results[1:]:
        assert other.values == results[0].values
        for key, values in results[0].per_user.items():
            assert np.array_equal(other.per_user[key], values)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="metric 'PairwiseAUC' ranks positives against sampled"):
        Evaluator(["PairwiseAUC"], [10])
    with pytest.raises(RegistryError, match="did you mean 'nDCG'"):
        Evaluator(["nDGC"], [10])
    with pytest.raises(ConfigError, match="top_k must be positive integers"):
        Evaluator(["nDCG"], [0])
    with pytest.raises(ConfigError, match="strategy must be 'full' or 'sampled'"):
        Evaluator(["nDCG"], strategy="partial")
    with pytest.raises(ConfigError, match="sampling must be 'uniform' or 'popularity'"):
        Evaluator(["nDCG"], strategy="sampled", sampling="zipf")
    evaluator = Evaluator(["ndcg", "hitrate", "AUC"], [20, 5], strategy="sampled")
    assert evaluator.keys == ["nDCG@5", "nDCG@20", "HitRate@5", "HitRate@20", "AUC"]


def test_split_errors(tools: Any) -> None:
    dataset = tools.build([[1, 0]], [[0, 1]])
    with pytest.raises(ConfigError, match="no validation split"):
        Evaluator(["nDCG"]).evaluate(tools.model_for([[0, 1]]), dataset, "validation")
    with pytest.raises(ConfigError, match="split must be 'validation' or 'test'"):
        Evaluator(["nDCG"]).evaluate(tools.model_for([[0, 1]]), dataset, "train")


def result(users: list[int], values: list[float]) -> EvaluationResult:
    summary = {"nDCG@10": float(np.mean(values))}
    per_user = {"nDCG@10": np.array(values)}
    return EvaluationResult("test", "full", summary, per_user, np.array(users), len(users), 0)


def test_paired_tests_match_scipy_on_shared_users() -> None:
    rng = np.random.default_rng(0)
    a_values, b_values = rng.random(40), rng.random(40)
    a = result(list(range(40)), a_values.tolist())
    b = result(list(range(5, 45)), np.concatenate([b_values[5:], rng.random(5)]).tolist())
    shared_a, shared_b = a_values[5:], b_values[5:]
    t = paired_test(a, b, "nDCG@10")
    expected = stats.ttest_rel(shared_a, shared_b)
    assert (t.statistic, t.p_value, t.n_users) == pytest.approx(
        (expected.statistic, expected.pvalue, 35)
    )
    w = paired_test(a, b, "nDCG@10", test="wilcoxon")
    assert w.p_value == pytest.approx(stats.wilcoxon(shared_a, shared_b).pvalue)
    assert w.mean_difference == pytest.approx(float((shared_a - shared_b).mean()))


def test_paired_test_edge_cases() -> None:
    same = result([0, 1, 2], [0.1, 0.2, 0.3])
    assert paired_test(same, same, "nDCG@10").p_value == 1.0
    assert math.isnan(paired_test(result([0], [0.1]), result([0], [0.2]), "nDCG@10").p_value)
    with pytest.raises(ConfigError, match="no per-user values of 'Gini@10'"):
        paired_test(same, same, "Gini@10")
    with pytest.raises(ConfigError, match="must be one of ttest, wilcoxon"):
        paired_test(same, same, "nDCG@10", test="anova")
