"""How many CPU threads a run uses: :func:`thread_limit` caps torch's thread pools and
the BLAS/OpenMP pools of every loaded library for the duration of a ``with`` block.

    with thread_limit(2):
        trainer.fit()

torch is imported inside the functions, never at module import, so that importing this
module (as the CLI does) stays cheap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from warprec.errors import ConfigError

__all__ = ["default_threads", "thread_limit"]

logger = logging.getLogger("warprec.threads")


def default_threads() -> int:
    """The number of CPUs this process may run on: its CPU affinity where the platform
    reports one (containers and ``taskset`` restrict it), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextmanager
def thread_limit(n: int | None) -> Iterator[int]:
    """Run the block with ``n`` threads (``None``: :func:`default_threads`).

    Sets torch's intra-op pool (``torch.set_num_threads``) and, through threadpoolctl,
    the BLAS and OpenMP pools of every loaded library (numpy's and scipy's BLAS, torch's
    OpenMP); both are restored when the block ends, so runs in one process do not leak
    their settings into each other. torch's inter-op pool can be sized only once per
    process, before any inter-op work: it is set to ``n`` when torch still allows it
    and left as it is otherwise (never restored). Yields the thread count applied.

    Raises:
        ConfigError: ``n`` is not a positive integer (or ``None``).
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError(f"thread_limit: threads must be a positive integer or None, got {n!r}")
    threads = default_threads() if n is None else n
    import torch
    from threadpoolctl import threadpool_limits

    _try_interop(torch, threads)
    previous = torch.get_num_threads()
    try:
        with threadpool_limits(limits=threads):
            # After threadpoolctl: torch's own setting is the one its operators read.
            torch.set_num_threads(threads)
            yield threads
    finally:
        torch.set_num_threads(previous)


def _try_interop(torch: object, threads: int) -> None:
    set_interop = getattr(torch, "set_num_interop_threads", None)
    get_interop = getattr(torch, "get_num_interop_threads", None)
    if set_interop is None or get_interop is None or get_interop() == threads:
        return
    try:
        set_interop(threads)
    except RuntimeError:
        # torch allows it once, before any inter-op parallel work has started.
        logger.debug("torch's inter-op thread pool is already in use; left at %d", get_interop())
