"""The contract smoke check: its time per model, on the sample a run would take.

Run by hand (not a test): ``.venv/bin/python bench/bench_smoke.py [--threads 1] [MODEL ...]``.
A MovieLens-1M-sized synthetic table (6,000 users, 3,700 items, 1M interactions) is
split 80/20 per user; :func:`warprec.testing.smoke.data_sample` takes the run's sample
(64 users, 128 items) and :func:`warprec.testing.smoke.smoke_check` runs on every
official model with its defaults (official models skip the check in a run: they stand
in for third-party models of each kind). The second of two calls is timed (the first
pays one-off imports and kernel set-up), as wall and CPU time of this process; CPU time
is the number to read on a loaded machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from warprec._registry import OFFICIAL_PLUGINS
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.testing.smoke import data_sample, smoke_check
from warprec.utils.registry import model_registry
from warprec.utils.threads import thread_limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(OFFICIAL_PLUGINS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    frame = synthetic(n_users=6000, n_items=3700, n_interactions=1_000_000)
    data = Dataset.from_dataframe(frame.drop(columns=["rating"]), RandomHoldoutPerUser())
    with thread_limit(args.threads):
        start = time.perf_counter()
        sample = data_sample(data)
        print(f"sample: {time.perf_counter() - start:.3f} s wall, {sample}")
        cpu_times = []
        for name in args.models:
            cls = model_registry.get_class(name)
            smoke_check(cls, {}, sample)
            wall, cpu = time.perf_counter(), time.process_time()
            smoke_check(cls, {}, sample)
            cpu_times.append(time.process_time() - cpu)
            print(f"{name:10s} {time.perf_counter() - wall:6.3f} s wall "
                  f"{cpu_times[-1]:6.3f} s CPU", flush=True)
    print(f"CPU per model: median {statistics.median(cpu_times):.3f} s, "
          f"max {max(cpu_times):.3f} s")


if __name__ == "__main__":
    main()
