"""Hostile MLflow stores: a scheme or a local store that cannot work is refused when the
plan is made (exit 2, nothing written); a remote server that never answers, or refuses
the connection, costs at most ``general.mlflow.timeout`` after the run, which keeps its
complete results and exits 3 after one warning."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_helpers import Outcome, World, finish, refused_before_run, results, spawn

pytest.importorskip("mlflow")


def tracked(world: World, uri: str, **options: object) -> Path:
    return world.config(general={"mlflow": {"tracking_uri": uri, **options}})


def test_an_unknown_scheme_is_refused_before_anything_runs(cli, world: World) -> None:
    refused_before_run(cli, world, tracked(world, "bogus://x"),
                           "general.mlflow.tracking_uri: unknown scheme 'bogus'")


@pytest.mark.parametrize("store", ["file:{victim}/mlruns", "{victim}", "file:{victim}",
                                   "sqlite:///{victim}/m.db"])
def test_a_store_that_cannot_be_written_is_refused(cli, world: World, store: str) -> None:
    # Under a file (unwritable even for root, unlike a chmod-ed folder).
    uri = store.format(victim=world.victim)
    refused_before_run(cli, world, tracked(world, uri),
                           "general.mlflow.tracking_uri", "victim.txt")


def test_config_check_refuses_the_store_too(cli, world: World) -> None:
    result = cli("config", "check", tracked(world, "bogus://x"))
    assert result.code == 2 and "unknown scheme 'bogus'" in result.error_line()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port whose kernel accepts connections that nobody ever answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_tracked(result: Outcome, run: Path) -> str:
    """Exit 3, one warning, the results complete and recorded; returns the warning."""
    assert result.code == 3, result.err
    assert "Traceback" not in result.err and "unexpected" not in result.err, result.err
    warnings = [line for line in result.err.splitlines() if "MLflow" in line]
    assert len(warnings) == 1, result.err
    data = results(run)
    assert data["status"] == "complete" and data["models"][0]["status"] == "ok"
    assert data["post_run_failures"] == [warnings[0].removeprefix("Warning: ")]
    assert "Pop" in result.out  # the results table was printed
    return warnings[0]


def test_a_server_that_never_answers_is_bounded(world: World, silent_server: int) -> None:
    """In a real process: the logging thread blocked on the socket does not keep the
    process from exiting."""
    run, uri = world.root / "run", f"http://127.0.0.1:{silent_server}"
    process = spawn(["run", tracked(world, uri, timeout=2), "-o", run, "-q"], world.root)
    line = check_tracked(finish(process, timeout=60), run)
    assert f"{uri} did not finish within general.mlflow.timeout = 2 s" in line


def test_a_refused_connection_is_one_warning(cli, world: World, closed_port: int) -> None:
    run, uri = world.root / "run", f"http://127.0.0.1:{closed_port}"
    line = check_tracked(cli("run", tracked(world, uri, timeout=30), "-o", run, "-q"), run)
    assert f"cannot connect to {uri}: Connection refused" in line
