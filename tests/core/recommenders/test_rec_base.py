"""Model API: hyperparameter validation, description, checkpoints, top-k, devices."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from warprec.errors import ConfigError
from warprec.recommenders.base_recommender import (
    ItemSimRecommender,
    IterativeRecommender,
    Recommender,
    hyperparameters,
)
from warprec.recommenders.ranking import tie_break_rank
from warprec.utils.device import resolve_device
from warprec.utils.registry import model_registry

INFO = {"n_users": 4, "n_items": 6}


class Rows:
    """The part of Interactions an ItemSimRecommender uses."""

    def __init__(self, matrix: Any) -> None:
        self.matrix = sp.csr_matrix(matrix, dtype=np.float32)

    def get_sparse(self) -> sp.csr_matrix:
        return self.matrix


TRAIN = Rows(
    [
        [1, 0, 1, 0, 0, 0],
        [0, 1, 0, 0, 1, 0],
        [1, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 0],
    ]
)


class Fixed(Recommender):
    """Scores from a given matrix; exercises every annotation form."""

    alpha: float
    """Weight of the scores."""
    k: int = 3
    """Neighbours kept."""
    mode: Literal["a", "b"] = "a"
    sizes: list[int] = [1, 2]
    extra: float | None = None
    flag: bool = False
    table: nn.Module | None = None  # a submodule annotation, not a hyperparameter

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42, **kwargs: Any):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.register_buffer("scores", torch.zeros(self.n_users, self.n_items))

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        scores = self.scores[user_indices] * self.alpha
        return scores if item_indices is None else scores.gather(1, item_indices)


class Sim(ItemSimRecommender):
    shrink: float

    def __init__(self, params: dict, info: dict, interactions: Any, *args: Any, **kwargs: Any):
        super().__init__(params, info, interactions, *args, **kwargs)
        x = self.train_matrix
        self.item_similarity = np.asarray((x.T @ x).todense()) / (1.0 + self.shrink)


class Emb(IterativeRecommender):
    embedding_size: int

    def __init__(self, params: dict, info: dict, *args: Any, seed: int = 42, **kwargs: Any):
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.user = nn.Embedding(self.n_users, self.embedding_size)
        self.item = nn.Embedding(self.n_items + 1, self.embedding_size, padding_idx=self.n_items)
        self.proj = nn.Linear(self.embedding_size, self.embedding_size)
        self.apply(self._init_weights)

    def get_dataloader(self, interactions: Any, sessions: Any, **kwargs: Any) -> list:
        return []

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        return (self.proj(self.user(user)) * self.item(item)).sum(-1)

    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        return self.forward(*batch).mean()

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        users = self.proj(self.user(user_indices))
        if item_indices is None:
            return users @ self.item.weight[:-1].T
        return torch.einsum("be,bse->bs", users, self.item(item_indices))


EMB_PARAMS = {"embedding_size": 4, "batch_size": 8, "epochs": 1, "learning_rate": 0.1}


def error(cls: type, params: dict, *args: Any) -> str:
    with pytest.raises(ConfigError) as info:
        cls(params, INFO, *args)
    return str(info.value)


def test_hyperparameters_copied_with_defaults_and_int_as_float() -> None:
    model = Fixed({"alpha": 2, "sizes": [3], "extra": 1}, INFO)
    assert model.alpha == 2.0 and isinstance(model.alpha, float)
    assert model.extra == 1.0 and isinstance(model.extra, float)
    assert (model.k, model.mode, model.sizes, model.flag) == (3, "a", [3], False)
    assert model.get_params() == {
        "alpha": 2.0,
        "k": 3,
        "mode": "a",
        "sizes": [3],
        "extra": 1.0,
        "flag": False,
    }
    assert (model.n_users, model.n_items) == (4, 6)


def test_numbers_are_strict() -> None:
    assert error(Fixed, {"alpha": "1e-3"}) == "Fixed.alpha: got '1e-3' (str); expected a number"
    assert Fixed({"alpha": 2}, INFO).alpha == 2.0  # an int is a number
    assert error(Fixed, {"alpha": float("inf")}) == (
        "Fixed.alpha: got inf (float); expected a finite number"
    )
    assert "expected a finite number" in error(Fixed, {"alpha": float("nan")})


def test_wrong_type_names_model_parameter_value_and_expectation() -> None:
    assert error(Fixed, {"alpha": "abc"}) == "Fixed.alpha: got 'abc' (str); expected a number"
    assert error(Fixed, {"alpha": 1.0, "k": 2.5}) == (
        "Fixed.k: got 2.5 (float); expected an integer"
    )
    assert error(Fixed, {"alpha": 1.0, "k": True}) == (
        "Fixed.k: got True (bool); expected an integer"
    )
    assert error(Fixed, {"alpha": 1, "mode": "c"}) == (
        "Fixed.mode: got 'c' (str); expected one of 'a', 'b'"
    )
    assert error(Fixed, {"alpha": 1, "sizes": [1, "x"]}) == (
        "Fixed.sizes[1]: got 'x' (str); expected an integer"
    )
    assert error(Fixed, {"alpha": 1, "flag": 1}) == (
        "Fixed.flag: got 1 (int); expected true or false"
    )


def test_missing_parameter() -> None:
    assert error(Fixed, {}) == "Fixed.alpha: missing; Fixed needs it (expected float)"


def test_unknown_parameter_suggests_close_name() -> None:
    message = error(Fixed, {"alpha": 1.0, "alpah": 2.0})
    assert message.startswith(
        "Fixed.alpah: unknown hyperparameter of Fixed (did you mean 'alpha'?); expected one of"
    )
    assert "did you mean" not in error(Fixed, {"alpha": 1.0, "zzz": 2.0})


def test_iterative_requires_training_parameters() -> None:
    params = dict(EMB_PARAMS)
    del params["learning_rate"]
    assert error(Emb, params) == (
        "Emb.learning_rate: missing; Emb needs it (expected float > 0, <= 100)"
    )
    assert Emb(EMB_PARAMS, INFO).weight_decay == 0.0


def test_base_domains_bound_training_parameters() -> None:
    assert error(Emb, {**EMB_PARAMS, "batch_size": 0}) == (
        "Emb.batch_size: got 0 (int); expected a number > 0"
    )
    assert error(Emb, {**EMB_PARAMS, "epochs": 10**30}).startswith(
        "Emb.epochs: got 1000000000000000000000000000000 (int); expected a number <= "
    )
    assert "expected a number >= 0" in error(Emb, {**EMB_PARAMS, "weight_decay": -1.0})


def test_bare_reannotation_keeps_the_inherited_domain() -> None:
    class Guide(Emb):
        batch_size: int = 64  # as the guide writes it: no domain restated

    assert hyperparameters(Guide)["batch_size"]["type"] == "int > 0, <= 67108864"
    assert error(Guide, {**EMB_PARAMS, "batch_size": -1}) == (
        "Guide.batch_size: got -1 (int); expected a number > 0"
    )


def test_validate_params_fills_defaults_without_building() -> None:
    assert Fixed.validate_params({"alpha": 1}, path="models.Fixed") == {
        "alpha": 1.0, "k": 3, "mode": "a", "sizes": [1, 2], "extra": None, "flag": False,
    }
    with pytest.raises(ConfigError, match=r"^models\.Fixed\.mode: got 'c'"):
        Fixed.validate_params({"alpha": 1, "mode": "c"}, path="models.Fixed")


def test_hyperparameters_describes_types_defaults_and_docs() -> None:
    described = hyperparameters(Fixed)
    assert list(described) == ["alpha", "k", "mode", "sizes", "extra", "flag"]
    assert described["alpha"] == {"type": "float", "doc": "Weight of the scores.",
                                  "no_domain": True}
    assert described["k"] == {"type": "int", "default": 3, "doc": "Neighbours kept.",
                              "no_domain": True}
    assert "no_domain" not in described["mode"]
    assert described["extra"]["type"] == "float | None"
    iterative = hyperparameters(Emb)
    assert list(iterative) == [
        "batch_size",
        "epochs",
        "learning_rate",
        "weight_decay",
        "embedding_size",
    ]
    assert iterative["batch_size"]["doc"] == "Training samples per mini-batch."
    assert iterative["weight_decay"]["default"] == 0.0


def test_seed_makes_initialisation_reproducible() -> None:
    a, b, c = Emb(EMB_PARAMS, INFO, seed=1), Emb(EMB_PARAMS, INFO, seed=1), Emb(EMB_PARAMS, INFO)
    assert torch.equal(a.user.weight, b.user.weight)
    assert not torch.equal(a.user.weight, c.user.weight)


def test_init_weights_zeroes_padding_row_and_biases() -> None:
    model = Emb(EMB_PARAMS, INFO)
    assert torch.count_nonzero(model.item.weight[-1]) == 0
    assert torch.count_nonzero(model.item.weight[:-1]) > 0
    assert torch.count_nonzero(model.proj.bias) == 0


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize(
    "similarity",
    [
        lambda x: np.asarray((x.T @ x).todense()),
        lambda x: np.asmatrix((x.T @ x).todense()),
        lambda x: torch.as_tensor((x.T @ x).toarray()),
        lambda x: sp.csr_matrix(x.T @ x),
    ],
    ids=["numpy", "np.matrix", "torch", "scipy-sparse"],
)
def test_item_similarity_predict_all_forms(similarity: Any) -> None:
    model = Sim({"shrink": 0}, INFO, TRAIN)
    x = TRAIN.matrix
    model.item_similarity = similarity(x)
    expected = (x @ (x.T @ x)).toarray()
    users = torch.tensor([0, 2, 3])
    assert np.allclose(model.predict(users).numpy(), expected[[0, 2, 3]])
    items = torch.tensor([[0, 5], [1, 1], [2, 3]])
    sampled = model.predict(users, item_indices=items).numpy()
    assert np.allclose(sampled, np.take_along_axis(expected[[0, 2, 3]], items.numpy(), 1))


def test_recommend_masks_seen_items_and_orders_by_score() -> None:
    model = Fixed({"alpha": 1.0}, INFO)
    model.scores.copy_(torch.arange(24, dtype=torch.float32).reshape(4, 6))
    items, scores = model.recommend([0, 2], 3, exclude=TRAIN.matrix)
    assert items[0].tolist() == [5, 4, 3]
    assert items[1, 0].item() == 5  # the only unseen item of user 2 comes first
    assert torch.isinf(scores[1, 1:]).all()  # then masked items, scored -inf
    assert not np.isin(items[0].numpy(), TRAIN.matrix[0].indices).any()
    assert torch.all(model.scores[0] == torch.arange(6))  # the model's buffer is untouched


def test_recommend_breaks_ties_by_seeded_order() -> None:
    model = Fixed({"alpha": 1.0}, INFO, seed=7)  # all scores equal
    items, _ = model.recommend(torch.tensor([3, 3]), 6)
    rank = tie_break_rank(6, 7)
    assert items[0].tolist() == items[1].tolist() == torch.argsort(rank).tolist()
    other = Fixed({"alpha": 1.0}, INFO, seed=8).recommend([3], 6)[0]
    assert sorted(other[0].tolist()) == list(range(6))


def test_save_load_iterative_roundtrip(tmp_path: Any, fresh_plugins: None) -> None:
    # Through a base class the model is found by name in the registry (never imported).
    model_registry.register(Emb)
    model = Emb(EMB_PARAMS, INFO, seed=3)
    model.save(tmp_path / "m.pt")
    for loader in (Emb, Recommender, IterativeRecommender):
        loaded = loader.load(tmp_path / "m.pt")
        assert type(loaded) is Emb
        assert loaded.get_params() == model.get_params() and loaded.seed == 3
        assert loaded.info == INFO
        users = torch.arange(4)
        assert torch.equal(loaded.predict(users), model.predict(users))


def test_save_load_item_similarity_without_training_data(tmp_path: Any) -> None:
    model = Sim({"shrink": 1.0}, INFO, TRAIN)
    model.save(tmp_path / "s.pt")
    loaded = Sim.load(tmp_path / "s.pt")
    assert isinstance(loaded, Sim) and loaded.shrink == 1.0
    users = torch.arange(4)
    assert torch.allclose(loaded.predict(users), model.predict(users))
    assert loaded.recommend(users, 2, exclude=TRAIN.matrix)[0].tolist() == (
        model.recommend(users, 2, exclude=TRAIN.matrix)[0].tolist()
    )


def test_save_load_buffers_of_data_dependent_model(tmp_path: Any) -> None:
    model = Fixed({"alpha": 0.5, "k": 7}, INFO)
    model.scores.normal_()
    model.save(tmp_path / "f.pt")
    loaded = Fixed.load(tmp_path / "f.pt")
    assert loaded.k == 7 and torch.equal(loaded.scores, model.scores)


def test_device_resolution() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="invalid device 'gpu0'"):
        resolve_device("gpu0")
    with pytest.raises(ConfigError, match="unsupported device 'meta'"):
        resolve_device("meta")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_requested_but_absent() -> None:
    with pytest.raises(ConfigError, match=r"'cuda:1' requested but CUDA is not available"):
        resolve_device("cuda:1")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        Fixed({"alpha": 1.0}, INFO, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_recommend_matches_cpu() -> None:
    model = Emb(EMB_PARAMS, INFO)
    cpu = model.recommend(torch.arange(4), 3, exclude=TRAIN.matrix)
    model.to("cuda")
    assert model.device.type == "cuda"
    gpu = model.recommend(torch.arange(4), 3, exclude=TRAIN.matrix)
    assert torch.equal(cpu[0], gpu[0].cpu())
    tied = Fixed({"alpha": 1.0}, INFO).to("cuda").recommend([3], 6)[0].cpu()
    assert tied.tolist() == Fixed({"alpha": 1.0}, INFO).recommend([3], 6)[0].tolist()
