"""Ray that cannot start or connect: one ``Error:`` line naming the address (or the local
start) or the missing extra, never Ray's multi-line messages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hostile_helpers import World

pytest.importorskip("ray")


def searched(world: World, **general: object) -> Path:
    return world.config({"EASE": {"l2": [1.0, 10.0]}}, general={"backend": "ray", **general})


@pytest.mark.skipif(importlib.util.find_spec("grpc") is not None,
                    reason="Ray's client extra is installed")
def test_a_ray_client_address_without_the_extra(cli, world: World) -> None:
    config = searched(world, ray_address="ray://127.0.0.1:10001")
    before = world.fingerprint()
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 2
    assert result.error_line() == (
        "Error: general.ray_address 'ray://127.0.0.1:10001': a ray:// address needs Ray's "
        "client extra (grpcio); pip install 'ray[client]'")
    assert not (world.root / "run").exists() and world.fingerprint() == before


TIMED_OUT = """The current node timed out during startup. This could happen because some of \
the Ray processes failed to startup.
--------------------------------------------------------------------
Ray's banner: dashboard, logs in /tmp/ray/session_latest ...
"""


@pytest.mark.parametrize("address", [None, "127.0.0.1:6379"])
def test_a_ray_start_that_times_out_is_one_line(cli, world: World,
                                                monkeypatch: pytest.MonkeyPatch,
                                                address: str | None) -> None:
    """Monkeypatched: no real condition makes Ray's start time out quickly and
    reliably (it waits a minute by default), so ``ray.init`` raises what Ray raises."""
    import ray

    def init(**kwargs: object) -> None:
        raise Exception(TIMED_OUT)

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    result = cli("run", searched(world, ray_address=address), "-o", world.root / "run", "-q")
    line = result.error_line()
    where = "general.backend 'ray': the local Ray" if address is None else \
        f"general.ray_address {address!r}"
    verb = "start" if address is None else "connect"
    assert result.code == 2 and line == (
        f"Error: models.EASE: {where}: Ray could not {verb}: The current node timed out "
        "during startup. This could happen because some of the Ray processes failed to "
        "startup."), line
    assert "banner" not in result.err
