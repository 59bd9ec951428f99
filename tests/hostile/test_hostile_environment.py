"""Hostile environments: ``WARPREC_THREADS`` with the bounds of ``general.threads``,
threads capped by the CPUs the process may use, and models under a real address-space
limit (``RLIMIT_AS`` set in the child process): a run succeeds or ends in one line."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest
from hostile_helpers import Outcome, World, finish, results, spawn
from warprec.utils.threads import default_threads

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics")


def run(world: World, config: Path, env: dict[str, str] | None = None,
        limit_bytes: int | None = None, timeout: float = 90) -> Outcome:
    def limited() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    process = spawn(["run", config, "-o", world.root / "run", "-q"], world.root, env=env,
                    preexec_fn=limited)
    return finish(process, timeout=timeout)


@pytest.mark.parametrize("value", [" ", "0", "-1", "1e3", "٣", "4097", "2 2"])
def test_warprec_threads_has_the_bounds_of_general_threads(cli, world: World, value: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("WARPREC_THREADS", value)
    result = cli("run", world.config(), "-o", world.root / "run", "-q")
    assert result.code == 2 and result.error_line() == (
        f"Error: WARPREC_THREADS: got {value!r}; expected an integer from 1 to 4096")
    assert not (world.root / "run").exists()


def test_warprec_threads_far_beyond_the_bound_never_reaches_openmp(world: World) -> None:
    """In a real process: 99,999,999 OpenMP threads would exhaust memory."""
    result = run(world, world.config(), env={"WARPREC_THREADS": "99999999"})
    assert result.code == 2 and result.error_line() == (
        "Error: WARPREC_THREADS: got '99999999'; expected an integer from 1 to 4096")
    assert not (world.root / "run").exists()


def test_an_empty_warprec_threads_means_the_default(cli, world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARPREC_THREADS", "")
    assert cli("run", world.config(), "-o", world.root / "run", "-q").code == 0
    assert results(world.root / "run")["threads"] == default_threads()


@pytest.mark.parametrize("source", ["general.threads", "WARPREC_THREADS"])
def test_threads_beyond_the_cpus_are_capped_with_a_warning(cli, world: World, source: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    cpus = default_threads()
    asked = 4096
    if source == "general.threads":
        config = world.config(general={"threads": asked})
    else:
        config = world.config()
        monkeypatch.setenv("WARPREC_THREADS", str(asked))
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 0, result.err
    warning = (f"Warning: {source}: {asked} is more than the {cpus} CPU(s) this process "
               f"may use; using {cpus}")
    assert warning in result.err.splitlines()
    data = results(world.root / "run")
    assert data["threads"] == cpus and warning.removeprefix("Warning: ") in data["warnings"]


@linux_only
def test_ease_with_4096_threads_under_an_address_space_limit(world: World) -> None:
    """``ulimit -v 6000000`` and ``general.threads: 4096``: the run completes (threads
    capped) within the finish timeout instead of hanging in the thread pools."""
    config = world.config({"EASE": {}}, general={"threads": 4096})
    result = run(world, config, limit_bytes=6_000_000 * 1024)
    assert result.code == 0, result.err
    assert results(world.root / "run")["threads"] == default_threads()


@linux_only
def test_an_allocation_beyond_the_limit_is_one_line(world: World) -> None:
    """A real MemoryError: EASE's item-item matrix of ~37,000 items (5.5 GB) under a
    3 GB address space."""
    config = world.config({"EASE": {}}, reader={"dataset_params": {
        "n_users": 50, "n_items": 40_000, "n_interactions": 120_000}})
    result = run(world, config, limit_bytes=3 << 30)
    line = result.error_line()
    assert result.code == 2 and "models.EASE" in line and "more memory" in line, result.err
    assert results(world.root / "run")["models"][0]["status"] == "failed"


LIMIT_AT_IMPORT = """
import resource

# Leave 64 MB of address space above what the process maps now (torch loaded): too
# little to map numba's LLVM library later.
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + (64 << 20),) * 2)
"""


@linux_only
def test_the_compiled_kernel_under_an_address_space_limit(world: World) -> None:
    """A real failure to map ``libllvmlite.so`` (numba's LLVM) under ``RLIMIT_AS``: one
    line naming the model and the reason, not an unexpected ``OSError``."""
    pytest.importorskip("numba")
    config = world.config({"BPR": {"kernel": "compiled", "epochs": 1, "embedding_size": 4}},
                          general={"custom_modules": [world.module(LIMIT_AT_IMPORT)]})
    result = run(world, config, env={"WARPREC_DISABLE_PLUGINS": ""})
    line = result.error_line()
    assert result.code == 2 and line.startswith("Error: models.BPR: building BPR"), line
    assert "needs more memory than there is" in line and "libllvmlite" in line
    assert results(world.root / "run")["models"][0]["status"] == "failed"
