"""Fixtures shared by the whole suite: fake plugin distributions on ``sys.path``."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_dists import write_dist
from warprec import plugins

# Two pytest workers share two cores: one intra-op thread each. More threads make small
# tensor operations orders of magnitude slower on a loaded machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WARPREC_THREADS", "1")  # the default of general.threads in runs
# Plugin manifests cached for this session only (each worker probes the plugins once).
if "WARPREC_CACHE_DIR" not in os.environ:
    os.environ["WARPREC_CACHE_DIR"] = tempfile.mkdtemp(prefix="warprec-cache-")
    atexit.register(shutil.rmtree, os.environ["WARPREC_CACHE_DIR"], ignore_errors=True)
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(1)


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """A fresh plugin host for the test (rediscovered, strict mode from the environment);
    the session's registries are back as they were afterwards."""
    with plugins.host.isolated():
        yield


@pytest.fixture
def fake_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None
) -> Callable[..., Path]:
    """Make a fake installed distribution with a ``warprec`` entry point.

    ``fake_dist("acme-models", source="...hook module code...", requires=[...])`` writes
    ``<module>.py`` and ``<name>-<version>.dist-info`` (METADATA, entry_points.txt) into a
    folder put on ``sys.path``, so discovery sees it like a pip-installed plugin.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(
        name: str,
        source: str = "",
        *,
        version: str = "1.0.0",
        requires: list[str] | None = None,
        entry_point: str = "plugin",
    ) -> Path:
        info = write_dist(site, name, source, version=version, requires=requires,
                          entry_point=entry_point)
        sys.modules.pop(name.replace("-", "_") + "_plugin", None)
        return info

    return make
