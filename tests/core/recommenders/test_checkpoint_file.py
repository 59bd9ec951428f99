"""Checkpoints: fitted state declared by the model and restored by the base class, the
file's digest, and the checkpoints warprec-core 0.2 wrote (``checkpoints_0_2/``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import Tensor
from warprec.errors import DataError, WarpRecError
from warprec.recommenders.base_recommender import ItemSimRecommender, Recommender
from warprec.recommenders.checkpoint import read_checkpoint, write_checkpoint
from warprec.utils.registry import model_registry

OLD = Path(__file__).parent / "checkpoints_0_2"
INFO = {"n_users": 3, "n_items": 4}
TRAIN = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1]], dtype=np.float32))


class Rows:
    def get_sparse(self) -> sp.csr_matrix:
        return TRAIN


class Centroid(Recommender):
    """Fitted in the constructor; what it learnt is in plain attributes it declares."""

    needs_training_data = True
    fitted_state = ("profile", "counts")

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any,
                 seed: int = 42, **kwargs: Any) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.profile = interactions.get_sparse()
        self.counts = {"rows": int(self.profile.shape[0])}

    def predict(self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        rows = self.profile[user_indices.numpy()] @ self.profile.T @ self.profile
        scores = torch.from_numpy(np.asarray(rows.todense(), dtype=np.float32))
        return scores if item_indices is None else scores.gather(1, item_indices)


class WeightedCentroid(Centroid):
    """Adds fitted state of its own; the base's is kept."""

    fitted_state = ("weights",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weights = np.linspace(1.0, 2.0, self.n_items)

    def predict(self, user_indices: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return super().predict(user_indices, *args, **kwargs) * torch.from_numpy(
            self.weights).float()


class OwnExtraState(ItemSimRecommender):
    """Keeps torch's own extra-state hooks (what plugins wrote before fitted_state)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item_similarity = np.eye(self.n_items)
        self.note = "fitted"

    def get_extra_state(self) -> dict[str, Any]:
        return {"note": self.note}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.note = state["note"]


def scores(model: Recommender, n_users: int) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model.predict(torch.arange(n_users)).float().numpy()


def test_declared_fitted_state_round_trips_without_the_constructor(tmp_path: Path) -> None:
    model = WeightedCentroid({}, INFO, Rows())
    model.save(tmp_path / "m.pt")
    loaded = WeightedCentroid.load(tmp_path / "m.pt")
    assert (loaded.profile != TRAIN).nnz == 0 and loaded.counts == {"rows": 3}
    assert np.array_equal(loaded.weights, model.weights)
    assert np.array_equal(scores(loaded, 3), scores(model, 3))
    assert set(read_checkpoint(tmp_path / "m.pt")["fitted"]) == {"profile", "counts", "weights"}


def test_a_model_lacking_a_declared_attribute_cannot_be_saved(tmp_path: Path) -> None:
    model = Centroid({}, INFO, Rows())
    del model.counts
    with pytest.raises(WarpRecError, match="cannot save Centroid: its fitted_state names "
                                           "'counts', which the model does not have"):
        model.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_fitted_state_that_is_not_the_declared_one_is_refused(tmp_path: Path) -> None:
    Centroid({}, INFO, Rows()).save(tmp_path / "m.pt")
    contents = read_checkpoint(tmp_path / "m.pt")
    contents["name"] = "WeightedCentroid"
    write_checkpoint(contents, tmp_path / "w.pt")
    with pytest.raises(DataError, match=r"w\.pt: the checkpoint's fitted state \['counts', "
                                        r"'profile'\] is not the one WeightedCentroid declares "
                                        r"\['counts', 'profile', 'weights'\]"):
        WeightedCentroid.load(tmp_path / "w.pt")


def test_a_models_own_extra_state_hooks_still_round_trip(tmp_path: Path) -> None:
    model = OwnExtraState({}, INFO, Rows())
    model.note = "changed after fitting"
    model.save(tmp_path / "m.pt")
    loaded = OwnExtraState.load(tmp_path / "m.pt")
    assert loaded.note == "changed after fitting"
    assert np.array_equal(scores(loaded, 3), scores(model, 3))


def test_no_model_class_restores_checkpoints_itself() -> None:
    # The base class saves and restores every model: no model of the official packages
    # (nor the core's ProxyRecommender) overrides the hooks the per-model copies used.
    hooks = {"get_extra_state", "set_extra_state", "load", "_unfitted", "_restore",
             "_from_checkpoint"}
    names = [e.name for e in model_registry.entries()]
    assert {"EASE", "SANSA", "UserKNN", "MultVAE", "MultiDAE", "ProxyRecommender"} <= set(names)
    for name in names:
        cls = model_registry.get_class(name)
        for klass in cls.__mro__[: cls.__mro__.index(Recommender)]:
            assert not hooks & set(vars(klass)), f"{klass.__qualname__} of {name}"


def test_the_file_records_the_sha256_of_its_payload(tmp_path: Path) -> None:
    import hashlib

    Centroid({}, INFO, Rows()).save(tmp_path / "m.pt")
    header, _, payload = (tmp_path / "m.pt").read_bytes().partition(b"\n")
    assert header == f"WARPREC-CHECKPOINT 3 sha256={hashlib.sha256(payload).hexdigest()}" \
        .encode()
    torch.load(__import__("io").BytesIO(payload), weights_only=True)  # a plain torch archive


@pytest.mark.parametrize("name", sorted(np.load(OLD / "scores.npz").files))
def test_a_checkpoint_of_0_2_loads_with_its_scores_and_a_warning(
        name: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="warprec"):
        model = Recommender.load(OLD / f"{name}.pt")
    assert type(model).__name__ == name and model.seed == 3
    assert np.allclose(scores(model, 12), np.load(OLD / "scores.npz")[name], atol=1e-6)
    [warning] = [r.getMessage() for r in caplog.records]
    assert f"{name}.pt: a checkpoint of warprec-core 0.2 (format 2)" in warning
    assert "without an integrity check; save the model again" in warning


def test_a_0_2_checkpoint_saved_again_is_checked(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    Recommender.load(OLD / "EASE.pt").save(tmp_path / "EASE.pt")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="warprec"):
        model = Recommender.load(tmp_path / "EASE.pt")
    assert not caplog.records
    assert np.allclose(scores(model, 12), np.load(OLD / "scores.npz")["EASE"], atol=1e-6)
