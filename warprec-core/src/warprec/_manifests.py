"""What each installed plugin provides, read once in a child process and cached.

A :class:`Manifest` holds what a distribution's hooks register (kind, name,
``module:Qualname``), each model's hyperparameters and docstring, and each command's
short help. It is made by :mod:`warprec._probe` in a child process under a time limit
(``WARPREC_PLUGIN_TIMEOUT``) and a memory limit (``WARPREC_PLUGIN_MEMORY_MB``), and
cached per distribution, version and file state in ``WARPREC_CACHE_DIR``, else
``$XDG_CACHE_HOME/warprec``, else ``~/.cache/warprec``. Listing reads the cache: it
imports no plugin code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warprec.utils.checks import shorten
from warprec.utils.files import atomic_path

__all__ = ["Manifest", "Target", "cache_dir", "load_manifests"]

FORMAT = 2  # bumped when the probe's output changes
TIMEOUT_ENV = "WARPREC_PLUGIN_TIMEOUT"
MEMORY_ENV = "WARPREC_PLUGIN_MEMORY_MB"
CACHE_ENV = "WARPREC_CACHE_DIR"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 4096  # the data segment (RLIMIT_DATA): reading a torch plugin needs ~400
RETRY_SECONDS = 600  # how long the death of a probe is believed
_SKIPPED_DIRS = {"__pycache__", "build", "dist", "node_modules", "venv"}


@dataclass
class Target:
    """A distribution to probe: its name, version, entry point and file-state key."""

    name: str
    version: str | None
    entry_point: str
    key: str


@dataclass
class Manifest:
    """What one distribution registers, as its probe saw it."""

    name: str
    version: str | None
    status: str = "ok"  # ok | error
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    # kind -> [{"name", "reference", "params" | "help" | "error"}], in registration order
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole probe
    # A probe that died (time limit, exit, signal) may not fail next time (a loaded
    # machine, the OOM killer): its manifest is read from the cache until this time only.
    retry_after: float | None = None
    load_seconds: float | None = None  # importing the hook module
    cached: bool = False

    def entry(self, kind: str, name: str) -> dict[str, Any] | None:
        """The description of ``name`` of ``kind`` (``None`` when not registered)."""
        return next((e for e in self.entries.get(kind, []) if e["name"] == name), None)


def cache_dir() -> Path:
    """Where manifests are cached (``WARPREC_CACHE_DIR``, XDG, ``~/.cache/warprec``)."""
    explicit = os.environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "warprec"


def file_state(dist: Any) -> str:
    """What changes when a distribution is reinstalled or, for an editable install
    (``direct_url.json``), when any of its Python files changes."""
    parts = [str(dist.name), str(dist.version), str(getattr(dist, "_path", ""))]
    path = Path(str(getattr(dist, "_path", "")))
    for name in ("RECORD", "METADATA", "entry_points.txt", "direct_url.json"):
        parts.append(_stat(path / name))
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    if direct.get("dir_info", {}).get("editable") and direct.get("url", "").startswith("file://"):
        parts.extend(_tree_state(Path(direct["url"].removeprefix("file://"))))
    return "\n".join(parts)


def _stat(path: Path) -> str:
    try:
        status = path.stat()
    except OSError:
        return f"{path.name}:-"
    return f"{path.name}:{status.st_mtime_ns}:{status.st_size}"


def _tree_state(root: Path) -> list[str]:
    states: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        states.extend(f"{folder}/{_stat(Path(folder) / f)}" for f in sorted(files)
                      if f.endswith(".py"))
    return states


def key_of(*states: str) -> str:
    """The cache key of a manifest: the probe format, this Python and the file states."""
    text = "\n".join([str(FORMAT), sys.executable, sys.version, *states])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_manifests(targets: list[Target], *, retry_failed: bool = False
                   ) -> dict[str, Manifest]:
    """The manifest of every target: from the cache, else probed (in parallel, each in
    its own child process); ``retry_failed`` probes again what the cache holds as failed."""
    manifests: dict[str, Manifest] = {}
    started: list[tuple[Target, _Probe]] = []
    for target in targets:
        cached = _read(target)
        if cached is not None and not (retry_failed and cached.status != "ok"):
            manifests[target.name] = cached
        else:
            started.append((target, _Probe(target)))
    try:
        for target, probe in started:
            manifest = probe.finish()
            _write(target, manifest)
            manifests[target.name] = manifest
    finally:  # interrupted (Ctrl-C, SIGTERM): no probe outlives this process
        for _, probe in started:
            probe.close()
    return manifests


def _cache_file(target: Target) -> Path:
    stem = "".join(c if c.isalnum() else "-" for c in target.name.lower())
    return cache_dir() / "plugins" / f"{stem}-{target.key}.json"


def _read(target: Target) -> Manifest | None:
    try:
        data = json.loads(_cache_file(target).read_text("utf-8"))
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None
    if manifest.retry_after is not None and time.time() > manifest.retry_after:
        return None
    manifest.cached = True
    return manifest


def _write(target: Target, manifest: Manifest) -> None:
    path = _cache_file(target)
    try:
        for old in path.parent.glob(path.name[:-len(target.key) - 5] + "?" * len(target.key)
                                    + ".json"):
            old.unlink(missing_ok=True)  # earlier versions or file states of this plugin
        with atomic_path(path) as tmp:
            data = {k: v for k, v in asdict(manifest).items() if k != "cached"}
            tmp.write_text(json.dumps(data, default=repr), "utf-8")
    except OSError:
        pass  # an unwritable cache only costs the probe again next time


def _limit(env: str, default: float) -> float:
    try:
        return float(os.environ.get(env, "").strip() or default)
    except ValueError:
        return default


def _child_env() -> dict[str, str]:
    """This process's environment, with its ``sys.path``: the child sees the plugins
    this process sees (a folder added to ``sys.path`` at run time included)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


class _Probe:
    """One child process probing one distribution (output to temporary files, so a
    chatty plugin never blocks on a full pipe)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.timeout = _limit(TIMEOUT_ENV, DEFAULT_TIMEOUT)
        memory = int(_limit(MEMORY_ENV, DEFAULT_MEMORY_MB))
        # Closed by finish(): the files outlive this method.
        self.out = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.err = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.start = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "warprec._probe", target.name, target.entry_point,
             str(memory)],  # -P: not the current folder first on the path
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err, env=_child_env(),
            start_new_session=os.name == "posix")  # what the plugin starts dies with it

    def finish(self) -> Manifest:
        """Wait (within the time limit) and read what the child reported."""
        remaining = self.timeout - (time.monotonic() - self.start)
        timed_out = False
        try:
            self.process.wait(timeout=max(remaining, 0.01))
        except subprocess.TimeoutExpired:
            timed_out = True
        self._kill_group()
        manifest = self._read_events()
        manifest.seconds = round(time.monotonic() - self.start, 3)
        if manifest.status == "ok" and not self._done:
            manifest.status = "error"
            manifest.error = self._death(timed_out)
            manifest.retry_after = time.time() + RETRY_SECONDS
        self._forward_trace()
        self.close()
        return manifest

    def close(self) -> None:
        """Kill the child (and what it started) if it still runs; drop its files."""
        if self.process.returncode is None:
            self._kill_group()
        self.out.close()
        self.err.close()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        self.process.wait()

    def _read_events(self) -> Manifest:
        manifest = Manifest(self.target.name, self.target.version)
        self._done, self._phase = False, "starting"
        self.out.seek(0)
        for line in self.out:
            try:
                event = json.loads(line)
            except ValueError:
                break  # a line cut by the child's death
            self._apply(manifest, event)
        return manifest

    def _apply(self, manifest: Manifest, event: dict[str, Any]) -> None:
        if "phase" in event:
            self._phase = event["phase"]
        elif "registered" in event:
            manifest.entries.setdefault(event["registered"], []).append(
                {"name": event["name"], "reference": event["reference"]})
        elif "loaded" in event:
            manifest.load_seconds = event["loaded"]
        elif "hooks" in event:
            manifest.hooks = event["hooks"]
        elif "described" in event:
            described = manifest.entry(event["described"], event["name"])
            if described is not None:
                described.update({k: v for k, v in event.items()
                                  if k not in ("described", "name")})
        elif "failed" in event:
            manifest.status, manifest.error = "error", event["failed"]
        elif "warnings" in event:
            manifest.warnings = event["warnings"]
        elif event.get("done"):
            self._done = True

    def _death(self, timed_out: bool) -> str:
        where = f"while {self._phase}"
        if timed_out:
            return (f"did not finish within {self.timeout:g} s ({TIMEOUT_ENV}) {where}: "
                    "it hangs or loops")
        code = self.process.returncode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            return f"was killed by {name} {where}" + self._stderr_tail(
                " (out of memory? the limit is " f"{MEMORY_ENV})")
        return f"exited with status {code} {where}" + self._stderr_tail("")

    def _stderr_tail(self, fallback: str) -> str:
        self.err.seek(0)
        lines = [line for line in self.err.read()[-4000:].splitlines() if line.strip()]
        return f": {shorten(lines[-1], 200)}" if lines else fallback

    def _forward_trace(self) -> None:
        from warprec._hooks import TRACE_ENV

        if os.environ.get(TRACE_ENV, "").strip().lower() not in {"1", "true", "yes", "on"}:
            return
        self.err.seek(0)
        for line in self.err:
            if line.startswith("[warprec plugins]"):
                sys.stderr.write(f"[{self.target.name} probe] {line}")
