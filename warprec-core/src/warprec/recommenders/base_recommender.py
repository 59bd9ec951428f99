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
- :class:`ItemSimRecommender`: models that learn an item-item similarity; the base
  implements ``predict`` as ``train_rows @ item_similarity``.
- :class:`IterativeRecommender`: models trained by :class:`warprec.recommenders.trainer.Trainer`
  from the batches of their ``get_dataloader``; each ``train_step`` returns a scalar loss.
"""

from __future__ import annotations

import abc
import ast
import copy
import difflib
import importlib
import inspect
import random
import sys
import textwrap
import types
import typing
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from warprec.errors import ConfigError, WarpRecError
from warprec.recommenders.ranking import mask_seen, tie_break_rank, top_k, writable
from warprec.utils.checks import as_float, describe
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

CHECKPOINT_FORMAT = 1
_MISSING = object()


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and torch's (CPU and every CUDA device) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class _Hyperparameter:
    annotation: Any
    default: Any
    doc: str


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
    """Whether the runner passes the training :class:`~warprec.data.dataset.Interactions`
    as the constructor's third positional argument (``cls(params, info, interactions,
    seed=..., device=...)``). Models fitted in the constructor set it to ``True``; a model
    that sets it must keep what it learns in buffers (or extra state), because loading a
    checkpoint builds it without training data. See :func:`needs_interactions`."""

    def __init__(
        self, params: dict | None, info: dict, *args: Any, seed: int = 42, **kwargs: Any
    ) -> None:
        super().__init__()
        values = _validate(type(self), params or {})
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
        """Write a checkpoint: parameters, hyperparameters, dataset info, format version."""
        cls = type(self)
        torch.save(
            {
                "format_version": CHECKPOINT_FORMAT,
                "class": f"{cls.__module__}:{cls.__qualname__}",
                "name": cls.__name__,
                "params": self.get_params(),
                "info": self.info,
                "seed": self.seed,
                "state_dict": self.state_dict(),
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> Recommender:
        """Rebuild a model saved by :meth:`save` (on ``map_location``).

        Checkpoints are pickles: load only files you trust. Called on a base class, the
        model class is found from the checkpoint (its module, else the model registry).
        """
        checkpoint = torch.load(Path(path), map_location=map_location, weights_only=False)
        version = checkpoint.get("format_version") if isinstance(checkpoint, dict) else None
        if version != CHECKPOINT_FORMAT:
            raise WarpRecError(
                f"{path}: unsupported checkpoint format {version!r} (expected {CHECKPOINT_FORMAT})"
            )
        model_cls = cls if not inspect.isabstract(cls) else _checkpoint_class(checkpoint)
        model = model_cls._from_checkpoint(
            checkpoint["params"], checkpoint["info"], checkpoint["seed"]
        )
        state = checkpoint["state_dict"]
        own = model.state_dict()
        for key, tensor in state.items():
            # Buffers a data-dependent __init__ would have created.
            if key not in own and "." not in key and key != "_extra_state":
                model.register_buffer(key, tensor)
        model.load_state_dict(state)
        return model.to(map_location)

    @classmethod
    def _from_checkpoint(cls, params: dict, info: dict, seed: int) -> Recommender:
        """An instance ready for ``load_state_dict``.

        Models that need training data (:func:`needs_interactions`) are built without
        running their constructor: their state must live in buffers or extra state.
        """
        if needs_interactions(cls):
            model = cls.__new__(cls)
            Recommender.__init__(model, params, info, seed=seed)
            return model
        return cls(params, info, seed=seed)


class ItemSimRecommender(Recommender):
    """A model scoring ``train_matrix[user] @ item_similarity``.

    The constructor sets :attr:`train_matrix` (CSR ``[n_users, n_items]``); the model
    sets :attr:`item_similarity` (``[n_items, n_items]``, numpy or torch, dense or scipy
    sparse) and the base class predicts, in batches, on the model's device.
    """

    needs_training_data: ClassVar[bool] = True

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

    def get_extra_state(self) -> dict[str, Any]:
        """The training matrix and the similarity, saved with the checkpoint."""
        return {"train_matrix": self.train_matrix, "item_similarity": self._similarity}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        self.train_matrix = state["train_matrix"]
        self.item_similarity = state["item_similarity"]

    @classmethod
    def _from_checkpoint(cls, params: dict, info: dict, seed: int) -> Recommender:
        model = cls.__new__(cls)
        Recommender.__init__(model, params, info, seed=seed)
        model.train_matrix = sp.csr_matrix((model.n_users, model.n_items), dtype=np.float32)
        model._similarity = None
        model._cached = None
        return model


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

    batch_size: int
    """Training samples per mini-batch."""
    epochs: int
    """Maximum number of passes over the training data."""
    learning_rate: float
    """Optimizer learning rate."""
    weight_decay: float = 0.0
    """L2 penalty applied by the optimizer."""

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


_BASES = (Recommender, ItemSimRecommender, IterativeRecommender)


def hyperparameters(cls: type) -> dict[str, dict[str, Any]]:
    """Describe a model's hyperparameters: ``{name: {"type", "default" (if any), "doc"}}``.

    ``doc`` is the string literal right below the annotation in the class body (empty
    when the source is unavailable).
    """
    described: dict[str, dict[str, Any]] = {}
    for name, spec in _spec(cls).items():
        entry: dict[str, Any] = {"type": _type_name(spec.annotation)}
        if spec.default is not _MISSING:
            entry["default"] = spec.default
        entry["doc"] = spec.doc
        described[name] = entry
    return described


@cache
def _spec(cls: type) -> dict[str, _Hyperparameter]:
    spec: dict[str, _Hyperparameter] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, Recommender)):
            continue
        raw = inspect.get_annotations(klass)
        docs = _attribute_docs(klass) if raw else {}
        for name, annotation in raw.items():
            resolved = _resolve(annotation, klass)
            if name.startswith("_") or not _is_hyperparameter(resolved):
                continue
            default = _class_default(cls, name)
            doc = docs.get(name) or (spec[name].doc if name in spec else "")
            spec[name] = _Hyperparameter(resolved, default, doc)
    return spec


def _is_hyperparameter(annotation: Any) -> bool:
    # Annotations of class constants, submodules and tensors are not hyperparameters.
    if annotation is ClassVar or typing.get_origin(annotation) is ClassVar:
        return False
    arms = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    return not any(isinstance(a, type) and issubclass(a, (nn.Module, Tensor)) for a in arms)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _class_default(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            value = klass.__dict__[name]
            return _MISSING if isinstance(value, (property, types.FunctionType)) else value
    return _MISSING


def _resolve(annotation: Any, klass: type) -> Any:
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(klass.__module__)
    namespace = {**vars(typing), **(vars(module) if module else {})}
    try:
        return eval(annotation, namespace, dict(vars(klass)))  # the class's own annotation
    except Exception:  # an unresolvable string annotation is accepted unchecked
        return Any


def _attribute_docs(klass: type) -> dict[str, str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return {}
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if node is None:
        return {}
    docs = {}
    for stmt, following in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _validate(cls: type, params: dict) -> dict[str, Any]:
    spec = _spec(cls)
    model = cls.__name__
    for key in params:
        if key not in spec:
            close = difflib.get_close_matches(str(key), list(spec), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(spec) or "none"
            raise ConfigError(
                f"{model}: unknown hyperparameter {key!r}{hint} (hyperparameters: {known})"
            )
    values = {}
    for name, hp in spec.items():
        expected = _type_name(hp.annotation)
        if name in params:
            given = params[name]
        elif hp.default is not _MISSING:
            given = copy.deepcopy(hp.default)
        else:
            raise ConfigError(f"{model}: missing hyperparameter {name!r} (expected {expected})")
        ok, value = _coerce(given, hp.annotation)
        if not ok:
            raise ConfigError(
                f"{model}: hyperparameter {name!r} expects {expected}, got {describe(given)}"
            )
        values[name] = value
    return values


def _coerce(value: Any, annotation: Any) -> tuple[bool, Any]:
    """Check ``value`` against ``annotation``; ints and numeric strings pass as floats."""
    if annotation is Any or annotation is object:
        return True, value
    if annotation is None or annotation is type(None):
        return value is None, value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if _is_union(annotation):
        for arm in args:
            ok, converted = _coerce(value, arm)
            if ok:
                return True, converted
        return False, value
    if origin is typing.Literal:
        return value in args, value
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        return _coerce_collection(value, origin or annotation, args)
    if origin is dict or annotation is dict:
        return isinstance(value, dict), value
    if annotation is float:
        number = as_float(value)
        return number is not None, value if number is None else number
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(annotation, type):
        return isinstance(value, annotation), value
    return True, value  # an annotation form not checked here


def _coerce_collection(value: Any, kind: type, args: tuple) -> tuple[bool, Any]:
    if not isinstance(value, (list, tuple, set, frozenset)):
        return False, value
    items = list(value)
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            return False, value
        arms = list(args)
    else:
        arms = [args[0] if args else Any] * len(items)
    converted = []
    for item, arm in zip(items, arms, strict=True):
        ok, item_value = _coerce(item, arm)
        if not ok:
            return False, value
        converted.append(item_value)
    return True, kind(converted)


def _type_name(annotation: Any) -> str:
    if annotation is Any:
        return "any"
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def needs_interactions(cls: type) -> bool:
    """Whether the runner passes the training interactions to ``cls``'s constructor.

    The answer is the class's ``needs_training_data`` attribute (``True`` on
    :class:`ItemSimRecommender`, ``False`` on :class:`Recommender` and
    :class:`IterativeRecommender`) when the class or a base below :class:`Recommender`
    sets it. Otherwise, as before the attribute existed, the constructor's signature
    decides: a required positional parameter after ``(params, info)`` means yes. That
    guess is deprecated (a ``DeprecationWarning`` says which class to fix) and will go.
    """
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


def _checkpoint_class(checkpoint: dict) -> type[Recommender]:
    module_name, _, qualname = checkpoint["class"].partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        from warprec.utils.registry import model_registry

        return model_registry.get_class(checkpoint["name"])
