"""Reading a YAML config safely: YAML 1.2 floats, duplicate keys refused, aliases bounded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from warprec.errors import ConfigError

__all__ = ["MAX_NODES", "YamlLoader", "read_yaml"]

# A document may expand (aliases counted at every use) to at most this many nodes: a small
# file cannot become gigabytes once its aliases are followed ("billion laughs").
MAX_NODES = 100_000


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads ``1e-3`` as a float (YAML 1.2), refuses a key
    given twice in one mapping, and bounds what aliases expand to."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not None:
                raise ConfigError(f"{_name(self)}: key {key!r} given twice in one mapping "
                                  f"(lines {first} and {line}); expected each key once")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def compose_document(self) -> yaml.Node | None:  # type: ignore[override]
        document = super().compose_document()
        if document is not None and _expanded_size(document, {}) > MAX_NODES:
            raise ConfigError(f"{_name(self)}: the document expands to more than {MAX_NODES} "
                              "values through aliases; expected a config without alias bombs")
        return document


def _name(loader: YamlLoader) -> str:
    return str(getattr(loader, "name", "config")) or "config"


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once, as PyYAML builds it once
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(node)]


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path: Path) -> Any:
    """The document of a YAML file; a one-line :class:`ConfigError` naming the file and,
    for a syntax error, the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); expected a YAML "
                          "file in UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    loader = YamlLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; expected a config of sections") from None
    finally:
        loader.dispose()
