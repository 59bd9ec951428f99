"""The conformance kit passes models that keep the contract and names each broken rule."""

from __future__ import annotations

import kit_models as km
import pytest
from warprec.errors import ConfigError
from warprec.testing import CHECKS, ConformanceError, ModelChecker, check_model, toy_dataset


@pytest.fixture(scope="module")
def dataset():
    return toy_dataset()


def test_good_classic_model_passes_and_skips_training_checks(dataset) -> None:
    report = check_model(km.GoodEASE, {}, dataset=dataset)
    assert report.ok
    skipped = {r.name: r.message for r in report.with_status("skipped")}
    assert set(skipped) >= {"train_step_loss", "loss_decreases"}
    assert "not an IterativeRecommender" in skipped["loss_decreases"]
    assert {r.name for r in report.results} == set(CHECKS)


def test_good_iterative_model_passes_every_training_check(dataset) -> None:
    report = check_model(km.GoodBPR, {"embedding_size": 8}, dataset=dataset)
    passed = {r.name for r in report.with_status("passed")}
    assert passed >= set(CHECKS) - {"cuda"}


@pytest.mark.parametrize(
    ("model", "failing", "message"),
    [
        (km.WrongFullShape, "predict_shapes", "full predict has shape (48, 31), expected (48, 32)"),
        (km.SampledOffByOne, "sampled_matches_full",
         "sampled scores differ from the full scores gathered at those items"),
        (km.Unseeded, "deterministic", "scores of a second run with the same seed differ"),
        (km.StateNotSaved, "save_load", "AttributeError"),
        (km.IgnoresExclude, "topk_masks_seen", "seen items"),
        (km.SwallowsParams, "rejects_bad_params",
         "an unknown hyperparameter was accepted; expected a ConfigError naming "
         "'definitely_not_a_hyperparameter'"),
        (km.WrongErrorType, "rejects_bad_params", "raised KeyError"),
        (km.WrongSize, "constructs", "n_users/n_items are 49/32, expected 48/32"),
    ],
)
def test_broken_classic_models_fail_the_right_check(dataset, model, failing, message) -> None:
    report = ModelChecker(model, dataset=dataset).run()
    failed = {r.name: r.message for r in report.with_status("failed")}
    assert failing in failed, str(report)
    assert message in failed[failing]


@pytest.mark.parametrize(
    ("model", "failing", "message"),
    [
        (km.FloatLoss, "train_step_loss",
         "train_step returned float, expected a scalar torch.Tensor"),
        (km.VectorLoss, "train_step_loss", "train_step returned a tensor of shape (48,)"),
        (km.LearnsNothing, "train_step_loss",
         "the loss has no gradient with respect to any parameter"),
        (km.LearnsNothing, "loss_decreases", "the loss did not decrease over 30 steps"),
    ],
)
def test_broken_iterative_models_fail_the_right_check(dataset, model, failing, message) -> None:
    checks = ["train_step_loss", "loss_decreases"]
    report = ModelChecker(model, {"batch_size": 48}, dataset=dataset).run(checks)
    failed = {r.name: r.message for r in report.with_status("failed")}
    assert failing in failed, str(report)
    assert message in failed[failing]


def test_training_through_the_trainer_reports_a_non_scalar_loss(dataset) -> None:
    report = ModelChecker(km.FloatLoss, dataset=dataset).run(["deterministic"])
    assert report.results[0].status == "failed"
    assert "TrainingError" in report.results[0].message
    assert "must return a scalar loss tensor" in report.results[0].message


def test_check_model_raises_one_error_listing_every_failure(dataset) -> None:
    with pytest.raises(ConformanceError) as error:
        check_model(km.SampledOffByOne, {"l2": 5.0}, dataset=dataset)
    text = str(error.value)
    assert text.startswith("SampledOffByOne breaks the model contract:\n")
    summary = text.splitlines()[1]
    assert summary.startswith("SampledOffByOne {'l2': 5.0}: ") and ", 1 failed, " in summary
    assert "FAILED sampled_matches_full:" in text
    assert "SKIPPED loss_decreases:" in text


def test_wrong_typed_hyperparameter_is_checked_on_a_numeric_one(dataset) -> None:
    checker = ModelChecker(km.GoodBPR, dataset=dataset)
    checker.check_rejects_bad_params()  # passes: the base class names the parameter
    with pytest.raises(Exception, match="embedding_size"):
        checker.build({"embedding_size": "not-a-number"})


def test_given_params_must_come_back_from_get_params(dataset) -> None:
    result = ModelChecker(km.GoodEASE, {"l2": 3}, dataset=dataset).run_one("constructs")
    assert result.status == "passed"  # 3 is stored as 3.0, which compares equal


def test_subset_of_checks_and_unknown_check_name(dataset) -> None:
    checker = ModelChecker(km.GoodEASE, dataset=dataset)
    report = checker.run(["predict_shapes", "cuda"])
    assert [r.name for r in report.results] == ["predict_shapes", "cuda"]
    with pytest.raises(ValueError, match="unknown conformance check 'speed'"):
        checker.run(["speed"])


def test_fitted_model_is_built_once_and_shared(dataset) -> None:
    checker = ModelChecker(km.GoodEASE, dataset=dataset)
    assert checker.fitted() is checker.fitted()


def test_default_dataset_is_the_toy_dataset() -> None:
    checker = ModelChecker(km.GoodEASE)
    assert (checker.dataset.n_users, checker.dataset.n_items) == (48, 32)


def test_cuda_check_skips_without_a_gpu_or_compares_with_cpu(dataset) -> None:
    import torch

    result = ModelChecker(km.GoodBPR, {"epochs": 1}, dataset=dataset).run_one("cuda")
    if torch.cuda.is_available():
        assert result.status == "passed", result.message
    else:
        assert (result.status, result.message) == ("skipped", "CUDA is not available")


def test_a_numeric_hyperparameter_without_a_domain_fails_the_kit(dataset) -> None:
    result = ModelChecker(km.NoDomain, dataset=dataset).run_one("declares_domains")
    assert result.status == "failed"
    assert "numeric hyperparameter(s) without a domain: shift;" in result.message
    assert ModelChecker(km.GoodEASE, dataset=dataset).run_one("declares_domains").status \
        == "passed"


def test_a_rule_only_the_constructor_checks_fails_the_kit(dataset) -> None:
    result = ModelChecker(km.RuleInConstructor, dataset=dataset).run_one(
        "accepted_params_construct")
    assert result.status == "failed"
    assert "the constructor raised ConfigError for {" in result.message
    assert "floor (5.0) must not exceed l2 (1.0)" in result.message
    assert "check_relations" in result.message


def test_a_rule_declared_in_check_relations_passes_the_kit(dataset) -> None:
    checker = ModelChecker(km.RuleDeclared, dataset=dataset)
    assert checker.run_one("accepted_params_construct").status == "passed"
    with pytest.raises(ConfigError, match=r"^RuleDeclared: floor \(5.0\) must not exceed"):
        km.RuleDeclared.validate_params({"l2": 1.0})


def test_a_context_aware_model_is_checked_under_contexts() -> None:
    from context_models import SampledIgnoresContext, TinyContext

    report = check_model(TinyContext, checks=["predict_shapes", "sampled_matches_full",
                                              "train_step_loss", "loss_decreases"])
    assert report.ok, report
    checker = ModelChecker(TinyContext)
    assert checker.dataset.info()["context_dims"] == {"daytime": 4, "weekend": 3}
    checker.check_predict_shapes()
    assert checker.fitted().seen_contexts, "predict was never given a context"
    with pytest.raises(ConformanceError, match="sampled scores"):
        ModelChecker(SampledIgnoresContext).check_sampled_matches_full()
