"""``warprec models list``: the time of the command as a user runs it (a new process).

Run by hand (not a test): ``.venv/bin/python bench/bench_listing.py [--repeat 15]``.
Three commands alternate, each in a fresh interpreter, and the median wall and CPU
(user + system, of the child) time of ``--repeat`` runs is reported:

- ``warprec --help``: the floor (Python, click and the plugin host);
- ``warprec models list``: hyperparameters read from source, no torch (target <= 0.3 s);
- the same listing through importing every model (what it did before: torch and every
  model module imported), for the ratio.

CPU time is the number to read on a loaded machine: wall time then includes waiting for
a core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
IMPORTING = (
    "from warprec.recommenders.hyperparameters import describe_hyperparameters\n"
    "from warprec.utils.registry import model_registry\n"
    "for e in model_registry.entries(): describe_hyperparameters(e.load())\n"
)
COMMANDS = {
    "warprec --help": [str(BIN / "warprec"), "--help"],
    "warprec models list": [str(BIN / "warprec"), "models", "list"],
    "listing by importing the models": [sys.executable, "-c", IMPORTING],
}


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall and child CPU seconds of one run, output discarded."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run the command with its output discarded
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():
        _run(argv)  # warm the file cache
    for _ in range(args.repeat):
        for name, argv in COMMANDS.items():
            times[name].append(_run(argv))
    load = os.getloadavg()[0]
    print(f"median of {args.repeat} alternating runs, {os.cpu_count()} cores, "
          f"load average {load:.1f}")
    print(f"{'command':34} {'wall':>8} {'cpu':>8}")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:34} {wall:7.3f}s {cpu:7.3f}s")
    listing = statistics.median(c for _, c in times["warprec models list"])
    importing = statistics.median(c for _, c in times["listing by importing the models"])
    print(f"listing from source is {importing / listing:.1f}x faster (CPU) than importing")


if __name__ == "__main__":
    main()
