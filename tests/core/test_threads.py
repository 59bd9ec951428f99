"""warprec.utils.threads: thread_limit and default_threads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from threadpoolctl import threadpool_info
from warprec.errors import ConfigError
from warprec.utils.threads import default_threads, thread_limit


def _pool_threads() -> set[int]:
    """Thread counts of the loaded BLAS/OpenMP pools, as threadpoolctl reports them."""
    return {pool["num_threads"] for pool in threadpool_info()}


def test_default_threads_is_the_affinity() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_threads() == expected


def test_default_threads_without_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert default_threads() == 7


def test_limit_applies_inside_and_is_restored() -> None:
    before_torch, before_pools = torch.get_num_threads(), _pool_threads()
    target = before_torch + 2
    with thread_limit(target) as applied:
        assert applied == target
        assert torch.get_num_threads() == target
        assert _pool_threads() == {target}
    assert torch.get_num_threads() == before_torch
    assert _pool_threads() == before_pools


def test_restored_after_an_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(KeyError), thread_limit(before + 1):
        raise KeyError("inside")
    assert torch.get_num_threads() == before


def test_nested_limits_restore_the_outer_one() -> None:
    before = torch.get_num_threads()
    with thread_limit(3):
        with thread_limit(1):
            assert torch.get_num_threads() == 1
            assert _pool_threads() == {1}
        assert torch.get_num_threads() == 3
        assert _pool_threads() == {3}
    assert torch.get_num_threads() == before


def test_none_means_default_threads() -> None:
    with thread_limit(None) as applied:
        assert applied == default_threads()
        assert torch.get_num_threads() == default_threads()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_config_errors(bad: object) -> None:
    message = "thread_limit: threads must be a positive integer"
    with pytest.raises(ConfigError, match=message), thread_limit(bad):  # type: ignore[arg-type]
        pass


def test_import_does_not_import_torch() -> None:
    code = "import sys, warprec.utils.threads; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
