"""Helpers of the hostile suite, imported by its tests (the fixtures are in conftest): a
"world" folder whose every file is fingerprinted, so a test asserts that nothing outside the
run folder changed; tiny configs; the CLI as a real process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TINY = {"n_users": 30, "n_items": 20, "n_interactions": 200}


@dataclass
class Outcome:
    """Exit status and output of one ``warprec`` invocation."""

    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one ``Error:`` line (asserting it is alone on stderr, bar warnings)."""
        lines = [line for line in self.err.splitlines() if not line.startswith("Warning:")]
        assert len(lines) == 1, self.err
        assert lines[0].startswith("Error: "), self.err
        assert "Traceback" not in self.err and "Logging error" not in self.err, self.err
        return lines[0]


class World:
    """A folder holding the run folders, a victim file beside them and the inputs; its
    fingerprint (every file's content and every folder) says what a run changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.victim = root / "data" / "victim.txt"
        self.victim.parent.mkdir(parents=True)
        self.victim.write_text("precious\n")

    def fingerprint(self, skip: Path | None = None) -> dict[str, str]:
        """Every path under the world (``skip``, the run folder, left out) and a hash."""
        prints = {}
        for path in sorted(self.root.rglob("*")):
            if skip is not None and (path == skip or skip in path.parents):
                continue
            rel = str(path.relative_to(self.root))
            prints[rel] = "dir" if path.is_dir() else hashlib.sha256(
                path.read_bytes()).hexdigest()
        return prints

    def config(self, models: dict[str, Any] | None = None, name: str = "c.yaml",
               **sections: Any) -> Path:
        """Write a tiny config (bundled synthetic data, Pop, nDCG@5) updated by ``sections``."""
        config: dict[str, Any] = {
            "reader": {"dataset": "synthetic", "dataset_params": dict(TINY)},
            "evaluation": {"top_k": [5], "metrics": ["nDCG"]},
            "models": models or {"Pop": {}},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        path = self.root / name
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def module(self, source: str, name: str = "hostile_models.py") -> str:
        """Write a custom module beside the configs; returns its name for custom_modules."""
        (self.root / name).write_text(textwrap.dedent(source))
        return name


def results(run: Path) -> dict[str, Any]:
    """``results.json`` of a run (it must be valid JSON)."""
    return json.loads((run / "results.json").read_text())


def leftovers(run: Path) -> list[str]:
    """Temporary files of atomic writes and the claim, which must not survive a run."""
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*"))


# Real processes: the venv's python running the console entry point.
ENTRY = "from warprec.cli import main; main()"


def spawn(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
          **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``warprec ARGS`` as a process (plugins off, for a fast start)."""
    environment = {**os.environ, "WARPREC_DISABLE_PLUGINS": "warprec-models-neural",
                   "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", ENTRY, *map(str, args)], cwd=cwd,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until ``path`` exists (the process reached a known point)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"exited {process.returncode} early: {err}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def finish(process: subprocess.Popen[str], timeout: float = 60) -> Outcome:
    """Wait for the process (killing it after ``timeout``)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"did not finish in {timeout} s: {err}") from None
    return Outcome(process.returncode, out, err)


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP, "SIGINT": signal.SIGINT}


def refused_before_run(cli: Callable[..., Outcome], world: World, config: Path,
                       *fragments: str) -> str:
    """``warprec run CONFIG`` refused with one ``Error:`` line holding ``fragments``,
    exit 2, before the run folder exists and with nothing else in the world changed."""
    before = world.fingerprint()
    result = cli("run", config, "-o", world.root / "run", "-q")
    line = result.error_line()
    assert result.code == 2, result.err
    for fragment in fragments:
        assert fragment in line, line
    assert not (world.root / "run").exists()
    assert world.fingerprint() == before
    return line
