"""Conformance checks: does a model class keep the contract the rest of WarpRec relies on?

:func:`check_model` runs every check on a tiny, learnable dataset and raises
:class:`ConformanceError` listing each broken rule; :class:`ModelChecker` runs them one
at a time (the pytest base class :class:`warprec.testing.ModelConformance` has one test
per check).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from warprec.data.dataset import Dataset
from warprec.errors import WarpRecError
from warprec.recommenders.base_recommender import (
    IterativeRecommender,
    Recommender,
    hyperparameters,
    needs_interactions,
)
from warprec.recommenders.trainer import Trainer, to_device
from warprec.testing.data import toy_dataset
from warprec.testing.params_checks import accepted_params_construct, declares_domains

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSkipped",
    "ConformanceError",
    "ConformanceReport",
    "ModelChecker",
    "build_model",
    "check_model",
]

CHECKS = (
    "constructs",
    "rejects_bad_params",
    "declares_domains",
    "accepted_params_construct",
    "predict_shapes",
    "sampled_matches_full",
    "train_step_loss",
    "loss_decreases",
    "deterministic",
    "save_load",
    "topk_masks_seen",
    "cuda",
)
_UNKNOWN = "definitely_not_a_hyperparameter"
_BAD_VALUE = "not-a-number"


class ConformanceError(AssertionError):
    """A model breaks the contract; the message names the model, the check and why."""


class CheckSkipped(Exception):
    """A check that does not apply to this model (or to this machine)."""


@dataclass
class CheckResult:
    """The outcome of one check: ``passed``, ``failed`` or ``skipped``, and why."""

    name: str
    status: str
    message: str = ""


@dataclass
class ConformanceReport:
    """Every check's outcome for one model and parameter set."""

    model: str
    params: dict[str, Any]
    results: list[CheckResult] = field(default_factory=list)

    def with_status(self, status: str) -> list[CheckResult]:
        """The results that have ``status``."""
        return [r for r in self.results if r.status == status]

    @property
    def ok(self) -> bool:
        """Whether no check failed."""
        return not self.with_status("failed")

    def __str__(self) -> str:
        counts = ", ".join(
            f"{len(self.with_status(s))} {s}" for s in ("passed", "failed", "skipped")
        )
        lines = [f"{self.model} {self.params}: {counts}"]
        lines += [f"  {r.status.upper()} {r.name}: {r.message}" for r in self.results
                  if r.status != "passed"]
        return "\n".join(lines)


class ModelChecker:
    """Runs the conformance checks of one model class with one parameter set.

    Args:
        model_class: the :class:`~warprec.recommenders.base_recommender.Recommender`
            subclass to check.
        params: hyperparameters (the model's defaults fill the rest).
        dataset: the data to build and train on (default: :func:`toy_dataset`, with
            context columns for a model that reads context: ``uses_context``).
        seed: the seed every model is built and trained with.
        train_steps: optimizer steps on one batch in the ``loss_decreases`` check.
        device: where the model is built, trained and scored (``cuda`` check aside).
    """

    def __init__(
        self,
        model_class: type,
        params: dict[str, Any] | None = None,
        *,
        dataset: Dataset | None = None,
        seed: int = 42,
        train_steps: int = 30,
        device: str = "cpu",
    ) -> None:
        self.model_class = model_class
        self.params = dict(params or {})
        self.dataset = dataset if dataset is not None else toy_dataset(
            context=bool(getattr(model_class, "uses_context", False)))
        self.seed = seed
        self.train_steps = train_steps
        self.device = device
        self._fitted: Recommender | None = None
        self.name = getattr(model_class, "__name__", repr(model_class))

    # -- building and training -------------------------------------------------------

    @property
    def iterative(self) -> bool:
        """Whether the model is trained by the trainer (an ``IterativeRecommender``)."""
        return isinstance(self.model_class, type) and issubclass(
            self.model_class, IterativeRecommender
        )

    def build(self, params: dict[str, Any] | None = None, device: str | None = None) -> Any:
        """A new model on the checker's data (fitted already when it is not iterative)."""
        params = self.params if params is None else params
        return build_model(
            self.model_class, params, self.dataset, seed=self.seed, device=device or self.device
        )

    def fit(self, model: Any) -> Any:
        """Train an iterative model with the core's trainer; returns it."""
        if isinstance(model, IterativeRecommender):
            _trainer(model, self.dataset).fit()
        return model

    def fitted(self) -> Any:
        """The model built and trained once, shared by the checks that only read it."""
        if self._fitted is None:
            self._fitted = self.fit(self.build())
        return self._fitted

    def users(self) -> Tensor:
        """A batch of user indices to score: every user of the toy data (at most 64)."""
        return torch.arange(min(self.dataset.n_users, 64), dtype=torch.long)

    def candidates(self, n_users: int, n: int = 7) -> Tensor:
        """Seeded sampled-item indices ``[n_users, n]`` (repeats and seen items included)."""
        generator = torch.Generator().manual_seed(self.seed)
        return torch.randint(0, self.dataset.n_items, (n_users, n), generator=generator)

    def contexts(self, n_users: int) -> Tensor | None:
        """Seeded contexts ``[n_users, n_columns]`` (category indices, 0 = unknown
        included) for a model that reads context on data with context columns, else
        ``None``: ``predict`` is then checked under them."""
        dims = self.dataset.info().get("context_dims")
        if not dims or not getattr(self.model_class, "uses_context", False):
            return None
        generator = torch.Generator().manual_seed(self.seed)
        return torch.stack([torch.randint(0, size, (n_users,), generator=generator)
                            for size in dims.values()], dim=1)

    # -- the checks ------------------------------------------------------------------

    def check_constructs(self) -> None:
        """Builds from params, info (and interactions) as a ``Recommender`` of the data's size."""
        model = self.build()
        _require(isinstance(model, Recommender),
                 f"{type(model).__name__} is not a warprec Recommender subclass")
        _require(
            (model.n_users, model.n_items) == (self.dataset.n_users, self.dataset.n_items),
            f"n_users/n_items are {model.n_users}/{model.n_items}, expected "
            f"{self.dataset.n_users}/{self.dataset.n_items} from info",
        )
        given = model.get_params()
        for name, value in self.params.items():
            _require(name in given and given[name] == value,
                     f"get_params() gives {name}={given.get(name)!r}, built with {value!r}")
        missing = [n for n in hyperparameters(type(model)) if n not in given]
        _require(not missing, f"get_params() lacks hyperparameters {missing}")

    def check_rejects_bad_params(self) -> None:
        """An unknown hyperparameter, or a wrong-typed one, is a clear ``WarpRecError``."""
        self._expect_rejection({**self.params, _UNKNOWN: 1}, _UNKNOWN, "an unknown hyperparameter")
        numeric = [n for n, h in hyperparameters(self.model_class).items()
                   if h["type"].split(" ")[0] in ("int", "float")]  # "float >= 0" too
        if numeric:
            name = numeric[0]
            self._expect_rejection({**self.params, name: _BAD_VALUE}, name,
                                   f"{name}={_BAD_VALUE!r}")

    def check_declares_domains(self) -> None:
        """Every numeric hyperparameter has a domain (a bound or a ``Literal``)."""
        declares_domains(self.model_class, _fail)

    def check_accepted_params_construct(self) -> None:
        """The constructor raises no ``ConfigError`` for hyperparameters that
        ``validate_params`` accepts (combinations drawn from the declared domains)."""
        accepted_params_construct(self.model_class, self.params, self.build, _fail, self.seed)

    def _expect_rejection(self, params: dict[str, Any], name: str, what: str) -> None:
        try:
            self.build(params)
        except WarpRecError as exc:
            _require(name in str(exc), f"the error for {what} does not name {name!r}: {exc}")
            return
        except Exception as exc:
            raise ConformanceError(
                f"{what} raised {type(exc).__name__} ({exc}); expected a WarpRecError "
                "(e.g. ConfigError) naming the hyperparameter"
            ) from exc
        raise ConformanceError(f"{what} was accepted; expected a ConfigError naming {name!r}")

    def check_predict_shapes(self) -> None:
        """``predict`` gives ``[B, n_items]`` (full) and ``[B, S]`` (sampled) float scores."""
        model = self.fitted()
        users = self.users().to(model.device)
        items = self.candidates(len(users)).to(model.device)
        context = self.contexts(len(users))
        full, sampled = _scores(model, users, None, context), _scores(model, users, items, context)
        one = _scores(model, users[:1], None, None if context is None else context[:1])
        for label, scores, shape in (
            ("full", full, (len(users), self.dataset.n_items)),
            ("sampled", sampled, tuple(items.shape)),
            ("full, one user", one, (1, self.dataset.n_items)),
        ):
            _require(isinstance(scores, Tensor), f"{label} predict returned "
                     f"{type(scores).__name__}, expected a torch.Tensor")
            _require(tuple(scores.shape) == shape,
                     f"{label} predict has shape {tuple(scores.shape)}, expected {shape}")
            _require(scores.is_floating_point(),
                     f"{label} predict has dtype {scores.dtype}, expected a floating dtype")
            _require(not torch.isnan(scores).any(), f"{label} predict contains NaN "
                     f"({int(torch.isnan(scores).sum())} of {scores.numel()} scores)")

    def check_sampled_matches_full(self) -> None:
        """``predict(item_indices=I)`` equals the full scores gathered at ``I``."""
        model = self.fitted()
        users = self.users().to(model.device)
        items = self.candidates(len(users)).to(model.device)
        context = self.contexts(len(users))
        full = _scores(model, users, None, context).gather(1, items).float().cpu()
        sampled = _scores(model, users, items, context).float().cpu()
        _require_close(sampled, full, "sampled scores", "the full scores gathered at those items")

    def check_train_step_loss(self) -> None:
        """``train_step`` returns a finite scalar tensor that back-propagates."""
        model = self._iterative_model()
        loss = model.train_step(self._first_batch(model))
        _require_scalar_loss(loss)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        _require(any(g is not None and bool(g.abs().sum() > 0) for g in grads),
                 "the loss has no gradient with respect to any parameter")

    def check_loss_decreases(self) -> None:
        """Optimizer steps on one batch of the toy problem lower its training loss."""
        model = self._iterative_model()
        batch = self._first_batch(model)
        optimizer = _trainer(model, self.dataset).configure_optimizer()
        losses = []
        for _ in range(self.train_steps):
            optimizer.zero_grad()
            loss = model.train_step(batch)
            _require_scalar_loss(loss)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        window = max(1, min(3, len(losses) // 3))
        first, last = np.mean(losses[:window]), np.mean(losses[-window:])
        _require(last < first, f"the loss did not decrease over {self.train_steps} steps "
                 f"on one batch: {first:.5g} -> {last:.5g} (all: {np.round(losses, 4)})")

    def check_deterministic(self) -> None:
        """Two models built and trained with the same seed score identically."""
        users = self.users()
        first = _scores(self.fitted(), users.to(self.device)).float().cpu()
        second = _scores(self.fit(self.build()), users.to(self.device)).float().cpu()
        _require_close(second, first, "scores of a second run with the same seed",
                       "the first run's", rtol=1e-5, atol=1e-6)

    def check_save_load(self) -> None:
        """``save`` then ``load`` gives the same class, hyperparameters and scores.

        ``load`` reads with ``weights_only=True``, so this also checks that the model's
        state (extra state included) is tensors, numpy/scipy arrays and plain values.
        A registered model also loads through ``Recommender.load`` (found by name).
        """
        model = self.fitted()
        users = self.users().to(model.device)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.pt"
            try:
                model.save(path)
            except WarpRecError as exc:
                raise ConformanceError(f"save failed: {exc}") from exc
            loaded = type(model).load(path, map_location=model.device)
            via_base = Recommender.load(path) if _registered(type(model)) else loaded
        _require(type(loaded) is type(model) and type(via_base) is type(model),
                 f"load gave {type(loaded).__name__}/{type(via_base).__name__}")
        _require(loaded.get_params() == model.get_params(),
                 f"hyperparameters after load {loaded.get_params()} != {model.get_params()}")
        _require_close(_scores(loaded, users).float().cpu(), _scores(model, users).float().cpu(),
                       "scores after load", "the saved model's", rtol=1e-5, atol=1e-6)

    def check_topk_masks_seen(self) -> None:
        """``recommend`` excludes seen items and ranks by the scores ``predict`` gives."""
        model = self.fitted()
        users = np.arange(self.dataset.n_users)
        seen = self.dataset.train.get_sparse()
        k = min(5, self.dataset.n_items - int(np.diff(seen.indptr).max()))
        items, scores = model.recommend(users, k, exclude=seen)
        items, scores = items.cpu(), scores.float().cpu()
        _require(tuple(items.shape) == (len(users), k),
                 f"recommend gave items of shape {tuple(items.shape)}, expected {(len(users), k)}")
        hits = np.asarray(seen[np.repeat(users, k), items.numpy().ravel()]).ravel()
        _require(not hits.any(), f"recommend returned {int((hits != 0).sum())} seen items")
        _require(bool((scores[:, :-1] >= scores[:, 1:]).all()), "recommend's scores are not "
                 "sorted best first")
        expected = _scores(model, torch.as_tensor(users).to(model.device)).float().cpu()
        _require_close(scores, expected.gather(1, items), "recommend's scores",
                       "predict's scores of the same items")

    def check_cuda(self) -> None:
        """On CUDA (when available): trains a step and scores like the CPU model."""
        if not torch.cuda.is_available():
            raise CheckSkipped("CUDA is not available")
        users = self.users()
        reference = _scores(self.fitted(), users.to(self.device)).float().cpu()
        # An iterative model moves (its weights are what training made); a closed-form
        # one is fitted again on the GPU, which is where its constructor computes.
        model = self.fitted().to("cuda") if self.iterative else self.build(device="cuda")
        try:
            _require(model.device.type == "cuda", f"model.device is {model.device} on cuda")
            scores = _scores(model, users.to(model.device))
            _require(scores.device.type == "cuda", f"predict returned scores on {scores.device}")
            _require_close(scores.float().cpu(), reference, "scores on cuda", "scores on cpu",
                           rtol=1e-3, atol=1e-4)
            model.recommend(users.numpy(), 3, exclude=self.dataset.train.get_sparse())
            if self.iterative:
                _require_scalar_loss(model.train_step(self._first_batch(model)))
                model.zero_grad()
        finally:
            if self.iterative:
                model.to(self.device)

    # -- running ---------------------------------------------------------------------

    def run(self, checks: Iterable[str] | None = None) -> ConformanceReport:
        """Run ``checks`` (default: all of :data:`CHECKS`) and report every outcome."""
        report = ConformanceReport(self.name, self.params)
        for name in checks or CHECKS:
            report.results.append(self.run_one(name))
        return report

    def run_one(self, name: str) -> CheckResult:
        """Run one check by name; a failure is recorded, not raised."""
        if name not in CHECKS:
            raise ValueError(f"unknown conformance check {name!r} (checks: {', '.join(CHECKS)})")
        method: Callable[[], None] = getattr(self, f"check_{name}")
        try:
            method()
        except CheckSkipped as exc:
            return CheckResult(name, "skipped", str(exc))
        except Exception as exc:
            detail = str(exc) if isinstance(exc, ConformanceError) else _describe(exc)
            return CheckResult(name, "failed", detail)
        return CheckResult(name, "passed")

    def _iterative_model(self) -> Any:
        if not self.iterative:
            raise CheckSkipped(f"{self.name} is not an IterativeRecommender (fitted in __init__)")
        model = self.build()
        model.train()
        return model

    def _first_batch(self, model: Any) -> Any:
        loader = model.get_dataloader(self.dataset.train, self.dataset.train_sessions)
        _require(len(loader) > 0, "get_dataloader() yields no batch on the toy data")
        return to_device(next(iter(loader)), model.device)


def check_model(
    model_class: type,
    params: dict[str, Any] | None = None,
    *,
    dataset: Dataset | None = None,
    seed: int = 42,
    checks: Iterable[str] | None = None,
    train_steps: int = 30,
    device: str = "cpu",
) -> ConformanceReport:
    """Check ``model_class`` (built with ``params``) against the model contract.

    Runs every check of :data:`CHECKS` (or those named in ``checks``) on ``dataset``
    (default: a tiny clustered toy dataset) and returns the report; raises
    :class:`ConformanceError` listing every failed check. Checks that do not apply
    (training on a closed-form model, ``cuda`` without a GPU) are skipped.
    """
    checker = ModelChecker(model_class, params, dataset=dataset, seed=seed,
                           train_steps=train_steps, device=device)
    report = checker.run(checks)
    if not report.ok:
        raise ConformanceError(f"{checker.name} breaks the model contract:\n{report}")
    return report


def build_model(
    model_class: type, params: dict[str, Any], dataset: Dataset, *, seed: int = 42,
    device: str = "cpu",
) -> Any:
    """Build a model the way the experiment runner does: ``(params, info, seed=...,
    device=...)``, with the training interactions as third positional argument when the
    constructor requires one; closed-form models fit in the constructor."""
    args = [dataset.train] if needs_interactions(model_class) else []
    return model_class(dict(params), dataset.info(), *args, seed=seed, device=device)


def _registered(cls: type) -> bool:
    """Whether the model registry resolves the class's own name to the class."""
    from warprec.utils.registry import model_registry

    try:
        return bool(model_registry.get_class(cls.__name__) is cls)
    except WarpRecError:
        return False


def _scores(model: Any, users: Tensor, items: Tensor | None = None,
            context: Tensor | None = None) -> Tensor:
    was_training = model.training
    model.eval()
    extra = {} if context is None else {"context": context.to(users.device)}
    try:
        with torch.no_grad():
            return model.predict(users, item_indices=items, **extra)
    finally:
        model.train(was_training)


def _trainer(model: Any, dataset: Dataset) -> Trainer:
    return Trainer(model, dataset, progress=False)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def _fail(message: str) -> None:
    raise ConformanceError(message)


def _require_scalar_loss(loss: Any) -> None:
    _require(isinstance(loss, Tensor),
             f"train_step returned {type(loss).__name__}, expected a scalar torch.Tensor")
    _require(loss.dim() == 0, f"train_step returned a tensor of shape {tuple(loss.shape)}, "
             "expected a scalar (shape ())")
    _require(loss.is_floating_point(), f"train_step returned a {loss.dtype} tensor")
    _require(loss.requires_grad, "train_step's loss does not require grad (detached?)")
    _require(bool(torch.isfinite(loss)), f"train_step returned a non-finite loss {loss.item()}")


def _require_close(
    actual: Tensor, expected: Tensor, what: str, reference: str,
    rtol: float = 1e-4, atol: float = 1e-5,
) -> None:
    _require(actual.shape == expected.shape,
             f"{what} have shape {tuple(actual.shape)}, {reference} {tuple(expected.shape)}")
    same_inf = torch.isinf(actual) & (actual == expected)
    close = torch.isclose(actual, expected, rtol=rtol, atol=atol) | same_inf
    if bool(close.all()):
        return
    row, col = (int(i) for i in (~close).nonzero()[0])
    raise ConformanceError(
        f"{what} differ from {reference} at {int((~close).sum())} of {close.numel()} entries "
        f"(first at [{row}, {col}]: {float(actual[row, col]):.6g} vs "
        f"{float(expected[row, col]):.6g})"
    )


def _describe(exc: BaseException) -> str:
    return f"raised {type(exc).__name__}: {exc}"
