"""``warprec models list`` reads hyperparameters from source (no torch, no model module
imported) and says exactly what the imported class says; ``warprec models show``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from annotated_types import Ge
from warprec.recommenders.hyperparameters import describe_hyperparameters
from warprec.recommenders.source_spec import (
    SourceSpecError,
    describe_reference,
    type_name_from_source,
)
from warprec.utils.registry import model_registry

from tests.cli_runner import run_cli

MODEL_PACKAGES = ("warprec_models_classic", "warprec_models_neural")


@pytest.mark.parametrize("args", [["models", "list", "--json"], ["models", "list"]])
def test_models_list_imports_neither_torch_nor_model_modules(args: list[str]) -> None:
    code = (
        "import sys, json; from warprec.cli import main\n"
        f"try: main({args!r})\n"
        "except SystemExit: pass\n"
        "bad = [m for m in sys.modules if m in ('torch', 'numpy') or (m.startswith("
        f"{MODEL_PACKAGES!r}) and not m.endswith(('.plugin', '_classic', '_neural')))]\n"
        "print('IMPORTED', bad, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "IMPORTED []" in out.stderr
    if "--json" in args:
        models = {m["name"]: m for m in json.loads(out.stdout)}
        assert models["EASE"]["params"]["l2"]["type"] == "float >= 0, <= 1000000000000"
        sasrec = describe_hyperparameters(model_registry.get_class("SASRec"))
        assert models["SASRec"]["params"]["batch_size"] == sasrec["batch_size"]
    else:
        assert "EASE" in out.stdout and "l2: float >= 0" in out.stdout


@pytest.mark.parametrize("name", [e.name for e in model_registry.entries()])
def test_static_description_equals_the_imported_one(name: str) -> None:
    entry = model_registry.entry(name)
    if not isinstance(entry.target, str):
        pytest.skip("registered in-process: described by importing")
    assert describe_reference(entry.target) == describe_hyperparameters(entry.load())


TRICKY_BASE = '''
from typing import Annotated
from annotated_types import Ge, Le

MAX = 2**10
Bounded = Annotated[int, Ge(1), Le(MAX)]


class Base:
    size: Bounded = 8
    """Size from the base."""
    rate: Annotated[float, Ge(0), Le(1 << 20)] = 1e-3
    """Rate."""
'''

TRICKY_MODEL = '''
from __future__ import annotations

import typing
from typing import Annotated, ClassVar, Literal, Optional

from annotated_types import Ge, Gt, Interval, Le, Lt
from torch import nn

from . import base as base_module
from .base import MAX, Base as Renamed

SMALL = -MAX // 4


class Mixin:
    """A mixin in the same module, before the base in the MRO."""

    mode: Literal["a", "b"] = "a"
    """Mode."""
    scale: Annotated[float, Interval(ge=SMALL, lt=1.5)] = 0.5


class Model(Mixin, Renamed):
    size: int = 16  # a bare re-annotation keeps the base's domain
    widths: list[Annotated[int, Gt(0), Le(MAX)]] = [4, 2]
    """Widths."""
    pair: tuple[int, ...] = (1, -2)
    maybe: Optional[float] = None
    either: typing.Union[int, str] = "x"
    nested: Annotated[base_module.Bounded, Lt(100)] = 3
    limit: ClassVar[int] = 3
    layer: nn.Linear | None = None
    _private: int = 0
    required: "Annotated[float, Ge(-1.5)]"
    """A string annotation, no default."""
'''


@pytest.fixture
def tricky_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "acme_tricky"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('never executed by listing')\n")
    (package / "base.py").write_text(textwrap.dedent(TRICKY_BASE))
    (package / "model.py").write_text(textwrap.dedent(TRICKY_MODEL))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "acme_tricky.model:Model"


def test_static_reading_follows_bases_aliases_and_renames(tricky_package: str) -> None:
    described = describe_reference(tricky_package)
    assert "acme_tricky" not in sys.modules  # located, never executed
    assert list(described) == ["size", "rate", "mode", "scale", "widths", "pair", "maybe",
                               "either", "nested", "required"]
    assert described["size"] == {"type": "int >= 1, <= 1024", "default": 16,
                                 "doc": "Size from the base."}
    assert described["scale"]["type"] == "float >= -256, < 1.5"
    assert described["widths"]["type"] == "list[int > 0, <= 1024]"
    assert described["pair"] == {"type": "tuple[int, ...]", "default": (1, -2), "doc": "",
                                 "no_domain": True}
    assert described["maybe"]["type"] == "float | None"
    assert described["either"]["type"] == "int | str"
    assert described["nested"]["type"] == "int >= 1, <= 1024, < 100"
    assert described["required"] == {"type": "float >= -1.5",
                                      "doc": "A string annotation, no default."}


def test_static_reading_agrees_with_the_imported_class(tricky_package: str) -> None:
    static = describe_reference(tricky_package)
    (Path(sys.path[0]) / "acme_tricky" / "__init__.py").write_text("")
    import importlib

    module = importlib.import_module("acme_tricky.model")
    try:
        assert static == describe_hyperparameters(module.Model)
    finally:
        for name in [m for m in sys.modules if m.startswith("acme_tricky")]:
            del sys.modules[name]


def test_what_only_running_can_tell_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_dynamic.py").write_text(textwrap.dedent('''
        import math

        class Model:
            k: int = math.floor(2.5)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SourceSpecError, match="not a constant"):
        describe_reference("acme_dynamic:Model")
    with pytest.raises(SourceSpecError, match="no Python source"):
        describe_reference("acme_not_there_at_all:Model")


@pytest.mark.parametrize(("text", "expected"), [
    ("Annotated[int, Gt(0), Le(2**26)]", "int > 0, <= 67108864"),
    ("Literal['x', 'y']", "'x' | 'y'"),
    ("Optional[Annotated[float, Ge(0.0)]]", "float >= 0 | None"),
    ("dict[str, Any]", "dict[str, any]"),
    ("List[int]", "list[int]"),
])
def test_type_text_renders_like_the_evaluated_annotation(text: str, expected: str) -> None:
    import typing

    from annotated_types import Ge, Gt, Le
    from warprec.recommenders.hyperparameters import type_name

    evaluated = eval(text, {**vars(typing), "Ge": Ge, "Gt": Gt, "Le": Le})
    assert type_name_from_source(text) == type_name(evaluated) == expected


def test_models_show_prints_domains_defaults_and_docs(capsys) -> None:
    code, out, _ = run_cli(capsys, "models", "show", "ItemKNN")
    assert code == 0
    assert out.startswith("ItemKNN (warprec-models-classic ")
    line = next(line for line in out.splitlines() if line.startswith("k "))
    assert "int >= 1, <= 2147483647" in line and "100" in line and "Neighbours kept" in line
    code, out, _ = run_cli(capsys, "models", "show", "ease", "--json")
    shown = json.loads(out)
    from warprec_models_classic.ease import EASE

    assert shown["name"] == "EASE" and shown["params"]["l2"]["default"] == EASE.l2
    code, _, err = run_cli(capsys, "models", "show", "EASY")
    assert code == 2 and err.startswith("Error: unknown model 'EASY'") and "EASE" in err


def test_a_model_registered_in_process_is_described_from_the_class(capsys,
                                                                   fresh_plugins: None) -> None:
    from warprec.recommenders.base_recommender import ItemSimRecommender

    class InMemory(ItemSimRecommender):  # no source file to read: described by the class
        alpha: Annotated[float, Ge(0)] = 0.5
        """Made up."""

    model_registry.register(InMemory)
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    listed = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    assert listed["InMemory"]["params"] == {"alpha": {"type": "float >= 0", "default": 0.5,
                                                      "doc": "Made up."}}
