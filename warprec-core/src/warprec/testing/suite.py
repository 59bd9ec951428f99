"""The pytest base class of the conformance kit: one test per contract check."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from warprec.testing.conformance import ModelChecker

__all__ = ["ModelConformance"]


class ModelConformance:
    """Subclass it in a test module to run every conformance check on a model::

        from warprec.testing import ModelConformance
        from my_plugin.my_model import MyModel

        class TestMyModel(ModelConformance):
            model_class = MyModel
            params = [{}, {"k": 5}]  # one dict, or a list: every check runs on each

    Each check is its own test (``test_predict_shapes``...), so a failure names the
    broken rule; checks that do not apply are skipped with the reason. The model is
    built and trained once per parameter set and shared by the checks that only read it.
    Override ``dataset`` (a classmethod returning a ``Dataset``) to check on other data.
    """

    model_class: ClassVar[type | None] = None
    params: ClassVar[dict[str, Any] | list[dict[str, Any]]] = {}
    seed: ClassVar[int] = 42
    train_steps: ClassVar[int] = 30

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run the class's tests once per parameter set of ``params``."""
        if "conformance_params" not in metafunc.fixturenames:
            return
        sets = self.params if isinstance(self.params, list) else [self.params]
        ids = [_param_id(p) for p in sets]
        metafunc.parametrize("conformance_params", sets, ids=ids, scope="class")

    @classmethod
    def dataset(cls) -> Any:
        """The data the checks run on (default: the kit's clustered toy dataset)."""
        from warprec.testing.data import toy_dataset

        return toy_dataset()

    @pytest.fixture(scope="class")
    @classmethod
    def conformance(cls, conformance_params: dict[str, Any]) -> ModelChecker:
        """The checker of ``model_class`` with one parameter set, shared by the class."""
        if cls.model_class is None:
            pytest.fail(f"{cls.__name__}: set model_class to the model to check")
        return ModelChecker(cls.model_class, conformance_params, dataset=cls.dataset(),
                            seed=cls.seed, train_steps=cls.train_steps)

    def test_constructs(self, conformance: ModelChecker) -> None:
        """Builds from params, info and interactions."""
        _run(conformance, "constructs")

    def test_rejects_bad_params(self, conformance: ModelChecker) -> None:
        """Unknown and wrong-typed hyperparameters are clear errors."""
        _run(conformance, "rejects_bad_params")

    def test_declares_domains(self, conformance: ModelChecker) -> None:
        """Every numeric hyperparameter has a domain."""
        _run(conformance, "declares_domains")

    def test_accepted_params_construct(self, conformance: ModelChecker) -> None:
        """What ``validate_params`` accepts, the constructor builds."""
        _run(conformance, "accepted_params_construct")

    def test_predict_shapes(self, conformance: ModelChecker) -> None:
        """Full and sampled predictions have the right shapes."""
        _run(conformance, "predict_shapes")

    def test_sampled_matches_full(self, conformance: ModelChecker) -> None:
        """Sampled scores equal the full scores gathered."""
        _run(conformance, "sampled_matches_full")

    def test_train_step_loss(self, conformance: ModelChecker) -> None:
        """``train_step`` returns a scalar loss that back-propagates."""
        _run(conformance, "train_step_loss")

    def test_loss_decreases(self, conformance: ModelChecker) -> None:
        """Training lowers the loss on a learnable toy problem."""
        _run(conformance, "loss_decreases")

    def test_deterministic(self, conformance: ModelChecker) -> None:
        """The same seed gives the same model."""
        _run(conformance, "deterministic")

    def test_save_load(self, conformance: ModelChecker) -> None:
        """A checkpoint round trip keeps hyperparameters and scores."""
        _run(conformance, "save_load")

    def test_topk_masks_seen(self, conformance: ModelChecker) -> None:
        """Top-k recommendation excludes seen items."""
        _run(conformance, "topk_masks_seen")

    def test_cuda(self, conformance: ModelChecker) -> None:
        """Works on CUDA like on CPU (skipped without a GPU)."""
        _run(conformance, "cuda")


def _run(checker: ModelChecker, name: str) -> None:
    result = checker.run_one(name)
    if result.status == "skipped":
        pytest.skip(result.message)
    if result.status == "failed":
        pytest.fail(f"{checker.name} {checker.params}: {name}: {result.message}", pytrace=False)


def _param_id(params: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items()) or "defaults"
