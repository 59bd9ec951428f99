"""pydantic validation errors rendered in the project's one-line style:
``models.EASE.l2: got -5; expected a number >= 0``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warprec.utils.checks import describe

if TYPE_CHECKING:  # light to import: ``warprec models list`` renders bounds with it
    import pydantic

__all__ = ["BOUND_SYMBOLS", "format_bound", "render_error", "render_errors"]

# annotated_types / pydantic constraint attribute -> the comparison it states.
BOUND_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "missing": "a value (the key is required)",
    "too_short": "a non-empty list",
}


def format_bound(value: Any) -> str:
    """A bound as people write it: ``0.0`` -> ``0``, ``1e-12`` stays."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def render_errors(exc: pydantic.ValidationError, path: str = "", limit: int = 1) -> str:
    """The first ``limit`` errors of ``exc`` as ``<path>.<loc>: got ...; expected ...``."""
    lines = [render_error(error, path) for error in exc.errors(include_url=False)[:limit]]
    return "; ".join(lines)


def render_error(error: Any, path: str = "") -> str:
    """One pydantic error dict as one line (see :func:`render_errors`)."""
    where = _location(path, error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "missing":
        return f"{where}: missing"
    if kind in ("value_error", "assertion_error"):
        problem = ctx.get("error", error["msg"])
        key = getattr(problem, "key", None)  # a section's unknown key names itself
        if key is not None:
            where = f"{where}.{key}" if error["loc"] or path else str(key)
        return f"{where}: {problem}"
    if kind == "too_short" and isinstance(given, dict):
        return f"{where}: empty; expected at least one entry"
    return f"{where}: got {describe(given)}; expected {_expected(kind, ctx, error['msg'])}"


def _location(path: str, loc: tuple[Any, ...]) -> str:
    text = path
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "literal[")):
            continue  # pydantic's validator names, not keys
        else:
            text = f"{text}.{part}" if text else str(part)
    return text or "config"


def _expected(kind: str, ctx: dict[str, Any], message: str) -> str:
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "")).replace(" or ", ", ")
    if kind == "enum":
        return "one of " + str(ctx.get("expected", ""))
    for attribute, symbol in BOUND_SYMBOLS.items():
        if attribute in ctx:
            return f"a number {symbol} {format_bound(ctx[attribute])}"
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return message[:1].lower() + message[1:]
