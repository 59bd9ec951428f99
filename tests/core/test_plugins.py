"""Discovery, isolation, compatibility, disabling, strict mode and conflicts of plugins."""

from __future__ import annotations

import ast
import collections
import re
import subprocess
import sys
from pathlib import Path

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
    assert classic.version == "0.3.0" and classic.error is None
    assert classic.hooks == ["warprec_register_models"]
    assert "EASE" in classic.provides["models"] and "BPR" in neural.provides["models"]
    assert classic.entry_point == "classic = warprec_models_classic.plugin"
    assert model_registry.entry("ease").source == Source(
        "plugin", "warprec-models-classic", "0.3.0"
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
    with pytest.raises(RegistryError, match=r"It is provided by the plugin "
                       r"warprec-models-classic, which is installed but disabled"):
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


def test_plain_listing_shows_a_conflict_and_the_qualified_names(fake_dist, capsys) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-one", GOOD)
    fake_dist("acme-pop", """
        from warprec import hookimpl

        @hookimpl
        def warprec_register_models(register):
            register("pop", "acme_pop_target:Pop")
        """)
    code, out, _ = run_cli(capsys, "plugins", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("acme-pop "))
    assert " conflict " in line
    assert "model 'pop' (also from warprec-models-classic; write 'acme-pop:pop' or " \
           "'warprec-models-classic:Pop')" in line
    classic = next(line for line in out.splitlines() if line.startswith("warprec-models-classic"))
    assert " conflict " in classic and "also from acme-pop" in classic
    assert next(line for line in out.splitlines() if line.startswith("acme-one ")).split()[2] \
        == "ok"


def test_hook_calls_go_through_pluggy_and_are_traced(monkeypatch: pytest.MonkeyPatch,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WARPREC_TRACE_PLUGINS", "1")
    with plugins.host.isolated():
        plugins.pm.register(InProcess(), name="in-process")
        assert model_registry.entry("InProcessModel").source.name == "in-process"
    err = capfd.readouterr().err
    traced = [line for line in err.splitlines() if line.startswith("[warprec plugins]")]
    assert any(line.endswith("warprec_register_models [hook]") for line in traced), err
    assert "finish warprec_register_models --> [] [hook]" in err


def test_no_hook_implementation_is_called_by_hand() -> None:
    import warprec

    package = Path(warprec.__file__).parent  # as `grep -rn "impl.function"` reads it
    assert not [p for p in package.rglob("*.py") if re.search("impl.function", p.read_text())]


def test_a_disabled_plugin_is_blocked_in_pluggy(fake_dist, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "acme-good")
    fake_dist("acme-good", GOOD)
    assert by_name("acme-good").status == "disabled"
    assert plugins.pm.is_blocked("acme-good")


def test_a_fenced_plugin_loads_with_the_override_and_a_warning(
        fake_dist, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-old", GOOD, requires=["warprec-core>=0.1,<0.2"])
    assert by_name("acme-old").status == "incompatible"
    with plugins.host.isolated():
        monkeypatch.setenv("WARPREC_ALLOW_INCOMPATIBLE", "acme_old")
        code, out, err = run_cli(capsys, "plugins", "list")
        assert code == 0
        assert next(line for line in out.splitlines()
                    if line.startswith("acme-old")).split()[2] == "ok"
        assert model_registry.entry("OnlyGood").source.name == "acme-old"
    assert f"Warning: plugin acme-old needs warprec-core<0.2,>=0.1, installed " \
           f"{plugins.core_version()}; loaded anyway because WARPREC_ALLOW_INCOMPATIBLE " \
           "names it" in err
    with plugins.host.isolated():  # every command warns, not only the listing
        code, _, err = run_cli(capsys, "config", "schema")
        assert code == 0 and "Warning: plugin acme-old needs" in err


def test_a_plugin_command_is_listed_from_its_manifest_and_imported_when_run(
        fake_dist, capsys) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-cmd", """
        import click
        from warprec import hookimpl

        @click.command("acme-hello")
        def hello():
            \"\"\"Greet from the acme plugin.\"\"\"
            click.echo("hello from acme")

        @hookimpl
        def warprec_register_commands(register):
            register(hello)
        """)
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "acme-hello" in out and "Greet from the acme plugin." in out
    assert "acme_cmd_plugin" not in sys.modules
    code, out, _ = run_cli(capsys, "acme-hello")
    assert (code, out) == (0, "hello from acme\n")
    assert "acme_cmd_plugin" in sys.modules


def test_doctor_checks_only_the_named_plugins(fake_dist, capsys) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-good", GOOD.replace("acme_lazy_target", "collections"))
    fake_dist("acme-broken", "import not_a_real_module_xyz\n")
    code, out, _ = run_cli(capsys, "plugins", "doctor", "--no-smoke", "acme-good")
    assert code == 2 and "acme-broken" not in out
    assert out.startswith("acme-good 1.0.0: 2 problem(s) (2 checked)")  # collections:Dup...
    code, out, _ = run_cli(capsys, "plugins", "doctor", "acme-broken")
    assert code == 2 and out.startswith("acme-broken 1.0.0: 1 problem(s)")
    assert "not_a_real_module_xyz" in out
    code, _, err = run_cli(capsys, "plugins", "doctor", "acme-nope")
    assert code == 2 and "no installed plugin named 'acme-nope'" in err


def test_doctor_reports_deprecations(fake_dist, capsys, tmp_path: Path) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-old-style", GOOD.replace("acme_lazy_target", "acme_old_style_models"))
    (tmp_path / "site" / "acme_old_style_models.py").write_text(
        "import warnings\n"
        "from warprec.recommenders.base_recommender import Recommender\n"
        "warnings.warn('acme_old_style_models: use the new API', DeprecationWarning)\n"
        "class Dup(Recommender):\n    pass\n"
        "OnlyGood = Dup\n")
    code, out, _ = run_cli(capsys, "plugins", "doctor", "--no-smoke", "acme-old-style")
    assert code == 0  # a warning, not a problem
    assert "warning: deprecated: DeprecationWarning: acme_old_style_models: use the new API" \
        in out


IALS_HOOKS = """
from warprec import hookimpl

@hookimpl
def warprec_register_models(register):
    register("IALS", "acme_ials_models:IALS")
    {after}
"""
CONFIG = """
reader: {dataset: synthetic, dataset_params: {n_users: 30, n_items: 20, n_interactions: 200}}
evaluation: {top_k: [5], metrics: [nDCG]}
models: {IALS: {}}
"""


@pytest.mark.parametrize("failure", ["at import", "in its hook"])
@pytest.mark.parametrize("classic", ["installed", "disabled"])
def test_a_name_whose_provider_failed_is_refused_with_its_failure(
        fake_dist, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str,
        classic: str) -> None:
    from tests.cli_runner import run_cli

    if classic == "disabled":
        monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "warprec-models-classic")
    source = "raise ImportError('acme native library missing')\n" if failure == "at import" \
        else IALS_HOOKS.format(after="raise ImportError('acme native library missing')")
    fake_dist("acme-ials", source)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    code, _, err = run_cli(capsys, "run", str(config), "-o", str(tmp_path / "run"), "-q")
    assert code == 2 and not (tmp_path / "run").exists()
    line = err.strip().splitlines()[-1]
    assert line.startswith("Error: models.IALS: ") and line.endswith("."), line
    assert "acme-ials" in line and "acme native library missing" in line
    assert "warprec-models-classic:iALS" in line if classic == "installed" and \
        failure == "in its hook" else True
    assert "pip install" not in err
    assert "It is provided by" not in err or "acme-ials" in err.split("It is provided by")[1]


def test_an_unknown_model_gets_the_install_line_from_the_index(monkeypatch, capsys,
                                                               tmp_path: Path) -> None:
    from tests.cli_runner import run_cli

    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", "warprec-models-neural")
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.replace("IALS", "LightGCN"))
    with plugins.host.isolated():
        code, _, err = run_cli(capsys, "config", "check", str(config))
    assert code == 2
    assert err.strip().endswith("It is provided by the plugin warprec-models-neural, which is "
                                "installed but disabled (WARPREC_DISABLE_PLUGINS).")


def test_a_probe_that_died_is_believed_for_a_while_only(fake_dist,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from warprec._manifests import RETRY_SECONDS

    fake_dist("acme-dies", "import os\nos._exit(3)\n")
    assert "exited with status 3 while importing its entry point" in by_name("acme-dies").error
    with plugins.host.isolated():
        plugins.sync()
        assert plugins.host.manifests["acme-dies"].cached
    later = time.time() + RETRY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with plugins.host.isolated():
        plugins.sync()
        assert not plugins.host.manifests["acme-dies"].cached  # read again
        assert plugins.host.manifests["warprec-models-classic"].cached


def test_using_a_model_imports_only_its_plugin() -> None:
    code = (
        "import sys; from warprec.utils.registry import model_registry\n"
        "model_registry.get_class('Pop')\n"
        "print(sorted(m for m in sys.modules if m.startswith('warprec_models_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    imported = ast.literal_eval(out)
    assert "warprec_models_classic.plugin" in imported
    assert not [m for m in imported if m.startswith("warprec_models_neural")]


def test_doctor_warns_of_a_numeric_hyperparameter_without_a_domain(fake_dist, capsys,
                                                                    tmp_path: Path) -> None:
    from tests.cli_runner import run_cli

    fake_dist("acme-loose", GOOD.replace("acme_lazy_target", "acme_loose_models"))
    (tmp_path / "site" / "acme_loose_models.py").write_text(
        "from warprec.recommenders.base_recommender import Recommender\n"
        "class Dup(Recommender):\n    scale: float = 1.0\n"
        "OnlyGood = Dup\n")
    code, out, _ = run_cli(capsys, "plugins", "doctor", "--no-smoke", "acme-loose")
    assert code == 0, out
    assert "warning: model 'Dup': hyperparameter 'scale' is numeric without a domain" in out
