"""Discovery, isolation, compatibility, disabling, strict mode and conflicts of plugins."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest
from warprec import hookimpl, plugins
from warprec.errors import PluginError, RegistryError
from warprec.utils.registry import Source, model_registry

GOOD = """
from warprec import hookimpl

@hookimpl
def warprec_register_models(register):
    register("Dup", "acme_lazy_target:Dup")
    register("OnlyGood", "acme_lazy_target:OnlyGood")
"""


def by_name(name: str) -> plugins.PluginInfo:
    return next(i for i in plugins.list_plugins() if i.name == name)


def test_installed_official_plugins_are_ok(fresh_plugins: None) -> None:
    infos = {i.name: i for i in plugins.list_plugins()}
    classic, neural = infos["warprec-models-classic"], infos["warprec-models-neural"]
    assert (classic.status, neural.status) == ("ok", "ok")
    assert classic.version == "0.2.0" and classic.error is None
    assert classic.hooks == ["warprec_register_models"]
    assert "EASE" in classic.provides["models"] and "BPR" in neural.provides["models"]
    assert classic.entry_point == "classic = warprec_models_classic.plugin"
    assert model_registry.entry("ease").source == Source(
        "plugin", "warprec-models-classic", "0.2.0"
    )


def test_listing_imports_neither_torch_nor_model_modules() -> None:
    code = (
        "import sys; from warprec.cli import main\n"
        "try: main(['plugins', 'list', '--json'])\n"
        "except SystemExit: pass\n"
        "bad = [m for m in sys.modules if m in ('torch', 'warprec_models_classic.ease')]\n"
        "print('IMPORTED', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "IMPORTED []" in out.stdout
    assert '"name": "warprec-models-neural"' in out.stdout


def test_broken_plugin_is_isolated(fake_dist) -> None:
    fake_dist("acme-good", GOOD)
    fake_dist("acme-broken", "import not_a_real_module_xyz\n")
    broken = by_name("acme-broken")
    assert broken.status == "error"
    assert "ModuleNotFoundError" in broken.error and "not_a_real_module_xyz" in broken.error
    assert by_name("acme-good").status == "ok"
    assert model_registry.entry("OnlyGood").source.name == "acme-good"
    assert by_name("warprec-models-classic").status == "ok"


def test_raising_hook_is_isolated_and_its_partial_registrations_dropped(fake_dist) -> None:
    fake_dist(
        "acme-raises",
        """
        from warprec import hookimpl

        @hookimpl
        def warprec_register_models(register):
            register("HalfDone", "x:HalfDone")
            raise RuntimeError("boom")
        """,
    )
    info = by_name("acme-raises")
    assert info.status == "error"
    assert info.error == "hook warprec_register_models raised RuntimeError: boom"
    assert "HalfDone" not in model_registry


def test_bad_hook_signature_names_plugin_hook_and_signature(fake_dist) -> None:
    fake_dist(
        "acme-signature",
        """
        from warprec import hookimpl

        @hookimpl
        def warprec_register_models(register, extra):
            pass
        """,
    )
    info = by_name("acme-signature")
    assert info.status == "error"
    assert "warprec_register_models" in info.error and "extra" in info.error


def test_unknown_hook_is_an_error(fake_dist) -> None:
    fake_dist(
        "acme-typo",
        """
        from warprec import hookimpl

        @hookimpl
        def warprec_register_model(register):
            pass
        """,
    )
    info = by_name("acme-typo")
    assert (info.status, info.error) == (
        "error",
        "implements unknown hook(s) warprec_register_model",
    )


def test_incompatible_plugin_is_reported_and_not_imported(fake_dist) -> None:
    fake_dist("acme-future", GOOD, requires=["warprec-core>=9.0", "numpy"])
    info = by_name("acme-future")
    assert info.status == "incompatible"
    assert info.error == f"needs warprec-core>=9.0, installed {plugins.core_version()}"
    assert "acme_future_plugin" not in sys.modules
    assert "OnlyGood" not in model_registry


def test_requirement_behind_an_extra_is_ignored(fake_dist) -> None:
    fake_dist("acme-extra", GOOD, requires=['warprec-core>=9.0; extra == "dev"'])
    assert by_name("acme-extra").status == "ok"


def test_disabled_plugin_is_skipped(fake_dist, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "acme_good, warprec-models-classic")
    fake_dist("acme-good", GOOD)
    assert by_name("acme-good").status == "disabled"
    assert by_name("warprec-models-classic").status == "disabled"
    assert "acme_good_plugin" not in sys.modules
    with pytest.raises(RegistryError, match="pip install warprec-models-classic"):
        model_registry.get_class("EASE")


@pytest.mark.parametrize("how", ["env", "flag"])
def test_strict_mode_turns_a_broken_plugin_into_an_error(
    fake_dist, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    fake_dist("acme-broken", "raise ImportError('missing native lib')\n")
    if how == "env":
        monkeypatch.setenv("WARPREC_STRICT_PLUGINS", "1")
    else:
        plugins.set_strict(True)
    with pytest.raises(PluginError, match="plugin 'acme-broken': cannot load entry point"):
        plugins.list_plugins()


def test_conflicting_names_need_a_qualified_name(fake_dist) -> None:
    fake_dist("acme-one", GOOD)
    fake_dist("acme-two", GOOD.replace("acme_lazy_target", "other_target"))
    with pytest.raises(RegistryError) as error:
        model_registry.entry("dup")
    message = str(error.value)
    assert "ambiguous" in message and "'acme-one:Dup'" in message and "'acme-two:Dup'" in message
    assert model_registry.entry("acme-two:Dup").source.name == "acme-two"
    assert model_registry.entry("acme_one:dup").source.name == "acme-one"
    assert model_registry.names().count("Dup") == 1


class InProcess:
    @hookimpl
    def warprec_register_models(self, register):
        register("InProcessModel", "collections:OrderedDict")


def test_in_process_plugin_registers_and_unregisters(fresh_plugins: None) -> None:
    plugins.pm.register(InProcess(), name="in-process")
    try:
        assert model_registry.get_class("inprocessmodel") is collections.OrderedDict
        assert by_name("in-process").provides == {"models": ["InProcessModel"]}
    finally:
        plugins.pm.unregister(name="in-process")
    assert "InProcessModel" not in model_registry
    assert "in-process" not in {i.name for i in plugins.list_plugins()}
