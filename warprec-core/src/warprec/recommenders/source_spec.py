"""A model's declared hyperparameters read from its source code, without importing it.

``warprec models list`` describes every lazily registered model (``"module:Class"``)
this way, so that listing imports neither torch nor any model module: the module file
is located with :func:`importlib.util.find_spec` (its package is not executed), parsed
with :mod:`ast`, and the class and its base classes are followed through the project's
modules (imports and module-level aliases resolved statically). The result equals
:func:`warprec.recommenders.hyperparameters.describe_hyperparameters` of the imported
class: the same names in the same order (the C3 method resolution order), the same
defaults (literals evaluated), the same docs and the same type text (see
:func:`type_name_from_source`, the counterpart of ``hyperparameters.type_name``).

What cannot be decided from source (a default computed by a function call, a base
class created dynamically, ``import *``) raises :class:`SourceSpecError`; the caller
then imports the model.
"""

from __future__ import annotations

import ast
import builtins
import importlib.machinery
import importlib.util
import inspect
import itertools
import operator
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SourceSpecError", "describe_reference", "type_name_from_source"]

# Modules whose classes contribute no hyperparameters (as in hyperparameters.spec).
EXCLUDED_MODULES = ("builtins", "abc", "typing", "torch")
# Resolved by name only (never parsed): typing_extensions re-exports typing's constructs.
_OPAQUE_MODULES = (*EXCLUDED_MODULES, "typing_extensions")
# Annotations naming these (or classes from torch) are submodules/tensors, not parameters.
_TORCH_PREFIX = "torch"
_TYPING_ALIASES = {"List": "list", "Dict": "dict", "Tuple": "tuple", "Set": "set",
                   "FrozenSet": "frozenset", "Type": "type"}
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}  # BOUND_SYMBOLS, in its order
_SINGLE_BOUND = {"Gt": "gt", "Ge": "ge", "Lt": "lt", "Le": "le"}
_MISSING = object()


class SourceSpecError(Exception):
    """The hyperparameters cannot be decided from the source alone."""


@dataclass
class _Module:
    """One parsed module: its classes, imports and module-level assignments."""

    name: str
    package: str
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    assigns: dict[str, ast.expr] = field(default_factory=dict)


@dataclass(frozen=True)
class _ClassRef:
    module: str
    name: str


@dataclass
class _Declared:
    annotation: ast.expr
    module: _Module
    doc: str


class _Reader:
    """Parses modules on demand (each once) and resolves names across them."""

    def __init__(self) -> None:
        self.modules: dict[str, _Module | None] = {}

    # -- modules -------------------------------------------------------------------
    def module(self, name: str) -> _Module | None:
        """The parsed module ``name``, or None when it has no Python source."""
        if name not in self.modules:
            self.modules[name] = None  # guards against import cycles
            path = _source_path(name)
            if path is not None:
                self.modules[name] = _parse(name, path)
        return self.modules[name]

    # -- names ---------------------------------------------------------------------
    def lookup(self, module: _Module, name: str, depth: int = 0
               ) -> tuple[str, Any] | None:
        """What ``name`` means in ``module``: ``("class", _ClassRef)``, ``("alias", (expr,
        module))``, ``("module", name)``, ``("external", "module.Name")`` or None."""
        if depth > 20:
            raise SourceSpecError(f"{module.name}.{name}: too many re-exports")
        if name in module.classes:
            return "class", _ClassRef(module.name, name)
        if name in module.assigns:
            return "alias", (module.assigns[name], module)
        if name in module.imports:
            source, attribute = module.imports[name]
            if attribute is None:
                return "module", source
            if _opaque(source):
                return "external", f"{source}.{attribute}"
            target = self.module(source)
            if target is None:
                # ``from package import submodule``, or a module without source.
                if _source_path(f"{source}.{attribute}") is not None:
                    return "module", f"{source}.{attribute}"
                return "external", f"{source}.{attribute}"
            found = self.lookup(target, attribute, depth + 1)
            if found is None and _source_path(f"{source}.{attribute}") is not None:
                return "module", f"{source}.{attribute}"
            return found
        return None

    def resolve(self, module: _Module, node: ast.expr) -> tuple[str, Any] | None:
        """What a Name or dotted Attribute expression refers to."""
        if isinstance(node, ast.Name):
            return self.lookup(module, node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(module, node.value)
            if owner is None:
                return None
            kind, value = owner
            if kind == "module":
                if _opaque(value):
                    return "external", f"{value}.{node.attr}"
                target = self.module(value)
                if target is None:
                    return "external", f"{value}.{node.attr}"
                found = self.lookup(target, node.attr)
                if found is None and _source_path(f"{value}.{node.attr}") is not None:
                    return "module", f"{value}.{node.attr}"
                return found
            if kind == "external":
                return "external", f"{value}.{node.attr}"
        return None

    # -- classes -------------------------------------------------------------------
    def bases(self, ref: _ClassRef) -> list[_ClassRef | str]:
        """The direct bases of a class: project classes, or external names."""
        module = self.module(ref.module)
        assert module is not None
        result: list[_ClassRef | str] = []
        for base in module.classes[ref.name].bases:
            if isinstance(base, ast.Subscript):  # Generic[T], Protocol[T]
                base = base.value
            found = self.resolve(module, base)
            if found is None:
                if isinstance(base, ast.Name) and hasattr(builtins, base.id):
                    result.append(f"builtins.{base.id}")
                    continue
                raise SourceSpecError(f"{ref.module}.{ref.name}: base class "
                                      f"{ast.unparse(base)!r} cannot be resolved statically")
            kind, value = found
            if kind in ("class", "external"):
                result.append(value)
            else:
                raise SourceSpecError(f"{ref.module}.{ref.name}: base class "
                                      f"{ast.unparse(base)!r} is not a class statement")
        return result

    def mro(self, ref: _ClassRef | str) -> list[_ClassRef | str]:
        """The C3 linearisation; external classes are opaque leaves (they add nothing)."""
        if isinstance(ref, str):
            return [ref]
        sequences = [self.mro(base) for base in self.bases(ref)]
        sequences.append(list(self.bases(ref)))
        result: list[_ClassRef | str] = [ref]
        while True:
            sequences = [s for s in sequences if s]
            if not sequences:
                return result
            for sequence in sequences:
                head = sequence[0]
                if not any(head in s[1:] for s in sequences):
                    break
            else:
                raise SourceSpecError(f"{ref.module}.{ref.name}: inconsistent MRO")
            result.append(head)
            for s in sequences:
                if s[0] == head:
                    del s[0]

    # -- hyperparameters -------------------------------------------------------------
    def describe(self, ref: _ClassRef) -> dict[str, dict[str, Any]]:
        order = self.mro(ref)
        found: dict[str, _Declared] = {}
        for klass in reversed(order):
            if isinstance(klass, str):
                continue  # external: excluded modules and classes without source
            if klass.module.startswith(EXCLUDED_MODULES):
                continue
            module = self.module(klass.module)
            assert module is not None
            body = module.classes[klass.name].body
            docs = _attribute_docs(body)
            for stmt in body:
                if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                    continue
                name = stmt.target.id
                annotation = _unquote(stmt.annotation)
                if name.startswith("_") or not self._is_hyperparameter(annotation, module):
                    continue
                inherited = found.get(name)
                declared = _Declared(annotation, module, docs.get(name) or
                                     (inherited.doc if inherited else ""))
                if inherited is not None and self.render(
                        *self._bare_of(inherited.annotation, inherited.module)) == \
                        self.render(annotation, module):
                    # A bare re-annotation keeps the inherited domain.
                    declared.annotation, declared.module = inherited.annotation, inherited.module
                found[name] = declared
        described: dict[str, dict[str, Any]] = {}
        for name, declared in found.items():
            entry: dict[str, Any] = {"type": self.render(declared.annotation, declared.module)}
            default = self.default(order, name)
            if default is not _MISSING:
                entry["default"] = default
            entry["doc"] = declared.doc
            if _UNBOUNDED_NUMBER.search(entry["type"]):  # as hyperparameters.has_domain
                entry["no_domain"] = True
            described[name] = entry
        return described

    def default(self, order: list[_ClassRef | str], name: str) -> Any:
        for klass in order:
            if isinstance(klass, str):
                continue
            module = self.module(klass.module)
            assert module is not None
            value = _class_value(module.classes[klass.name].body, name)
            if value is None:
                continue
            if not isinstance(value, ast.expr):
                return _MISSING  # a method or property of that name
            return self.evaluate(value, module)
        return _MISSING

    def _is_hyperparameter(self, annotation: ast.expr, module: _Module) -> bool:
        if self._head(annotation, module) == "ClassVar":
            return False
        bare, module = self._bare_of(annotation, module)
        for arm in self._arms(bare, module):
            found = self.resolve(module, arm) if isinstance(arm, ast.Name | ast.Attribute) \
                else None
            if found is None:
                continue
            kind, value = found
            if kind == "external" and value.startswith(_TORCH_PREFIX):
                return False
            if kind == "class" and any(isinstance(k, str) and k.startswith(_TORCH_PREFIX)
                                       for k in self.mro(value)):
                return False
        return True

    def _arms(self, node: ast.expr, module: _Module) -> list[ast.expr]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._arms(node.left, module) + self._arms(node.right, module)
        head = self._head(node, module)
        if head == "Union" and isinstance(node, ast.Subscript):
            return [a for e in _elements(node.slice) for a in self._arms(e, module)]
        if head == "Optional" and isinstance(node, ast.Subscript):
            return self._arms(node.slice, module)
        return [node]

    def _head(self, node: ast.expr, module: _Module) -> str | None:
        """The typing construct a Subscript/Name stands for (Annotated, Literal...)."""
        target = node.value if isinstance(node, ast.Subscript) else node
        if isinstance(target, ast.Name):
            found = self.lookup(module, target.id)
            if found and found[0] == "external":
                return str(found[1]).rpartition(".")[2]
            return target.id if found is None else None
        if isinstance(target, ast.Attribute):
            return target.attr
        return None

    # -- rendering (mirrors hyperparameters.type_name) ----------------------------------
    def render(self, node: ast.expr, module: _Module, depth: int = 0) -> str:
        """The annotation as ``hyperparameters.type_name`` renders the evaluated one."""
        if depth > 20:
            raise SourceSpecError("annotation aliases nest too deeply")
        node = _unquote(node)
        if isinstance(node, ast.Constant):
            if node.value is None:
                return "None"
            if node.value is Ellipsis:
                return "..."
            raise SourceSpecError(f"annotation {ast.unparse(node)!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return " | ".join(self.render(arm, module, depth + 1)
                              for arm in self._flat_union(node))
        if isinstance(node, ast.Name | ast.Attribute):
            found = self.resolve(module, node)
            if found is not None and found[0] == "alias":
                expr, where = found[1]
                return self.render(expr, where, depth + 1)
            if found is not None and found[0] == "class":
                return found[1].name
            name = node.id if isinstance(node, ast.Name) else node.attr
            if found is not None and found[0] == "external":
                name = str(found[1]).rpartition(".")[2]
            if name == "Any":
                return "any"
            if name == "NoneType":
                return "None"
            return name
        if isinstance(node, ast.Subscript):
            head = self._head(node, module)
            elements = _elements(node.slice)
            if head == "Annotated":
                base, base_module, metadata = self._flatten(node, module)
                bounds = [b for m, where in metadata for b in self._bounds(m, where)]
                return self.render(base, base_module, depth + 1) + \
                    (" " + ", ".join(bounds) if bounds else "")
            if head == "Literal":
                return " | ".join(repr(self.evaluate(e, module)) for e in elements)
            if head == "Optional":
                return self.render(elements[0], module, depth + 1) + " | None"
            if head == "Union":
                return " | ".join(self.render(e, module, depth + 1) for e in elements)
            if isinstance(node.value, ast.Name | ast.Attribute):
                found = self.resolve(module, node.value)
                if found is not None and found[0] == "alias":
                    raise SourceSpecError("a subscripted alias")
            origin = self.render(node.value, module, depth + 1)
            origin = _TYPING_ALIASES.get(origin, origin)
            inner = ", ".join(self.render(e, module, depth + 1) for e in elements)
            return f"{origin}[{inner}]"
        raise SourceSpecError(f"annotation {ast.unparse(node)!r}")

    def _flatten(self, node: ast.Subscript, module: _Module, depth: int = 0
                 ) -> tuple[ast.expr, _Module, list[tuple[ast.expr, _Module]]]:
        """``Annotated[Alias, Le(5)]`` with ``Alias = Annotated[int, Ge(0)]`` is
        ``Annotated[int, Ge(0), Le(5)]``, as typing flattens it."""
        if depth > 20:
            raise SourceSpecError("annotation aliases nest too deeply")
        base, *metadata = _elements(node.slice)
        base = _unquote(base)
        where = module
        while isinstance(base, ast.Name | ast.Attribute):
            found = self.resolve(where, base)
            if found is None or found[0] != "alias":
                break
            base, where = found[1]
            base = _unquote(base)
        if isinstance(base, ast.Subscript) and self._head(base, where) == "Annotated":
            inner, inner_module, inner_metadata = self._flatten(base, where, depth + 1)
            return inner, inner_module, [*inner_metadata, *((m, module) for m in metadata)]
        return base, where, [(m, module) for m in metadata]

    def _bare_of(self, node: ast.expr, module: _Module) -> tuple[ast.expr, _Module]:
        """The type without its ``Annotated`` metadata, aliases followed."""
        node = _unquote(node)
        while isinstance(node, ast.Name | ast.Attribute):
            found = self.resolve(module, node)
            if found is None or found[0] != "alias":
                break
            node, module = found[1]
            node = _unquote(node)
        if isinstance(node, ast.Subscript) and self._head(node, module) == "Annotated":
            base, where, _ = self._flatten(node, module)
            return base, where
        return node, module

    def _flat_union(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._flat_union(node.left) + self._flat_union(node.right)
        return [node]

    def _bounds(self, node: ast.expr, module: _Module) -> list[str]:
        """``Ge(0)`` -> ``[">= 0"]``; metadata other than bounds renders as nothing."""
        if not isinstance(node, ast.Call):
            return []
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
        values: dict[str, Any] = {}
        if name in _SINGLE_BOUND and node.args:
            values[_SINGLE_BOUND[name]] = self.evaluate(node.args[0], module)
        if name in _SINGLE_BOUND or name == "Interval":
            for keyword in node.keywords:
                if keyword.arg in _BOUNDS:
                    values[keyword.arg] = self.evaluate(keyword.value, module)
        return [f"{symbol} {_format_bound(values[key])}" for key, symbol in _BOUNDS.items()
                if values.get(key) is not None]

    # -- values --------------------------------------------------------------------
    def evaluate(self, node: ast.expr, module: _Module, depth: int = 0) -> Any:
        """A literal, arithmetic on literals, or a module-level constant."""
        if depth > 20:
            raise SourceSpecError("constants nest too deeply")
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            pass
        if isinstance(node, ast.Name | ast.Attribute):
            found = self.resolve(module, node)
            if found is not None and found[0] == "alias":
                expr, where = found[1]
                return self.evaluate(expr, where, depth + 1)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.evaluate(node.operand, module, depth + 1))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](self.evaluate(node.left, module, depth + 1),
                                          self.evaluate(node.right, module, depth + 1))
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self.evaluate(e, module, depth + 1) for e in node.elts]
            return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {self.evaluate(k, module, depth + 1): self.evaluate(v, module, depth + 1)
                    for k, v in zip(node.keys, node.values, strict=True)
                    if k is not None}
        raise SourceSpecError(f"value {ast.unparse(node)!r} is not a constant")


_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos,
                                            ast.Invert: operator.invert}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow,
    ast.Mod: operator.mod, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}



# A rendered type with an ``int`` or ``float`` that no bound follows (``float``,
# ``tuple[int, ...]``, ``float | None``) declares no domain for that number.
_UNBOUNDED_NUMBER = re.compile(r"(?<![\w'\"])(?:int|float)\b(?! [<>])")

def describe_reference(reference: str) -> dict[str, dict[str, Any]]:
    """``{name: {"type", "default" (if any), "doc"}}`` of the class ``"module:Class"``
    points at, read from source (the module is located, never executed).

    Raises:
        SourceSpecError: the source is missing or uses what only running it can tell.
    """
    module_name, _, qualname = reference.partition(":")
    reader = _Reader()
    module = reader.module(module_name)
    if module is None:
        raise SourceSpecError(f"{module_name}: no Python source found")
    if "." in qualname:
        raise SourceSpecError(f"{reference}: nested classes are not read statically")
    found = reader.lookup(module, qualname)
    if found is None or found[0] != "class":
        raise SourceSpecError(f"{reference}: not a class statement of its module")
    return reader.describe(found[1])


def type_name_from_source(annotation: str) -> str:
    """Render annotation text as ``hyperparameters.type_name`` renders the evaluated
    annotation (``Annotated[int, Gt(0)]`` -> ``int > 0``); names resolve to typing's."""
    reader = _Reader()
    module = _Module("__annotation__", "")
    expr = ast.parse(annotation, mode="eval").body
    return reader.render(expr, module)


# -- helpers ---------------------------------------------------------------------------

def _source_path(name: str) -> Path | None:
    """The ``.py`` file of module ``name``, found without executing any package."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        origin = getattr(loaded, "__file__", None)
        return Path(origin) if origin and origin.endswith(".py") else None
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: nothing executed
        for i in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            parent = sys.modules.get(".".join(parts[: i + 1]))
            if parent is not None:
                spec = parent.__spec__
                continue
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: i + 1]), list(spec.submodule_search_locations or []))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


# Parsed modules of this process, by (name, path, mtime): listing N models of one
# package parses their shared base-class module once.
_PARSED: dict[tuple[str, str, int], _Module] = {}


def _parse(name: str, path: Path) -> _Module:
    try:
        key = (name, str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise SourceSpecError(f"{path}: {exc}") from exc
    if key not in _PARSED:
        _PARSED[key] = _parse_file(name, path)
    return _PARSED[key]


def _parse_file(name: str, path: Path) -> _Module:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise SourceSpecError(f"{path}: {exc}") from exc
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    module = _Module(name, package)
    for stmt in tree.body:
        _collect(stmt, module)
    return module


def _collect(stmt: ast.stmt, module: _Module) -> None:
    if isinstance(stmt, ast.ClassDef):
        module.classes[stmt.name] = stmt
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                module.imports[alias.asname] = (alias.name, None)
            else:  # ``import a.b`` binds ``a``
                top = alias.name.partition(".")[0]
                module.imports[top] = (top, None)
    elif isinstance(stmt, ast.ImportFrom):
        source = _absolute(stmt, module.package)
        for alias in stmt.names:
            if alias.name == "*":
                continue
            module.imports[alias.asname or alias.name] = (source, alias.name)
    elif isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                module.assigns[target.id] = stmt.value
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
        module.assigns[stmt.target.id] = stmt.value
    elif isinstance(stmt, ast.If):
        # ``if TYPE_CHECKING:`` blocks and the like: what they bind is visible too.
        for inner in stmt.body:
            _collect(inner, module)


def _absolute(stmt: ast.ImportFrom, package: str) -> str:
    if not stmt.level:
        return stmt.module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - stmt.level + 1] if stmt.level > 1 else parts
    return ".".join([*base, *([stmt.module] if stmt.module else [])])


def _opaque(module: str) -> bool:
    """Modules not parsed: the standard library, typing's and torch's."""
    return module.startswith(_OPAQUE_MODULES) or \
        module.partition(".")[0] in sys.stdlib_module_names or module == "__future__"


def _attribute_docs(body: list[ast.stmt]) -> dict[str, str]:
    docs = {}
    for stmt, following in itertools.pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[stmt.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _class_value(body: list[ast.stmt], name: str) -> ast.expr | object | None:
    """The expression assigned to ``name`` in a class body (the last binding wins),
    ``_MISSING`` for a method or property, None when the body does not bind it."""
    value: ast.expr | object | None = None
    for stmt in body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if stmt.target.id == name and stmt.value is not None:
                value = stmt.value
        elif isinstance(stmt, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                value = stmt.value
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            value = _MISSING
    return value


def _unquote(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ast.parse(node.value, mode="eval").body
        except SyntaxError as exc:
            raise SourceSpecError(f"annotation {node.value!r}: {exc}") from exc
    return node


def _elements(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _format_bound(value: Any) -> str:
    from warprec.utils.validation import format_bound

    return format_bound(value)
