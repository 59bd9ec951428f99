"""Base classes of every WarpRec model.

A model is a :class:`torch.nn.Module` whose hyperparameters are its annotated class
attributes::

    class MyEASE(ItemSimRecommender):
        l2: float
        \"\"\"L2 regularisation added to the Gram matrix diagonal.\"\"\"

The constructor copies each hyperparameter from ``params`` onto the instance after
checking it against its annotation; a class-level value (``l2: float = 100.0``) is the
default used when ``params`` omits it. A string right below the annotation documents the
hyperparameter (see :func:`hyperparameters`).

- :class:`Recommender`: the common base (hyperparameters, seeding, device, top-k
  recommendation, checkpoints). Subclasses implement :meth:`Recommender.predict`.
  What a model learnt lives in parameters, buffers and the attributes its
  ``fitted_state`` names; :meth:`Recommender.save` writes all three and
  :meth:`Recommender.load` restores them, for every model.
- :class:`ItemSimRecommender`: models that learn an item-item similarity; the base
  implements ``predict`` as ``train_rows @ item_similarity``.
- :class:`IterativeRecommender`: models trained by :class:`warprec.recommenders.trainer.Trainer`
  from the batches of their ``get_dataloader``; each ``train_step`` returns a scalar loss.
"""

from __future__ import annotations

import abc
import inspect
import random
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, cast

import numpy as np
import scipy.sparse as sp
import torch
from annotated_types import Ge, Gt, Le
from torch import Tensor, nn

from warprec.errors import ConfigError, DataError, WarpRecError
from warprec.recommenders.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, write_checkpoint
from warprec.recommenders.hyperparameters import describe_hyperparameters, validate
from warprec.recommenders.ranking import mask_seen, tie_break_rank, top_k, writable
from warprec.utils.checks import shorten
from warprec.utils.device import resolve_device

__all__ = [
    "CHECKPOINT_FORMAT",
    "ItemSimRecommender",
    "IterativeRecommender",
    "Recommender",
    "hyperparameters",
    "needs_interactions",
    "set_seed",
]


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and torch's (CPU and every CUDA device) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Recommender(nn.Module, abc.ABC):
    """Base class of every model.

    Args:
        params: hyperparameter values, validated against the class annotations.
        info: dataset information; needs ``n_users`` and ``n_items``.
        seed: seeds Python, numpy and torch before the model builds its parameters.
        device: keyword argument (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"``) the
            model's computations run on; see :attr:`device`.
    """

    needs_training_data: ClassVar[bool] = False
    """Whether the model is fitted from data in its constructor: the runner then passes
    the training :class:`~warprec.data.dataset.Interactions` as the constructor's third
    positional argument (``cls(params, info, interactions, seed=..., device=...)``), and
    :meth:`load` rebuilds the model without running its constructor (there is no data at
    load time), so what it learns must be in buffers or :attr:`fitted_state`. See
    :func:`needs_interactions`."""

    fitted_state: ClassVar[tuple[str, ...]] = ()
    """Names of the attributes, besides parameters and buffers, that hold what the model
    learnt or keeps from its training data (numpy arrays, scipy sparse matrices,
    tensors, plain values). :meth:`save` writes them and :meth:`load` sets them back; a
    class lists its own names, and those its bases list are kept."""

    needs_item_features: ClassVar[bool] = False
    """Whether the model reads item features (``reader.side``): the training
    interactions it receives then carry them as ``interactions.item_features``, and a
    config without ``reader.side`` is refused before any data is read. Implies
    :attr:`reads_item_features`."""

    reads_item_features: ClassVar[bool] = False
    """Whether the model reads item features when the data has them, without requiring
    them (WarpRec's context-aware models: the side file adds fields). Such a model, like
    one that :attr:`needs_item_features`, receives the training interactions in its
    constructor and is restored from a checkpoint by its constructor with
    ``interactions=None`` (it sizes its feature tables from the saved state)."""

    uses_context: ClassVar[bool] = False
    """Whether the model reads context columns (``reader.labels.context_labels``). On
    data with context columns the evaluator then ranks one list per evaluated row and
    calls ``predict(users, item_indices=..., context=...)`` with each row's ``[B,
    n_columns]`` int64 category indices (see :mod:`warprec.evaluation.queries`); other
    models are never passed ``context``. The model sizes its context tables from
    ``info["context_dims"]`` (absent: no context) and trains on
    ``interactions.get_pointwise_dataloader(..., include_context=True)``."""

    def __init__(
        self, params: dict | None, info: dict, *args: Any, seed: int = 42, **kwargs: Any
    ) -> None:
        super().__init__()
        values = type(self).validate_params(params or {})
        for name, value in values.items():
            setattr(self, name, value)
        self._hyperparameter_names = tuple(values)
        self.info = dict(info)
        try:
            self.n_users = int(info["n_users"])
            self.n_items = int(info["n_items"])
        except KeyError as exc:
            raise ConfigError(
                f"{type(self).__name__}: dataset info lacks {exc.args[0]!r} "
                "(expected a dict with 'n_users' and 'n_items')"
            ) from None
        self.seed = int(seed)
        self._device = resolve_device(kwargs.get("device", "cpu"))
        set_seed(self.seed)

    @classmethod
    def validate_params(cls, params: Mapping[str, Any], path: str | None = None, *,
                        optimizer: str | None = None) -> dict[str, Any]:
        """Every hyperparameter checked against its declared domain, defaults filled in,
        then :meth:`check_relations` (with the configured ``optimizer``, if any).

        The one check used by ``config check``, the planner (every trial of a search),
        the constructor and ``warprec models show``. Raises a one-line
        :class:`ConfigError` naming ``<path>.<hyperparameter>`` or, for a relation,
        ``<path>: ...`` (``path`` defaults to the class name).
        """
        return validate(cls, params, path or cls.__name__, optimizer)

    @classmethod
    def check_relations(cls, params: Mapping[str, Any], optimizer: str | None = None
                        ) -> None:
        """Rules between hyperparameters, which one annotation cannot state: raise
        ``ValueError`` (or :class:`ConfigError`) with a message naming the keys.

        ``params`` holds every hyperparameter, each within its domain; ``optimizer`` is
        the ``optimization.optimizer`` name a config sets (``None`` without one, and in
        the constructor). Overrides call ``super().check_relations(params, optimizer)``.
        """

    @property
    def name(self) -> str:
        """The model's class name."""
        return type(self).__name__

    @property
    def device(self) -> torch.device:
        """The device the model computes on: the ``device`` argument or the last :meth:`to`.

        Parameters built after the base constructor start on the CPU; the trainer, the
        evaluator and :meth:`recommend` move the model to this device.
        """
        return self._device

    def to(self, *args: Any, **kwargs: Any) -> Recommender:
        """Move parameters and buffers like :meth:`torch.nn.Module.to`, and record the device."""
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device = resolve_device(device)
        return super().to(*args, **kwargs)

    def cuda(self, device: int | torch.device | None = None) -> Recommender:
        """Move the model to a CUDA device (see :meth:`to`)."""
        if isinstance(device, int):
            device = torch.device("cuda", device)
        return self.to(device or torch.device("cuda"))

    def cpu(self) -> Recommender:
        """Move the model to the CPU (see :meth:`to`)."""
        return self.to(torch.device("cpu"))

    def get_params(self) -> dict[str, Any]:
        """The model's hyperparameters, by name."""
        return {name: getattr(self, name) for name in self._hyperparameter_names}

    @abc.abstractmethod
    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``[B, n_items]`` of the users, or ``[B, S]`` of ``item_indices [B, S]``."""

    @torch.no_grad()
    def recommend(
        self, user_indices: Tensor | np.ndarray | list[int], k: int, exclude: Any = None
    ) -> tuple[Tensor, Tensor]:
        """Top-``k`` items of each user: ``(items [B, k], scores [B, k])``, best first.

        ``exclude`` (a ``[n_users, n_items]`` sparse matrix, usually the training
        interactions) masks the items it stores; masked items score ``-inf`` and only come
        back when a user has fewer than ``k`` unmasked items. Equal scores are ordered by
        a random item order fixed by the model's seed, identically on CPU and CUDA.
        """
        was_training = self.training
        self.to(self.device).eval()
        try:
            if isinstance(user_indices, Tensor):
                users = user_indices.detach().cpu().long()
            else:
                users = torch.as_tensor(np.asarray(user_indices), dtype=torch.long)
            scores = writable(self.predict(users.to(self.device), item_indices=None).float(), self)
        finally:
            self.train(was_training)
        if exclude is not None:
            mask_seen(scores, users.numpy(), sp.csr_matrix(exclude))
        rank = tie_break_rank(scores.shape[1], self.seed, scores.device)
        return top_k(scores, k, rank)

    def save(self, path: str | Path) -> None:
        """Write a checkpoint: parameters and buffers, the :attr:`fitted_state`,
        hyperparameters, dataset information and seed.

        The file records the SHA-256 of its contents, and holds tensors and plain values
        only (numpy and scipy state is converted), so :meth:`load` detects a damaged file
        and reads it with ``torch.load(weights_only=True)``
        (:mod:`warprec.recommenders.checkpoint`).
        """
        fitted = {}
        for name in _fitted_state_names(type(self)):
            if not hasattr(self, name):
                raise WarpRecError(f"cannot save {self.name}: its fitted_state names "
                                   f"{name!r}, which the model does not have")
            fitted[name] = getattr(self, name)
        write_checkpoint({"format_version": CHECKPOINT_FORMAT, "name": self.name,
                          "params": self.get_params(), "info": self.info, "seed": self.seed,
                          "state_dict": self.state_dict(), "fitted": fitted}, Path(path))

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> Recommender:
        """Rebuild a model saved by :meth:`save` (on ``map_location``).

        The file's digest is checked first, then it is read with
        ``torch.load(weights_only=True)``: it can hold no code. Called on a model class,
        the checkpoint must hold that model; called on an abstract base
        (``Recommender.load``), the class is found in the model registry by the name the
        checkpoint records, never imported from a name read in the file. The model is
        built by its constructor, or without it when it is fitted in it
        (:attr:`needs_training_data`); parameters, buffers and fitted state then come
        from the file. Any problem (an unreadable, damaged, foreign or old-format file,
        a model of another class) is one :class:`~warprec.errors.DataError` line naming
        the file.
        """
        checkpoint = read_checkpoint(Path(path), map_location)
        name = checkpoint["name"]
        if not inspect.isabstract(cls):
            if name != cls.__name__:
                raise DataError(f"{path}: the checkpoint holds the model {name}; expected "
                                f"one of {cls.__name__}")
            model_cls: type[Recommender] = cls
        else:
            model_cls = _registered_class(name, Path(path), cls)
        try:
            model = model_cls._unfitted(checkpoint["params"], checkpoint["info"],
                                        checkpoint["seed"])
            model._restore(checkpoint["state_dict"], checkpoint["fitted"])
        except WarpRecError as exc:
            raise DataError(f"{path}: {exc}") from exc
        except Exception as exc:  # a state that does not fit the class (shapes, keys)
            raise DataError(f"{path}: the saved state does not fit {model_cls.__name__}: "
                            f"{type(exc).__name__}: {shorten(str(exc))}") from exc
        return model.to(map_location)

    @classmethod
    def _unfitted(cls, params: dict, info: dict, seed: int) -> Recommender:
        """An instance for a checkpoint's state: built by the base constructor alone for
        a model fitted from data in its constructor, otherwise by its constructor (with
        ``interactions=None`` for a trained model that reads item features: it sizes its
        feature tables from the checkpoint's state)."""
        if _reads_item_features(cls) and not getattr(cls, "needs_training_data", False):
            return cls(params, info, None, seed=seed)
        if needs_interactions(cls):
            model = cls.__new__(cls)
            Recommender.__init__(model, params, info, seed=seed)
            return model
        return cls(params, info, seed=seed)

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        """Set parameters, buffers and fitted state from a checkpoint's."""
        state = dict(state)
        if "_extra_state" in state and \
                type(self).set_extra_state is nn.Module.set_extra_state:
            fitted = {**state.pop("_extra_state"), **fitted}  # 0.2 saved it as extra state
        own = {name for name, _ in self.named_parameters(recurse=False)}
        own.update(name for name, _ in self.named_buffers(recurse=False))
        for key, tensor in state.items():
            # Buffers a data-dependent __init__ or get_dataloader would have created.
            if key not in own and "." not in key and key != "_extra_state" \
                    and isinstance(tensor, Tensor):
                self.register_buffer(key, tensor)
        self.load_state_dict(state)
        declared = _fitted_state_names(type(self))
        if set(fitted) != set(declared):
            raise WarpRecError(f"the checkpoint's fitted state {sorted(fitted)} is not the "
                               f"one {self.name} declares {sorted(declared)}")
        for name in declared:
            setattr(self, name, fitted[name])


class ItemSimRecommender(Recommender):
    """A model scoring ``train_matrix[user] @ item_similarity``.

    The constructor sets :attr:`train_matrix` (CSR ``[n_users, n_items]``); the model
    sets :attr:`item_similarity` (``[n_items, n_items]``, numpy or torch, dense or scipy
    sparse) and the base class predicts, in batches, on the model's device.
    """

    needs_training_data: ClassVar[bool] = True
    fitted_state: ClassVar[tuple[str, ...]] = ("train_matrix", "item_similarity")

    def __init__(
        self,
        params: dict | None,
        info: dict,
        interactions: Any,
        *args: Any,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, info, *args, seed=seed, **kwargs)
        self.train_matrix: sp.csr_matrix = sp.csr_matrix(interactions.get_sparse())
        self._similarity: Any = None
        self._cached: tuple[torch.device, Tensor | sp.csr_matrix] | None = None

    @property
    def item_similarity(self) -> Any:
        """The ``[n_items, n_items]`` item-item similarity the model learnt."""
        return self._similarity

    @item_similarity.setter
    def item_similarity(self, value: Any) -> None:
        self._similarity = value
        self._cached = None

    def _similarity_on(self, device: torch.device) -> Tensor | sp.csr_matrix:
        """The similarity ready to multiply on ``device``, converted once per device
        (not once per batch)."""
        similarity = self._similarity
        if similarity is None:
            raise WarpRecError(
                f"{self.name}: item_similarity was never set; expected the model's "
                "constructor to assign self.item_similarity"
            )
        if self._cached is None or self._cached[0] != device:
            if sp.issparse(similarity):
                prepared: Tensor | sp.csr_matrix = sp.csr_matrix(similarity, dtype=np.float32)
            elif isinstance(similarity, Tensor):
                prepared = similarity.to(device=device, dtype=torch.float32)
            else:
                prepared = torch.as_tensor(np.asarray(similarity, dtype=np.float32), device=device)
            self._cached = (device, prepared)
        return self._cached[1]

    def predict(
        self, user_indices: Tensor, *args: Any, item_indices: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        """Scores ``train_matrix[users] @ item_similarity``, all items or ``item_indices``."""
        users = user_indices.detach().cpu().numpy()
        rows = self.train_matrix[users]
        similarity = self._similarity_on(self.device)
        if isinstance(similarity, Tensor):
            scores = _sparse_rows(rows, self.device) @ similarity
        else:
            dense = (rows.astype(np.float32, copy=False) @ similarity).toarray()
            scores = torch.from_numpy(dense).to(self.device)
        if item_indices is None:
            return scores
        return scores.gather(1, item_indices.to(scores.device))


def _sparse_rows(rows: sp.csr_matrix, device: torch.device) -> Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(rows.indptr.astype(np.int64)),
            torch.from_numpy(rows.indices.astype(np.int64)),
            torch.from_numpy(rows.data.astype(np.float32)),
            size=rows.shape,
            device=device,
            check_invariants=False,
        )


class IterativeRecommender(Recommender):
    """A model trained in epochs of mini-batches by the trainer.

    Needs ``batch_size``, ``epochs`` and ``learning_rate``; ``weight_decay`` defaults to
    0. The model implements :meth:`get_dataloader`, ``forward``, :meth:`train_step` and
    ``predict``; it may override :meth:`configure_optimizer` and the epoch hooks.
    """

    batch_size: Annotated[int, Gt(0), Le(2**26)]
    """Training samples per mini-batch."""
    epochs: Annotated[int, Gt(0), Le(10**6)]
    """Maximum number of passes over the training data."""
    learning_rate: Annotated[float, Gt(0), Le(100)]
    """Optimizer learning rate."""
    weight_decay: Annotated[float, Ge(0)] = 0.0
    """L2 penalty applied by the optimizer."""

    optimizers_honoured: ClassVar[dict[str, tuple[str, ...]]] = {}
    """A model whose :meth:`configure_optimizer` builds its own optimizer lists here the
    ``optimization.optimizer`` names it honours (with the constructor arguments each
    accepts); the runner gives the configured one as :attr:`optimizer_config`. A name not
    listed is refused before anything runs (never silently ignored)."""
    # ``{"name", "params"}`` of optimization.optimizer when the config sets one (set by
    # the runner; no annotation: it is not a hyperparameter).
    optimizer_config = None

    @abc.abstractmethod
    def get_dataloader(self, interactions: Any, sessions: Any, **kwargs: Any) -> Any:
        """A re-iterable of training batches (one pass = one epoch), with ``__len__``."""

    @abc.abstractmethod
    def train_step(self, batch: Any, *args: Any, **kwargs: Any) -> Tensor:
        """The loss of one batch, a scalar tensor the trainer back-propagates."""

    def configure_optimizer(self) -> torch.optim.Optimizer | None:
        """Return a custom optimizer, or ``None`` to let the trainer build the named one."""
        return None

    def on_epoch_start(self, epoch: int) -> None:
        """Called by the trainer before each epoch (1-based); does nothing by default."""

    def on_epoch_end(self, epoch: int) -> None:
        """Called by the trainer after each epoch (1-based); does nothing by default."""

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """Xavier-normal init of Linear and Embedding weights; biases and padding rows zero.

        Use as ``self.apply(self._init_weights)``.
        """
        if isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.xavier_normal_(module.weight)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()


def hyperparameters(cls: type) -> dict[str, dict[str, Any]]:
    """Describe a model's hyperparameters: ``{name: {"type", "default" (if any), "doc"}}``.

    ``type`` includes the declared domain (``float >= 0``); ``doc`` is the string literal
    right below the annotation in the class body (empty when the source is unavailable).
    """
    return describe_hyperparameters(cls)


def _fitted_state_names(cls: type) -> tuple[str, ...]:
    """The :attr:`~Recommender.fitted_state` names of ``cls`` and of its bases, bases
    first, each once."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        names.update(dict.fromkeys(vars(klass).get("fitted_state", ())))
    return tuple(names)


def _reads_item_features(cls: type) -> bool:
    """Whether ``cls`` reads item features, required or when present."""
    return bool(getattr(cls, "needs_item_features", False)
                or getattr(cls, "reads_item_features", False))


def needs_interactions(cls: type) -> bool:
    """Whether the runner passes the training interactions to ``cls``'s constructor.

    The answer is the class's ``needs_training_data`` attribute (``True`` on
    :class:`ItemSimRecommender`, ``False`` on :class:`Recommender` and
    :class:`IterativeRecommender`) when the class or a base below :class:`Recommender`
    sets it. Otherwise, as before the attribute existed, the constructor's signature
    decides: a required positional parameter after ``(params, info)`` means yes. That
    guess is deprecated (a ``DeprecationWarning`` says which class to fix) and will go.
    A model that reads item features (``needs_item_features`` or
    ``reads_item_features``) always gets them.
    """
    if _reads_item_features(cls):
        return True
    for klass in cls.__mro__:
        if klass is Recommender:
            break
        if "needs_training_data" in vars(klass):
            return bool(vars(klass)["needs_training_data"])
    try:
        parameters = list(inspect.signature(cls).parameters.values())[2:]
    except (TypeError, ValueError):  # no introspectable signature: nothing to infer
        return bool(getattr(cls, "needs_training_data", False))
    inferred = any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in parameters
    )
    if inferred:
        warnings.warn(
            f"{cls.__module__}.{cls.__qualname__}: the runner guessed from the constructor's "
            "signature that the model needs the training interactions; declare "
            "'needs_training_data = True' on the class (the guess is deprecated)",
            DeprecationWarning,
            stacklevel=2,
        )
    return inferred


def _registered_class(name: str, path: Path, base: type) -> type[Recommender]:
    from warprec.utils.registry import model_registry

    try:
        model_cls = model_registry.get_class(name)
    except WarpRecError as exc:
        raise DataError(f"{path}: the checkpoint's model {name!r} is not available: "
                        f"{exc}") from None
    if not (inspect.isclass(model_cls) and issubclass(model_cls, base)):
        raise DataError(f"{path}: the checkpoint's model {name!r} is not a {base.__name__}")
    return cast("type[Recommender]", model_cls)
