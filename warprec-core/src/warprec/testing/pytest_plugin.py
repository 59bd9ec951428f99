"""pytest plugin of the conformance kit, registered through the ``pytest11`` entry point.

pytest loads it in every project where warprec-core is installed, so it stays light:
torch, numpy and pandas are imported inside the fixtures, when a test asks for one.
Fixtures (all prefixed ``warprec_`` to stay out of other projects' way):

- ``warprec_frame``: the toy interactions as a pandas DataFrame
  (``user_id``, ``item_id``, ``timestamp``).
- ``warprec_dataset``: a ``Dataset`` of it with train, validation and test, its items
  carrying the toy item features (``interactions.item_features``).
- ``warprec_interactions``, ``warprec_sessions``, ``warprec_info``: its training
  ``Interactions``, training ``Sessions`` and ``info()`` dict.
- ``warprec_model_checker``: a factory ``(ModelClass, params) -> ModelChecker`` on
  ``warprec_dataset``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def warprec_frame() -> Any:
    """All interactions of the kit's clustered toy problem (48 users, 32 items)."""
    from warprec.testing.data import toy_frame

    return toy_frame()


@pytest.fixture
def warprec_dataset(warprec_frame: Any) -> Any:
    """A ``Dataset`` with train, validation and test (temporal leave-one-out), with item
    features."""
    from warprec.data.dataset import Dataset
    from warprec.testing.data import toy_splits, with_toy_item_features

    train, validation, test = toy_splits(warprec_frame)
    return with_toy_item_features(Dataset(train, test, validation))


@pytest.fixture
def warprec_interactions(warprec_dataset: Any) -> Any:
    """The training ``Interactions`` of ``warprec_dataset``."""
    return warprec_dataset.train


@pytest.fixture
def warprec_sessions(warprec_dataset: Any) -> Any:
    """The training ``Sessions`` of ``warprec_dataset``."""
    return warprec_dataset.train_sessions


@pytest.fixture
def warprec_info(warprec_dataset: Any) -> dict[str, Any]:
    """``warprec_dataset.info()``: ``n_users``, ``n_items`` and the id maps."""
    return warprec_dataset.info()


@pytest.fixture
def warprec_model_checker(warprec_dataset: Any) -> Callable[..., Any]:
    """Make a ``ModelChecker`` on ``warprec_dataset``: ``factory(ModelClass, params)``."""
    from warprec.testing.conformance import ModelChecker

    def make(model_class: type, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return ModelChecker(model_class, params, dataset=warprec_dataset, **kwargs)

    return make
