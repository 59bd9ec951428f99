"""Fixtures of the classic models' tests."""

from __future__ import annotations

import pytest
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    """A synthetic dataset with train, validation and test (300 users, 120 items)."""
    frame = synthetic(n_users=300, n_items=120, n_interactions=6000, seed=3).drop(columns="rating")
    return Dataset.from_dataframe(frame, RandomHoldoutPerUser())
