"""The kit's pytest plugin (fixtures, light import) and the ModelConformance base class."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import importlib_metadata
import pytest

# Loaded before pytester's in-process runs, which unload what they import
# (torch must not be imported twice in one process).
import warprec.testing.suite  # noqa: F401
from kit_models import GoodEASE

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
# Hypothesis' plugin imports all of hypothesis at the end of each in-process run.
# The inner runs print their tests in order: no shuffling there (pytest-randomly).
INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly")


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    points = importlib_metadata.entry_points(group="pytest11")
    assert {(p.name, p.value) for p in points} >= {("warprec", "warprec.testing.pytest_plugin")}


def test_plugin_and_kit_package_import_without_torch() -> None:
    code = ("import sys, warprec.testing, warprec.testing.pytest_plugin; "
            "print(sorted(m for m in ('torch', 'numpy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fixtures_share_one_dataset(warprec_dataset, warprec_interactions, warprec_sessions,
                                    warprec_info, warprec_frame) -> None:
    assert warprec_interactions is warprec_dataset.train
    assert warprec_sessions is warprec_dataset.train_sessions
    assert warprec_info["n_users"] == warprec_dataset.n_users == warprec_frame.user_id.nunique()
    assert warprec_dataset.validation is not None and len(warprec_dataset.test) == 48


def test_model_checker_fixture_uses_the_fixture_dataset(warprec_model_checker,
                                                        warprec_dataset) -> None:
    checker = warprec_model_checker(GoodEASE, {"l2": 1.0}, seed=7)
    assert checker.dataset is warprec_dataset and checker.seed == 7
    assert checker.run_one("predict_shapes").status == "passed"


def test_model_conformance_class_runs_each_check_per_param_set(
    pytester: pytest.Pytester,
) -> None:
    pytester.syspathinsert(HERE)
    pytester.makepyfile(textwrap.dedent("""
        from kit_models import GoodEASE, SampledOffByOne
        from warprec.testing import ModelConformance, toy_dataset

        class TestGood(ModelConformance):
            model_class = GoodEASE
            params = [{}, {"l2": 1.0}]

        class TestBroken(ModelConformance):
            model_class = SampledOffByOne

        class TestOwnData(ModelConformance):
            model_class = GoodEASE

            @classmethod
            def dataset(cls):
                return toy_dataset(n_users=24, explicit=True)

            def test_checks_run_on_the_class_data(self, conformance):
                assert conformance.dataset.n_users == 24 and not conformance.dataset.implicit
    """))
    result = pytester.runpytest_inprocess(*INNER, "-v")
    # 12 checks x 2 parameter sets, 12 x 1, and 12 + 1; training checks and cuda skip.
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes["passed"] + outcomes["skipped"] == 48
    result.stdout.fnmatch_lines([
        "*TestGood::test_loss_decreases[[]defaults[]] SKIPPED*",
        "*TestGood::test_save_load[[]l2=1.0[]] PASSED*",
        "*TestOwnData::test_checks_run_on_the_class_data[[]defaults[]] PASSED*",
        "FAILED *TestBroken::test_sampled_matches_full[[]defaults[]]*",
    ])
    assert "sampled scores differ from the full scores gathered" in result.stdout.str()


def test_model_conformance_without_model_class_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent("""
        from warprec.testing import ModelConformance

        class TestNothing(ModelConformance):
            pass
    """))
    result = pytester.runpytest_inprocess(*INNER, "-k", "constructs")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TestNothing: set model_class to the model to check*"])
