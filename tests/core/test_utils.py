"""Shared parameter checks and atomic file writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from warprec.errors import ConfigError
from warprec.utils.checks import (
    as_float,
    check_integer,
    check_ratio,
    describe,
)
from warprec.utils.files import atomic_path


def test_as_float_takes_numbers_and_numeric_strings_only() -> None:
    assert as_float(3) == 3.0 and as_float("1e-3") == 0.001 and as_float(np.int64(2)) == 2.0
    assert as_float(True) is None and as_float("abc") is None and as_float(None) is None


def test_describe_shows_a_short_repr_and_the_type() -> None:
    assert describe("abc") == "'abc' (str)"
    assert describe(list(range(40))) == "[0, 1, 2, 3, 4, 5, ...] (list)"
    assert describe("x" * 500) == "'xxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxx' (str)"
    nested: list = [1]
    for _ in range(1000):  # deep and wide values are described without expanding them
        nested = [nested, nested]
    assert describe(nested) == "[[[[...], [...]], [[...], [...]]], [[[...], [...]], [[...... (list)"


def test_integer_and_ratio_checks_name_the_parameter() -> None:
    assert check_integer(7.0, 1, "x") == 7 and check_integer(np.int64(0), 0, "x") == 0
    for value, minimum, expected in [(0, 1, "a positive integer"), (-1, 0, "a non-negative"),
                                     (1, 2, "an integer >= 2"), (True, 1, "a positive"),
                                     ("7", 1, "a positive"), (2.5, 1, "a positive")]:  # fmt: skip
        with pytest.raises(ConfigError, match=f"^Owner.k must be {expected}.*, got {value!r}$"):
            check_integer(value, minimum, "Owner.k")
    assert check_ratio("0.25", "r") == 0.25
    for value in (1.0, -0.1, float("nan"), "half", None):
        with pytest.raises(ConfigError, match=r"^Owner\.r must be in \[0, 1\), got "):
            check_ratio(value, "Owner.r")


def test_atomic_path_publishes_whole_files_only(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "done"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
