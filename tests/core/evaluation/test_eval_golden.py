"""Golden values: WarpRec's own metric tests (sisinflab/warprec, tests/test_metrics_golden*.py,
test_metrics_clustered.py, test_debiased_metrics.py) re-stated on our evaluator, plus
values worked out by hand from WarpRec's definitions on the same fixture.

The fixture (WarpRec's): three users, five items, every rating 5.0.

    user 0  trained {1, 2}   relevant {0, 3}   ranking after masking: 4, 3, 0
    user 1  trained {0, 3}   relevant {4}      ranking after masking: 1, 4, 2
    user 2  trained {4, 0}   no test items     not evaluated

Training popularity: item 0: 2, items 1-4: 1 (six interactions); at pop_ratio 0.8 the short
head is items 0-3 and the long tail item 4. Groups (WarpRec's clustered fixture): users
{0, 1} -> 1, user 2 -> 2; items {0, 1, 2} -> 1, items {3, 4} -> 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from warprec.errors import ConfigError
from warprec.evaluation import Evaluator
from warprec.evaluation.propensity import build_propensity

TRAIN = [[0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [1, 0, 0, 0, 1]]
TEST = [[5, 0, 0, 5, 0], [0, 0, 0, 0, 5], [0, 0, 0, 0, 0]]
SCORES = [[0.7, 0.0, 0.0, 0.8, 0.9], [0.0, 0.9, 0.7, 0.0, 0.8], [0.5, 0.4, 0.3, 0.2, 0.1]]
USER_GROUPS = [1, 1, 2]
ITEM_GROUPS = [1, 1, 1, 2, 2]
FEATURES = [[1, 0], [1, 0], [0, 1], [0, 1], [0, 1]]

U0_NDCG = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
U1_NDCG = (1 / math.log2(3)) / 1
DISCOUNTS = [1 / math.log2(r + 1) for r in (1, 2, 3)]
SHARES = [c / 6 for c in (1, 1, 1, 1, 2)]

# WarpRec's golden values at k = 3 (their derivations, restated).
WARPREC_AT_3 = {
    "nDCG": (U0_NDCG + U1_NDCG) / 2,
    "Recall": 1.0,
    "Precision": (2 / 3 + 1 / 3) / 2,
    "HitRate": 1.0,
    "MRR": 0.5,
    "MAP": ((1 / 2 + 2 / 3) / 2 + 1 / 2) / 2,
    "ACLT": 1.0,
    "APLT": 1 / 3,
    "ARP": (4 / 3 + 1) / 2,
    "Gini": sum((2 * (j + 1) - 6) * s for j, s in enumerate(SHARES)) / 4,
    "ShannonEntropy": -sum(s * math.log(s) for s in SHARES),
    "EPC": ((DISCOUNTS[1] * (2 / 3) + DISCOUNTS[2] * (1 / 3)) / sum(DISCOUNTS)
            + DISCOUNTS[1] * (2 / 3) / sum(DISCOUNTS)) / 2,
    "EFD": ((DISCOUNTS[1] * -math.log2(1 / 6) + DISCOUNTS[2] * -math.log2(2 / 6))
            / sum(DISCOUNTS) + DISCOUNTS[1] * -math.log2(1 / 6) / sum(DISCOUNTS)) / 2,
    "NumRetrieved": 3.0,
    "ItemCoverage": 5.0,
    "MAR": ((0.5 + 1.0) / 2 + 1.0) / 2,
    "F1": (0.8 + 0.5) / 2,
}  # fmt: skip

# Worked out by hand from WarpRec's definitions (derivations beside each value).
HAND_AT_3 = {
    # Areas (N + 1 - a)/(N + 1): user 0 has N = 1 ranked negative (item 4) before both
    # relevant items -> 1/2 each; user 1 has N = 2, one (item 1) before item 4 -> 2/3.
    "GAUC": (0.5 + 2 / 3) / 2,
    "AUC": (0.5 + 0.5 + 2 / 3) / 3,
    "LAUC@3": (0.5 + 2 / 3) / 2,
    "UserCoverage": 2.0,
    # Both users have three unmasked items scored above 0.
    "UserCoverageAtN@3": 2.0,
    # Hits: head 2 of 2 relevant, tail 1 of 1: equal rates.
    "PopREO@3": 0.0,
    # Slots: head 4 of 4 offered, tail 2 of 2 offered.
    "PopRSP@3": 0.0,
    "nDCGRendle2020@3": (U0_NDCG + U1_NDCG) / 2,
    # Gains 2**(5+1)-1 = 63. Item means: 0: 63, 1: 0, 2: 0, 3: 63, 4: (0 + 63)/2.
    # Group 1 mean 21, group 2 mean 47.25.
    "ItemMADRanking@3": 26.25,
    # Scores of the hits: item 0: 0.7 (group 1), items 3 and 4: 0.8 (group 2).
    "ItemMADRating@3": 0.1,
    # User 0: features {a, b} of {0, 3}, both found; user 1: {b}, found.
    "SRecall@3": 1.0,
}


def build_dataset(tools: Any, test: Any = TEST, train: Any = TRAIN) -> Any:
    return tools.build(train, test)


def evaluate(tools: Any, metrics: list[Any], k: Any = 3, scores: Any = SCORES,
             test: Any = TEST, train: Any = TRAIN, **options: Any) -> dict[str, float]:  # fmt: skip
    options.setdefault("user_groups", USER_GROUPS)
    options.setdefault("item_groups", ITEM_GROUPS)
    options.setdefault("item_features", FEATURES)
    evaluator = Evaluator(metrics, k, **options)
    return evaluator.evaluate(tools.model_for(scores), tools.build(train, test), "test").values


@pytest.mark.parametrize(("name", "expected"), sorted(WARPREC_AT_3.items()))
def test_warprec_golden_values(name: str, expected: float, tools: Any) -> None:
    assert evaluate(tools, [name])[f"{name}@3"] == pytest.approx(expected, abs=1e-9)


def test_hand_worked_values(tools: Any) -> None:
    names = sorted({key.split("@")[0] for key in HAND_AT_3})
    values = evaluate(tools, names)
    # Scores are float32: 1e-6.
    assert {key: values[key] for key in HAND_AT_3} == pytest.approx(HAND_AT_3, abs=1e-6)


def test_user_coverage_reports_no_cutoff_and_sampled_agrees(tools: Any) -> None:
    names = ["UserCoverage", "AUC", "GAUC", "LogLoss", "MAE"]
    full = evaluate(tools, names)
    sampled = evaluate(tools, names, strategy="sampled", num_negatives=10)
    assert list(full) == names
    assert sampled == pytest.approx(full)


def test_cutoff_dependent_values(tools: Any) -> None:
    values = evaluate(tools, ["LAUC", "PopREO", "PopRSP", "REO", "RSP"], k=[1, 2])
    assert values == pytest.approx({
        # Top-1 holds no hit; top-2: user 0 reaches item 3 (area 1/2 over min(2, 2)),
        # user 1 item 4 (area 2/3 over 1).
        "LAUC@1": 0.0, "LAUC@2": (0.25 + 2 / 3) / 2,
        # No hit at 1: both rates 0, undefined. At 2: head 1 of 2, tail 1 of 1.
        "PopREO@1": math.nan, "PopREO@2": (0.25 / 0.75),
        # Slots at 1: item 4 (tail), item 1 (head): head 1/4, tail 1/2 offered.
        "PopRSP@1": (1 / 8) / (3 / 8), "PopRSP@2": (1 / 4) / (3 / 4),
        # Item groups at 2: hits 0 of 1 in group 1, 2 of 2 in group 2.
        "REO@1": math.nan, "REO_IC1@1": 0.0, "REO_IC2@1": 0.0,
        "REO@2": 1.0, "REO_IC1@2": 0.0, "REO_IC2@2": 1.0,
        # Offered: group 1 {0} and {1, 2}, group 2 {3, 4} and {4}: 3 each. Slots at 1:
        # item 4 (group 2), item 1 (group 1); at 2: [4, 3] and [1, 4].
        "RSP@1": 0.0, "RSP_IC1@1": 1 / 3, "RSP_IC2@1": 1 / 3,
        "RSP@2": (1 / 3) / (2 / 3), "RSP_IC1@2": 1 / 3, "RSP_IC2@2": 1.0,
    }, nan_ok=True)  # fmt: skip


def test_rsp_rates_are_proportions_warprec_case(tools: Any) -> None:
    # WarpRec's test_rsp_rates_are_proper_proportions: six items in groups
    # [1, 1, 1, 1, 2, 2], item 3 seen by both users, top-3 lists [0, 1, 4] and [0, 1, 2]:
    # group 1: 5 slots of 6 offered, group 2: 1 of 4 -> RSP = 7/13.
    scores = [[6, 5, 0, 9, 4, 0], [6, 5, 4, 9, 0, 0]]
    train = [[0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0]]
    test = [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1]]
    values = evaluate(tools, ["RSP"], scores=scores, train=train, test=test, user_groups=None,
                      item_groups=[1, 1, 1, 1, 2, 2], item_features=None)  # fmt: skip
    assert values["RSP@3"] == pytest.approx(7 / 13)
    assert values["RSP_IC1@3"] == pytest.approx(5 / 6)


def test_bias_disparity(tools: Any) -> None:
    values = evaluate(tools, ["BiasDisparityBS", "BiasDisparityBR", "BiasDisparityBD"])
    # BS (WarpRec's test_bias_disparity_bs_counts_the_training_interactions): group 1
    # trained 3 items of item group 1, 1 of group 2; user group 2 one of each; item
    # groups are 3/5 and 2/5 of the catalogue.
    bs = {"UC1_IC1": (3 / 4) / 0.6, "UC1_IC2": (1 / 4) / 0.4,
          "UC2_IC1": (1 / 2) / 0.6, "UC2_IC2": (1 / 2) / 0.4}  # fmt: skip
    # BR: the six slots of user group 1 hold 3 items of each item group; user group 2
    # has no evaluated user (0).
    br = {"UC1_IC1": 0.5 / 0.6, "UC1_IC2": 0.5 / 0.4, "UC2_IC1": 0.0, "UC2_IC2": 0.0}
    bd = {key: (br[key] - bs[key]) / bs[key] for key in bs}
    expected = {f"BiasDisparityBS_{k}": v for k, v in bs.items()}
    expected |= {f"BiasDisparityBR_{k}@3": v for k, v in br.items()}
    expected |= {f"BiasDisparityBD_{k}@3": v for k, v in bd.items()}
    assert values == pytest.approx(expected)
    # BS reads the training data only: another held-out set leaves it unchanged.
    other = evaluate(tools, ["BiasDisparityBS"], test=[[0, 0, 0, 0, 0], [0, 0, 0, 0, 5],
                                                       [0, 5, 0, 0, 0]])  # fmt: skip
    assert other == pytest.approx({f"BiasDisparityBS_{k}": v for k, v in bs.items()})


def test_user_mad_metrics(tools: Any) -> None:
    groups = [1, 2, 2]
    values = evaluate(tools, ["UserMADRanking", "UserMADRating"], user_groups=groups)
    assert values["UserMADRanking@3"] == pytest.approx(abs(U0_NDCG - U1_NDCG))
    assert values["UserMADRating@3"] == pytest.approx(0.0)  # both lists score 0.9, 0.8, 0.7
    doubled = [SCORES[0], [2 * s for s in SCORES[1]], SCORES[2]]
    values = evaluate(tools, ["UserMADRating"], scores=doubled, user_groups=groups)
    assert values["UserMADRating@3"] == pytest.approx(1.6 - 0.8)
    # One group: nothing to compare.
    assert evaluate(tools, ["UserMADRanking"])["UserMADRanking@3"] == 0.0


def test_srecall_loses_a_missed_feature(tools: Any) -> None:
    # WarpRec's narrower case: user 0 relevant on 0 ('a') and 4 ('b'); its top-2 is
    # [4, 3], which finds 'b' only.
    test = [[5, 0, 0, 0, 5], [0, 0, 0, 0, 5], [0, 0, 0, 0, 0]]
    result = Evaluator(["SRecall"], [2], item_features=FEATURES).evaluate(
        tools.model_for(SCORES), tools.build(TRAIN, test), "test"
    )
    assert result.per_user["SRecall@2"].tolist() == pytest.approx([0.5, 1.0])


def test_graded_ndcg_uses_warprec_gains(tools: Any) -> None:
    # User 0 rates item 0 with 1 and item 3 with 3: gains 2**2 - 1 = 3 and 2**4 - 1 = 15.
    test = [[1, 0, 0, 3, 0], [0, 0, 0, 0, 5], [0, 0, 0, 0, 0]]
    result = Evaluator(["nDCG", "nDCGRendle2020"], [3]).evaluate(
        tools.model_for(SCORES), tools.build(TRAIN, test), "test"
    )
    graded = (15 / math.log2(3) + 3 / math.log2(4)) / (15 + 3 / math.log2(3))
    assert result.per_user["nDCG@3"].tolist() == pytest.approx([graded, U1_NDCG])
    assert result.per_user["nDCGRendle2020@3"].tolist() == pytest.approx([U0_NDCG, U1_NDCG])


def test_epc_with_discounted_relevance(tools: Any) -> None:
    metric = {"name": "EPC", "params": {"relevance": "discounted"}}
    values = evaluate(tools, [metric])
    assert list(values) == ["EPC[discounted]@3"]
    assert values["EPC[discounted]@3"] == pytest.approx(63 * WARPREC_AT_3["EPC"])


def test_rating_errors_warprec_case(tools: Any) -> None:
    # WarpRec's rating golden test: predictions 2, 4, 6 against ratings 1, 4, 9.
    result = Evaluator(["MAE", "MSE", "RMSE"], [3]).evaluate(
        tools.model_for([[2.0, 4.0, 6.0, 0.0]]),
        tools.build([[0, 0, 0, 1]], [[1, 4, 9, 0]]),
        "test",
    )
    assert result.values == pytest.approx({"MAE": 4 / 3, "MSE": 10 / 3, "RMSE": math.sqrt(10 / 3)})


def test_rmse_is_the_mean_of_per_user_roots(tools: Any) -> None:
    result = Evaluator(["RMSE", "MSE"], [1]).evaluate(
        tools.model_for([[3.0, 0.0], [0.0, 1.0]]),
        tools.build([[0, 0], [0, 0]], [[1, 0], [0, 2]]),
        "test",
    )
    assert result.values == pytest.approx({"RMSE": (2 + 1) / 2, "MSE": (4 + 1) / 2})


def test_log_loss(tools: Any) -> None:
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731  BCE(x, 1) = softplus(-x)
    user0 = (softplus(-0.7) + softplus(-0.8) + softplus(0.9)) / 3  # items 0, 3 (rel), 4
    user1 = (softplus(0.9) + softplus(0.7) + softplus(-0.8)) / 3  # items 1, 2, 4 (rel)
    assert evaluate(tools, ["LogLoss"])["LogLoss"] == pytest.approx((user0 + user1) / 2)


def test_parameterised_metrics_and_their_names(tools: Any) -> None:
    values = evaluate(tools, [
        ("F1", {"beta": 2}),
        {"name": "F1", "params": {"metric_1": "nDCG", "metric_2": "Recall"}},
        {"name": "APLT", "params": {"pop_ratio": 0.5}},
        {"name": "EucDistance",
         "params": {"metric_names": ["Precision", "Recall"], "utopia_points": [1, 1]}},
        {"name": "Hypervolume", "params": {"metric_names": ["Precision", "Recall"],
                                           "nadir_points": [0, 0],
                                           "higher_is_better": [True, True]}},
    ])  # fmt: skip
    f_nd = [2 * U0_NDCG / (U0_NDCG + 1), 2 * U1_NDCG / (U1_NDCG + 1)]
    assert values == pytest.approx({
        "F1@3": (10 / 11 + 5 / 7) / 2,  # F2: 5PR/(4P+R) per user
        "F1[nDCG, Recall]@3": sum(f_nd) / 2,
        # Head at 0.5 of six interactions: items 0, 1, 2; tail {3, 4}.
        "APLT[Pop50%]@3": (2 / 3 + 1 / 3) / 2,
        "EucDistance[Precision, Recall][1.0, 1.0]@3": (1 / 3 + 2 / 3) / 2,
        "Hypervolume[Precision, Recall][0.0, 0.0][true, true]@3": (2 / 3 + 1 / 3) / 2,
    })  # fmt: skip


def test_debiased_metrics(tools: Any) -> None:
    # WarpRec's anchors: a flat propensity (power 0) gives the naive metric back.
    flat = evaluate(tools, ["Recall", "IPSRecall", "SNIPSRecall", "IPSDCG", "nDCGRendle2020"],
                    propensity="popularity", propensity_power=0.0)  # fmt: skip
    assert flat["IPSRecall@3"] == pytest.approx(flat["Recall@3"])
    assert flat["SNIPSRecall@3"] == pytest.approx(flat["Recall@3"])
    # Popularity: item 0 has 2 interactions (p = 1), items 3, 4 one (p = 0.5 ** 0.5).
    p = 0.5**0.5
    values = evaluate(tools, ["IPSRecall", "SNIPSRecall", "IPSDCG", "SNIPSDCG"],
                      propensity="popularity")  # fmt: skip
    u0_dcg = (1 / p) / math.log2(3) + 1 / math.log2(4)
    u1_dcg = (1 / p) / math.log2(3)
    assert values == pytest.approx({
        "IPSRecall@3": ((1 / p + 1) / 2 + 1 / p) / 2,
        "SNIPSRecall@3": 1.0,
        "IPSDCG@3": (u0_dcg + u1_dcg) / 2,
        "SNIPSDCG@3": (u0_dcg / (1 / p + 1) + u1_dcg / (1 / p)) / 2,
    })  # fmt: skip
    explicit = evaluate(tools, ["IPSRecall"], propensity=np.full(5, 0.5))
    assert explicit["IPSRecall@3"] == pytest.approx(2.0)


def test_build_propensity_warprec_cases() -> None:
    propensity = build_propensity(np.array([100, 50, 10, 1, 0]), power=0.5, clip=0.1)
    assert propensity is not None
    assert propensity[0] == pytest.approx(1.0)
    assert propensity[0] > propensity[1] > propensity[2]
    assert propensity.min() == pytest.approx(0.1) and propensity.max() <= 1.0
    assert build_propensity(np.array([5, 1]), estimator="uniform") is None
    assert build_propensity(np.zeros(4)).tolist() == [1.0] * 4
    with pytest.raises(ConfigError, match="estimator must be one of uniform, popularity"):
        build_propensity(np.array([1, 2]), estimator="inverse")


def test_missing_inputs_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"'IPSRecall' corrects for exposure .* propensity"):
        Evaluator(["IPSRecall"], [3], propensity="uniform")
    with pytest.raises(ConfigError, match="'SRecall' needs item features"):
        Evaluator(["SRecall"], [3])
    with pytest.raises(ConfigError, match="metric 'F1' has no parameter 'betta'"):
        Evaluator([("F1", {"betta": 2})], [3])
    with pytest.raises(ConfigError, match="user_groups must be a 1-D array"):
        Evaluator(["REO"], [3], user_groups=[0.5, 1.0])
    with pytest.raises(ConfigError, match="one point per metric"):
        Evaluator([("EucDistance", {"metric_names": ["Recall"], "utopia_points": []})], [3])


def test_group_arrays_must_match_the_dataset(tools: Any) -> None:
    evaluator = Evaluator(["REO"], [3], item_groups=[1, 2])
    with pytest.raises(ConfigError, match="item_groups has 2 rows but the dataset has 5 items"):
        evaluator.evaluate(tools.model_for(SCORES), tools.build(TRAIN, TEST), "test")
