"""Fixtures of the hostile suite; the helpers live in ``hostile_helpers``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_helpers import Outcome, World
from warprec.cli import main


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "world")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], fresh_plugins: None) -> Callable[..., Outcome]:
    """``warprec ARGS`` in this process (a fresh plugin host per test)."""

    def run(*args: str | Path) -> Outcome:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        code = info.value.code
        return Outcome(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run
