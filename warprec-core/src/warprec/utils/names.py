"""The one "did you mean" of the project: close matches of a mistyped name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["close_matches", "did_you_mean"]


def close_matches(value: str, options: Iterable[str], n: int = 1) -> list[str]:
    """Up to ``n`` options close to ``value``, compared case-insensitively, best first."""
    lowered = {str(option).lower(): str(option) for option in options}
    found = difflib.get_close_matches(str(value).lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[match] for match in found]


def did_you_mean(value: str, options: Iterable[str], n: int = 1) -> str:
    """``" (did you mean 'X'?)"`` for the close options of ``value``, or ``""``."""
    close = close_matches(value, options, n)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
