"""Every numeric hyperparameter has a domain: ``undeclared_domains`` finds those without
one, ``warprec models list``/``show`` mark them and ``warprec plugins doctor`` warns."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from annotated_types import Ge, Gt, Interval, MinLen
from cli_runner import run_cli
from pydantic import Field
from warprec.recommenders.base_recommender import ItemSimRecommender, IterativeRecommender
from warprec.recommenders.hyperparameters import has_domain, undeclared_domains
from warprec.utils.registry import model_registry


@pytest.mark.parametrize(("annotation", "bounded"), [
    (float, False),
    (int, False),
    (float | None, False),
    (list[int], False),
    (Annotated[list[int], MinLen(1)], False),  # a bound on the length, not the numbers
    (tuple[float, ...], False),
    (Annotated[float, Ge(0)], True),
    (Annotated[int, Gt(0)] | None, True),
    (Annotated[float, Interval(gt=0, lt=1)], True),
    (Annotated[float, Field(ge=0)], True),
    (list[Annotated[int, Gt(0)]], True),
    (Literal[1, 2, 4], True),
    (Literal[0.0], True),
    (bool, True),
    (str, True),
    (Any, True),
])
def test_a_domain_is_a_bound_or_a_literal(annotation: Any, bounded: bool) -> None:
    assert has_domain(annotation) is bounded


class Scaled(ItemSimRecommender):
    scale: float = 1.0
    """Multiplies the scores."""
    mode: Literal["a", "b"] = "a"
    """Not numeric."""
    sizes: list[int] = [4]
    """Numbers in a list."""


class Trained(IterativeRecommender):
    batch_size: int = 16  # a bare re-annotation keeps the inherited domain
    embedding_size: Annotated[int, Gt(0)] = 8


def test_undeclared_domains_lists_the_numeric_hyperparameters_without_one() -> None:
    assert undeclared_domains(Scaled) == ["scale", "sizes"]
    assert undeclared_domains(Trained) == []


@pytest.mark.parametrize("name", [e.name for e in model_registry.entries()
                                  if e.source.kind == "plugin"])  # the core's and plugins'
def test_every_registered_model_declares_its_domains(name: str) -> None:
    assert undeclared_domains(model_registry.get_class(name)) == []


def test_models_list_and_show_mark_a_hyperparameter_without_a_domain(
        capsys, fresh_plugins: None) -> None:
    model_registry.register(Scaled)
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    listed = {m["name"]: m for m in json.loads(out)}["Scaled"]["params"]
    assert code == 0 and listed["scale"]["no_domain"] is True
    assert "no_domain" not in listed["mode"]
    code, out, _ = run_cli(capsys, "models", "list")
    assert code == 0 and "scale: float (no domain!) = 1.0, mode: 'a' | 'b' = 'a'" in out
    code, out, _ = run_cli(capsys, "models", "show", "Scaled")
    line = next(line for line in out.splitlines() if line.startswith("scale "))
    assert code == 0 and "float (no domain!)" in line
    line = next(line for line in out.splitlines() if line.startswith("mode "))
    assert "no domain" not in line


SCALED_PLUGIN = '''
from warprec import hookimpl


@hookimpl
def warprec_register_models(register):
    register("Scaled", "acme_scaled_impl:Scaled")
'''

SCALED_MODEL = '''
import torch
from warprec.recommenders.base_recommender import Recommender


class Scaled(Recommender):
    scale: float = 1.0

    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        scores = self.scale * torch.arange(self.n_items, dtype=torch.float32).expand(
            len(user_indices), -1).clone()
        return scores if item_indices is None else scores.gather(1, item_indices)
'''


def test_plugins_doctor_warns_about_a_hyperparameter_without_a_domain(
        capsys, fake_dist, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "warprec-models-classic,warprec-models-neural")
    fake_dist("acme-scaled", SCALED_PLUGIN)
    (tmp_path / "site" / "acme_scaled_impl.py").write_text(SCALED_MODEL)
    code, out, err = run_cli(capsys, "plugins", "doctor")
    assert code == 0, out + err  # a warning, not a problem
    assert "acme-scaled 1.0.0: OK (1 checked)" in out
    assert ("  - warning: model 'Scaled': hyperparameter 'scale' is numeric without a domain "
            "(any value passes); declare a bound or a Literal") in out
