"""Fixtures of the neural models' tests: tiny learnable datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warprec.data.dataset import Dataset
from warprec.testing.data import toy_dataset


@pytest.fixture(scope="session")
def toy() -> Dataset:
    """The conformance kit's clustered toy data (48 users, 32 items, 4 taste clusters)."""
    return toy_dataset()


@pytest.fixture(scope="session")
def chain() -> Dataset:
    """A sequential toy: every user walks the items in order ``s, s+1, s+2, ...`` (mod 30),
    from a random start; the last step is the test item, the one before it validation."""
    rng = np.random.default_rng(0)
    n_users, n_items, length = 60, 30, 8
    start = rng.integers(0, n_items, n_users)
    items = (start[:, None] + np.arange(length)[None, :]) % n_items
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), length),
            "item_id": items.ravel(),
            "timestamp": np.tile(np.arange(length), n_users),
        }
    )
    last = frame["timestamp"] == length - 1
    valid = frame["timestamp"] == length - 2
    return Dataset(frame[~last & ~valid], frame[last], frame[valid])

