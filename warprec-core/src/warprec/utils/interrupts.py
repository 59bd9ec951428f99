"""Termination signals as interruptions: SIGTERM and SIGHUP end a run like Ctrl-C.

Inside :func:`signals_interrupt` a SIGTERM or SIGHUP raises :class:`Interrupted` (a
``KeyboardInterrupt``), so the code that keeps finished results on Ctrl-C keeps them on
``kill`` or a closed terminal too; the CLI then exits ``128 + signal``. Light: no numpy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Interrupted", "deferred", "interruption", "reason", "signals_interrupt"]

SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                if s is not None)
_received: list[int] = []  # the signals received inside the current signals_interrupt block


class Interrupted(KeyboardInterrupt):
    """A run ended by a signal: ``signum`` is SIGINT (Ctrl-C), SIGTERM or SIGHUP."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _raise(signum: int, _frame: Any) -> None:
    _received.append(signum)
    raise Interrupted(signum)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread only;
    elsewhere the block runs with the handlers as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {sig: signal.signal(sig, _raise) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Ignore SIGINT, SIGTERM and SIGHUP inside the block (the final write of an
    interrupted run must not itself be interrupted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *SIGNALS)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interruption() -> Interrupted:
    """The interruption to raise now: by the last signal received, else Ctrl-C."""
    return Interrupted(_received[-1] if _received else signal.SIGINT)


def reason() -> str:
    """Why the run was interrupted, for ``results.json``."""
    signum = _received[-1] if _received else signal.SIGINT
    if signum == signal.SIGINT:
        return "interrupted by the user (Ctrl-C)"
    return f"interrupted by {signal.Signals(signum).name}"
