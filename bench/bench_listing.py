"""Listing and doctor: the time of the commands as a user runs them (a new process).

Run by hand (not a test): ``.venv/bin/python bench/bench_listing.py [--repeat 15]``.
The commands alternate, each in a fresh interpreter, and the median wall and CPU
(user + system, of the child and its children) time of ``--repeat`` runs is reported:

- ``warprec --help``: the floor (Python, click and the plugin host);
- ``warprec models list``, warm: the plugins' cached manifests read, no plugin code and
  no torch imported (target <= 0.3 s);
- ``warprec models list``, first after install: an empty cache, so every plugin is read
  in a child process (in parallel) and cached;
- the same listing through importing every model in the listing process, for the ratio;
- ``warprec plugins doctor warprec-models-neural`` (target <= 8 s wall on a quiet machine).

CPU time is the number to read on a loaded machine: wall time then includes waiting for
a core.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
IMPORTING = (
    "from warprec.recommenders.hyperparameters import describe_hyperparameters\n"
    "from warprec.utils.registry import model_registry\n"
    "for e in model_registry.entries(): describe_hyperparameters(e.load())\n"
)
WARM = tempfile.mkdtemp(prefix="warprec-bench-cache-")
COMMANDS = {
    "warprec --help": [str(BIN / "warprec"), "--help"],
    "warprec models list (warm)": [str(BIN / "warprec"), "models", "list"],
    "warprec models list (first)": [str(BIN / "warprec"), "models", "list"],
    "listing by importing the models": [sys.executable, "-c", IMPORTING],
    "plugins doctor warprec-models-neural": [str(BIN / "warprec"), "plugins", "doctor",
                                             "warprec-models-neural"],
}


def _run(name: str, argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (the child and what it waited for) of one run."""
    cold = "(first)" in name
    cache = tempfile.mkdtemp(prefix="warprec-bench-cold-") if cold else WARM
    env = {**os.environ, "WARPREC_CACHE_DIR": cache}
    before = os.times()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run the command with its output discarded
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(argv[0], argv, env)
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    after = os.times()
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    cpu = (after.children_user - before.children_user) + \
          (after.children_system - before.children_system)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for name, argv in COMMANDS.items():
        _run(name, argv)  # warm the file cache and the manifest cache
    for _ in range(args.repeat):
        for name, argv in COMMANDS.items():
            times[name].append(_run(name, argv))
    load = os.getloadavg()[0]
    print(f"median of {args.repeat} alternating runs, {os.cpu_count()} cores, "
          f"load average {load:.1f}")
    print(f"{'command':40} {'wall':>8} {'cpu':>8}")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:40} {wall:7.3f}s {cpu:7.3f}s")
    shutil.rmtree(WARM, ignore_errors=True)


if __name__ == "__main__":
    main()
