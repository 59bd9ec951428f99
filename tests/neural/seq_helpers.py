"""Helpers of the sequential models' tests."""

from __future__ import annotations

from typing import Any

import pytest
from warprec.errors import ConfigError


def _annotations_enforced() -> bool:
    # The core checks the declared domains (Annotated bounds) from its pydantic
    # validation on; before that only the types are checked.
    from warprec_models_neural.gru4rec import GRU4Rec

    try:
        GRU4Rec({"hidden_size": -1}, {"n_users": 2, "n_items": 2})
    except ConfigError:
        return True
    except Exception:  # torch refused the value itself: the core did not check it
        return False
    return False


needs_domains = pytest.mark.skipif(
    not _annotations_enforced(), reason="this core does not check Annotated domains yet"
)


def bad_param_cases(cases: list[tuple[dict[str, Any], str]]) -> list[Any]:
    """``cases`` as pytest params, skipped where the core cannot reject them yet."""
    return [pytest.param(params, name, marks=needs_domains) for params, name in cases]


def with_validation_history(model: Any, dataset: Any) -> Any:
    """``model`` reading the train + validation histories: what it then predicts is the
    item after the validation one, the test item of a leave-one-out split."""
    from warprec.data.dataset import Sessions

    both = dataset.train_validation
    model.set_history(Sessions(both.users, both.items, dataset.n_users, dataset.n_items,
                               both.timestamps))
    return model
