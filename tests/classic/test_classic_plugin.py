"""The plugin's lazy references: listed without importing torch, loadable by name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from warprec.recommenders.base_recommender import Recommender, hyperparameters
from warprec.utils.registry import model_registry
from warprec_models_classic.plugin import MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_resolves_by_name(name):
    cls = model_registry.get_class(name)
    assert issubclass(cls, Recommender)
    assert f"{cls.__module__}:{cls.__qualname__}" == MODELS[name]
    for spec in hyperparameters(cls).values():
        assert spec["doc"] and "default" in spec


def test_listing_the_models_imports_no_model_module():
    code = (
        "import json, sys\n"
        "from warprec.utils.registry import model_registry\n"
        "names = model_registry.names()\n"
        "loaded = [m for m in sys.modules if m.startswith('warprec_models_classic.') "
        "and m != 'warprec_models_classic.plugin' or m == 'torch']\n"
        "print(json.dumps([names, loaded]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    names, loaded = json.loads(out.stdout)
    assert set(MODELS) <= set(names)
    assert loaded == []
