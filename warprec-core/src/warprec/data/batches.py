"""Re-iterable batch loaders: every pass over one is a new, reproducible epoch."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from warprec.errors import DataError

__all__ = ["Batch", "BatchLoader"]

Batch = tuple[torch.Tensor, ...]


class BatchLoader:
    """A re-iterable sequence of batches; every pass is a new epoch.

    Each epoch draws its shuffle and its negatives from ``default_rng([seed, epoch])``,
    so runs are reproducible and epochs differ. With ``prefetch > 0`` a background
    thread builds up to that many batches ahead while the caller trains on the current
    one (numpy and torch release the GIL in their heavy parts); the batches and their
    order are the same as with ``prefetch=0``.
    """

    def __init__(
        self,
        n_samples: int,
        batch_size: int,
        collate: Callable[[np.ndarray, np.random.Generator], Batch],
        shuffle: bool = True,
        seed: int = 42,
        prefetch: int = 1,
    ):
        if batch_size < 1:
            raise DataError(f"batch_size must be a positive integer, got {batch_size}")
        if prefetch < 0:
            raise DataError(f"prefetch must be >= 0, got {prefetch}")
        self.n_samples = int(n_samples)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.prefetch = int(prefetch)
        self.epoch = 0
        self._collate = collate

    def __len__(self) -> int:
        return -(-self.n_samples // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        order = rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)
        batches = (
            self._collate(order[start : start + self.batch_size], rng)
            for start in range(0, self.n_samples, self.batch_size)
        )
        # A single batch has nothing to overlap with.
        if self.prefetch and len(self) > 1:
            batches = _prefetched(batches, self.prefetch)
        yield from batches


_DONE = object()


def _prefetched(batches: Iterator[Batch], depth: int) -> Iterator[Batch]:
    """``batches``, built by a daemon thread up to ``depth`` ahead. Closing (or dropping)
    the returned generator stops the thread; an error in it is raised here."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if not _put(ready, batch, stop):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(ready, exc, stop)
            return
        _put(ready, _DONE, stop)

    worker = threading.Thread(target=produce, name="warprec-batch-prefetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _put(ready: queue.Queue, item: Any, stop: threading.Event) -> bool:
    # Polls ``stop`` so that an abandoned consumer never leaves the thread blocked.
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
