"""Hyperparameters: the annotated class attributes of a model, with their domains.

A model declares each hyperparameter as an annotated class attribute; the annotation
holds its domain (``Annotated[float, Ge(0)]``, ``Literal["cosine", "jaccard"]``) and a
class-level value is its default. A string right below the annotation documents it::

    class MyEASE(ItemSimRecommender):
        l2: Annotated[float, Ge(0)] = 100.0
        \"\"\"L2 regularisation added to the Gram matrix diagonal.\"\"\"

One pydantic model per class checks values strictly: no ``"7"`` for 7, no ``True`` for
1, no infinities or NaN for a float. A bare re-annotation in a subclass
(``batch_size: int``) keeps the domain the base class declared.

Every numeric hyperparameter needs a domain: a bound (``Ge``, ``Gt``, ``Le``, ``Lt``,
``Interval``, pydantic's ``Field(ge=...)``) or a ``Literal`` of its values.
:func:`undeclared_domains` lists those that have none; the conformance kit fails on
them, ``warprec plugins doctor`` warns and ``warprec models list``/``show`` mark them.
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, ClassVar

import pydantic
from pydantic import BeforeValidator, ConfigDict

from warprec.errors import ConfigError
from warprec.utils.validation import render_errors

__all__ = [
    "MISSING",
    "Hyperparameter",
    "describe_hyperparameters",
    "spec",
    "undeclared_domains",
    "validate",
]

MISSING: Any = object()


@dataclass(frozen=True)
class Hyperparameter:
    """One declared hyperparameter: its annotation (domain included), default and doc."""

    annotation: Any
    default: Any
    doc: str

    @property
    def type_name(self) -> str:
        """The annotation as people write it: ``Annotated[float, Ge(ge=0)]`` -> ``float >= 0``."""
        return type_name(self.annotation)


@cache
def spec(cls: type) -> dict[str, Hyperparameter]:
    """The hyperparameters of a model class, base classes' first."""
    from torch import Tensor, nn

    found: dict[str, Hyperparameter] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith(("builtins", "abc", "typing", "torch")):
            continue  # annotations of nn.Module are its internals, not hyperparameters
        raw = inspect.get_annotations(klass)
        docs = _attribute_docs(klass) if raw else {}
        for name, annotation in raw.items():
            resolved = _resolve(annotation, klass)
            if name.startswith("_") or not _is_hyperparameter(resolved, (nn.Module, Tensor)):
                continue
            inherited = found.get(name)
            if inherited is not None and _bare(inherited.annotation) == resolved:
                resolved = inherited.annotation  # a bare re-annotation keeps the domain
            doc = docs.get(name) or (inherited.doc if inherited else "")
            found[name] = Hyperparameter(resolved, _class_default(cls, name), doc)
    return found


def validate(cls: type, params: Mapping[str, Any], path: str,
             optimizer: str | None = None) -> dict[str, Any]:
    """Every hyperparameter of ``cls`` checked against its domain, defaults filled in,
    then the class's ``check_relations(values, optimizer)`` when it has one.

    Raises one :class:`ConfigError` line per call: ``<path>.<name>: got ...; expected ...``
    for a value, ``<path>: <the relation's message>`` for a relation.
    """
    if not isinstance(params, Mapping):
        raise ConfigError(f"{path}: expected a mapping of hyperparameters, got "
                          f"{type(params).__name__}")
    declared = spec(cls)
    unknown = [str(key) for key in params if key not in declared]
    if unknown:
        from warprec.utils.names import did_you_mean

        known = ", ".join(declared) or "none"
        raise ConfigError(f"{path}.{unknown[0]}: unknown hyperparameter of {cls.__name__}"
                          f"{did_you_mean(unknown[0], declared)}; expected one of {known}")
    missing = [n for n, hp in declared.items() if n not in params and hp.default is MISSING]
    if missing:
        hp = declared[missing[0]]
        raise ConfigError(f"{path}.{missing[0]}: missing; {cls.__name__} needs it "
                          f"(expected {hp.type_name})")
    try:
        validated = _params_model(cls).model_validate(dict(params))
    except pydantic.ValidationError as exc:
        raise ConfigError(render_errors(exc, path, limit=1)) from None
    values = {name: getattr(validated, name) for name in declared}
    relations = getattr(cls, "check_relations", None)
    if relations is not None:
        try:
            relations(values, optimizer)
        except ValueError as exc:  # ConfigError is one too
            raise ConfigError(f"{path}: {' '.join(str(exc).split())}") from None
    return values


def describe_hyperparameters(cls: type) -> dict[str, dict[str, Any]]:
    """``{name: {"type", "default" (if any), "doc"}}`` of a model class."""
    described: dict[str, dict[str, Any]] = {}
    for name, hp in spec(cls).items():
        entry: dict[str, Any] = {"type": hp.type_name}
        if hp.default is not MISSING:
            entry["default"] = hp.default
        entry["doc"] = hp.doc
        if not has_domain(hp.annotation):
            entry["no_domain"] = True
        described[name] = entry
    return described


def undeclared_domains(cls: type) -> list[str]:
    """The numeric hyperparameters of ``cls`` (``int``/``float``, also inside a list,
    tuple or union) declared without a domain: no bound and no ``Literal``.

    ``scale: float`` has none (a config's ``scale: -1.0`` would pass silently);
    ``scale: Annotated[float, Gt(0)]`` and ``mode: Literal[1, 2]`` have one.
    """
    return [name for name, hp in spec(cls).items() if not has_domain(hp.annotation)]


def has_domain(annotation: Any) -> bool:
    """Whether every number an annotation admits is bounded (non-numeric types are)."""
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        return any(_is_bound(m) for m in metadata) or has_domain(base)
    if annotation is bool or typing.get_origin(annotation) is typing.Literal:
        return True
    if annotation in (int, float):
        return False
    return all(has_domain(arm) for arm in typing.get_args(annotation)
               if arm is not Ellipsis and not isinstance(arm, list))


def _is_bound(metadata: Any) -> bool:
    from warprec.utils.validation import BOUND_SYMBOLS

    if any(getattr(metadata, attribute, None) is not None for attribute in BOUND_SYMBOLS):
        return True
    return any(_is_bound(m) for m in getattr(metadata, "metadata", ()))  # pydantic Field


@cache
def _params_model(cls: type) -> type[pydantic.BaseModel]:
    fields: dict[str, Any] = {}
    for name, hp in spec(cls).items():
        default = ... if hp.default is MISSING else _default_factory(hp.default)
        fields[name] = (_lenient_collections(hp.annotation), default)
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False,
                        arbitrary_types_allowed=True, validate_default=True)
    return pydantic.create_model(f"{cls.__name__}Hyperparameters", __config__=config,
                                 **fields)


def _default_factory(value: Any) -> Any:
    return pydantic.Field(default_factory=lambda: copy.deepcopy(value))


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _lenient_collections(annotation: Any) -> Any:
    """YAML has lists only: a tuple hyperparameter accepts a list of the right items."""
    if typing.get_origin(_bare(annotation)) is tuple or _bare(annotation) is tuple:
        return Annotated[annotation, BeforeValidator(_as_tuple)]
    return annotation


def _bare(annotation: Any) -> Any:
    if typing.get_origin(annotation) is Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _is_hyperparameter(annotation: Any, excluded: tuple[type, ...]) -> bool:
    # Annotations of class constants, submodules and tensors are not hyperparameters.
    if annotation is ClassVar or typing.get_origin(annotation) is ClassVar:
        return False
    bare = _bare(annotation)
    arms = typing.get_args(bare) if _is_union(bare) else (bare,)
    return not any(isinstance(a, type) and issubclass(a, excluded) for a in arms)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _class_default(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            value = klass.__dict__[name]
            return MISSING if isinstance(value, (property, types.FunctionType)) else value
    return MISSING


def _resolve(annotation: Any, klass: type) -> Any:
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(klass.__module__)
    namespace = {**vars(typing), **(vars(module) if module else {})}
    try:
        resolved = eval(annotation, namespace, dict(vars(klass)))  # the class's own annotation
        if isinstance(resolved, str):  # quoted under ``from __future__ import annotations``
            resolved = eval(resolved, namespace, dict(vars(klass)))
        return resolved
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


def type_name(annotation: Any) -> str:
    """A readable name of an annotation, with its constraints (``int > 0, <= 4096``).

    Nested types render the same way (``list[int > 0]``, ``float | None``).
    """
    if annotation is Any:
        return "any"
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *metadata = typing.get_args(annotation)
        bounds = [b for m in metadata for b in _bound_texts(m)]
        return type_name(base) + (" " + ", ".join(bounds) if bounds else "")
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if _is_union(annotation):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and origin is None:
        return annotation.__name__
    arguments = typing.get_args(annotation)
    if origin is not None and arguments and not isinstance(arguments[0], list):
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        return f"{name}[{', '.join(type_name(a) for a in arguments)}]"
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _bound_texts(metadata: Any) -> list[str]:
    from warprec.utils.validation import BOUND_SYMBOLS, format_bound

    return [f"{symbol} {format_bound(getattr(metadata, attribute))}"
            for attribute, symbol in BOUND_SYMBOLS.items()
            if getattr(metadata, attribute, None) is not None]
