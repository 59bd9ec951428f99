"""The registries: the guide's decorator, lookup, suggestions, sources and lazy loading."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from warprec.errors import RegistryError
from warprec.utils.registry import Registry, Source, model_registry


@pytest.fixture
def registry() -> Registry:
    return Registry("model")


def test_guide_decorator_registers_under_the_given_name() -> None:
    @model_registry.register(name="GuideStyleModel")
    class Anything:
        pass

    try:
        assert model_registry.get_class("GuideStyleModel") is Anything
        assert model_registry.entry("guidestylemodel").source == Source("module", __name__)
    finally:
        model_registry.remove_source(__name__)
    assert "GuideStyleModel" not in model_registry


def test_bare_decorator_and_direct_call(registry: Registry) -> None:
    @registry.register
    class Bare:
        pass

    def factory() -> str:
        return "built"

    assert registry.register(factory, name="Factory") is factory
    assert registry.get_class("bare") is Bare
    assert registry.get("FACTORY") == "built"


def test_get_builds_an_instance_with_arguments(registry: Registry) -> None:
    registry.add("Pair", "builtins:tuple", Source("plugin", "p"))
    assert registry.get("pair", [1, 2]) == (1, 2)


def test_unknown_name_suggests_close_matches(registry: Registry) -> None:
    registry.add("ItemKNN", "builtins:dict", Source("plugin", "p"))
    with pytest.raises(RegistryError, match=r"unknown model 'ItemNN'; did you mean 'ItemKNN'\?"):
        registry.get_class("ItemNN")


def test_unknown_name_lists_known_names_when_nothing_is_close(registry: Registry) -> None:
    registry.add("Alpha", "builtins:dict", Source("plugin", "p"))
    with pytest.raises(RegistryError, match=r"unknown model 'zzz' \(known: Alpha\)"):
        registry.entry("zzz")


def test_a_hint_comes_from_the_hint_callback_only(registry: Registry) -> None:
    with pytest.raises(RegistryError, match=r"\(known: none\)$"):
        registry.entry("lightgcn")  # the core names no plugin's models
    registry.hint = lambda name: f"It is provided by acme-{name.lower()}: pip install it."
    with pytest.raises(RegistryError, match=r"^unknown model 'X'\. It is provided by acme-x: "
                                            r"pip install it\.$"):
        registry.entry("X")


def test_lazy_reference_is_imported_on_first_use_only(tmp_path, monkeypatch) -> None:
    (tmp_path / "lazy_probe_module.py").write_text("class Probe:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("model")
    entry = registry.add("Probe", "lazy_probe_module:Probe", Source("plugin", "probe", "1.0"))
    assert "lazy_probe_module" not in sys.modules
    cls = registry.get_class("probe")
    assert cls.__name__ == "Probe" and entry.load() is cls
    assert str(entry.source) == "probe 1.0"
    sys.modules.pop("lazy_probe_module")


def test_unloadable_reference_names_entry_source_and_target(registry: Registry) -> None:
    registry.add("Ghost", "no_such_module_abc:Ghost", Source("plugin", "ghostly", "2.0"))
    with pytest.raises(RegistryError) as error:
        registry.get_class("Ghost")
    assert str(error.value) == (
        "'Ghost' (from ghostly 2.0) cannot be loaded from 'no_such_module_abc:Ghost': "
        "ModuleNotFoundError: No module named 'no_such_module_abc'"
    )


def test_decorator_inside_a_lazily_referenced_module_is_the_same_entry(registry: Registry) -> None:
    class Model:
        pass

    registry.add("Model", f"{__name__}:{Model.__qualname__}", Source("plugin", "pkg", "1.0"))
    registry.register(Model, name="Model")
    entry = registry.entry("Model")
    assert entry.source.name == "pkg" and entry.load() is Model
    assert len(registry.entries()) == 1


def test_same_source_re_registering_replaces(registry: Registry) -> None:
    registry.add("X", "builtins:list", Source("module", "script"))
    registry.add("X", "builtins:set", Source("module", "script"))
    assert registry.get_class("X") is set


@pytest.mark.parametrize("bad", ["", "a:b", None])
def test_invalid_names_are_rejected(registry: Registry, bad) -> None:
    with pytest.raises(RegistryError, match="invalid model name"):
        registry.add(bad, "builtins:list", Source("module", "m"))


def test_core_builtins_are_registered_with_the_core_as_source() -> None:
    from warprec.utils.registry import metric_registry

    assert metric_registry.entry("ndcg").source.name == "warprec-core"
    assert metric_registry.entry("nDCG").reference == "warprec.evaluation.metrics:nDCG"


def test_the_known_plugins_index_names_every_model_the_official_packages_register() -> None:
    from warprec._advice import known_plugins
    from warprec_models_classic.plugin import MODELS as CLASSIC
    from warprec_models_neural.plugin import MODELS as NEURAL

    index = known_plugins()
    assert sorted(index["warprec-models-classic"]["models"]) == sorted(CLASSIC)
    assert sorted(index["warprec-models-neural"]["models"]) == sorted(NEURAL)


def test_the_core_names_no_plugin_model_in_code() -> None:
    import warprec
    from warprec_models_classic.plugin import MODELS as CLASSIC
    from warprec_models_neural.plugin import MODELS as NEURAL

    package = Path(warprec.__file__).parent
    for module in ("_registry.py", "_advice.py", "plugins.py", "utils/registry.py"):
        source = (package / module).read_text()
        assert not [n for n in [*CLASSIC, *NEURAL] if f'"{n}"' in source], module


def test_a_model_of_a_plugin_not_installed_gets_the_pip_line_from_the_index() -> None:
    from warprec._advice import install_hint

    assert install_hint("models", "lightgcn", {}, {}, any_case=True) == \
        "It is provided by warprec-models-neural: pip install warprec-models-neural."
    assert install_hint("models", "lightgcn", {}, {}, any_case=False) == ""  # case counts
    broken = {"acme-graphs": "error"}  # a name a broken plugin provides: its failure speaks
    assert install_hint("models", "LightGCN", broken, {"acme-graphs": {"models": ["LightGCN"]}},
                        any_case=True) == ""
    assert install_hint("models", "Nope", {}, {}, any_case=True) == ""
