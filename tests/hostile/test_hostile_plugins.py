"""Bad plugins never take the CLI down, and their problems show where they matter: the
unknown-model error, run.log, ``plugins list`` and ``plugins doctor``."""

from __future__ import annotations

import json

import pytest
from hostile_helpers import World

OFFICIAL = "warprec-models-classic,warprec-models-neural"

MODEL = """
import torch
from warprec.recommenders.base_recommender import Recommender


class {name}(Recommender):
    def predict(self, user_indices, *args, item_indices=None, **kwargs):
        scores = torch.arange(self.n_items + {extra}, dtype=torch.float32).expand(
            len(user_indices), -1).clone()
        return scores if item_indices is None else scores.gather(1, item_indices)
"""


def hooks(models: dict[str, str]) -> str:
    lines = ["from warprec import hookimpl", "", "@hookimpl",
             "def warprec_register_models(register):"]
    lines += [f"    register({name!r}, {target!r})" for name, target in models.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def only_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Disable the official plugins (the doctor would smoke-check all their models)."""
    monkeypatch.setenv("WARPREC_DISABLE_PLUGINS", OFFICIAL)


@pytest.mark.parametrize(("source", "kind"), [
    ("import not_a_module_xyz\n", "ModuleNotFoundError"),
    ("def broken(:\n", "SyntaxError"),
    ("import sys\nsys.exit(3)\n", "SystemExit"),
    ("raise MemoryError('boom')\n", "MemoryError"),
    ("import os\nos.environ['X'] = 1\n", "TypeError"),
])
def test_a_plugin_that_cannot_load_never_takes_the_cli_down(cli, fake_dist, source: str,
                                                            kind: str) -> None:
    fake_dist("acme-broken", source)
    result = cli("plugins", "list", "--json")
    assert result.code == 0
    info = next(i for i in json.loads(result.out) if i["name"] == "acme-broken")
    assert info["status"] == "error" and kind in info["error"]
    assert cli("models", "list").code == 0


def test_an_unknown_model_names_the_plugins_that_failed(cli, fake_dist, world: World) -> None:
    fake_dist("acme-broken", "import not_a_module_xyz\n")
    result = cli("run", world.config({"AcmeModel": {}}), "-o", world.root / "run", "-q")
    line = result.error_line()
    assert result.code == 2 and "unknown model 'AcmeModel'" in line
    assert "It may be provided by a plugin that failed to load: acme-broken 1.0.0: cannot " \
           "load entry point" in line and line.endswith(".")
    assert "not_a_module_xyz" in line
    assert not (world.root / "run").exists()
    assert "acme-broken" in cli("config", "check", world.config({"AcmeModel": {}})).err


def test_run_log_records_a_failed_plugin(cli, fake_dist, world: World) -> None:
    fake_dist("acme-broken", "raise RuntimeError('half installed')\n")
    result = cli("run", world.config(), "-o", world.root / "run", "-q")
    assert result.code == 0
    log = (world.root / "run" / "run.log").read_text()
    assert "plugin acme-broken 1.0.0 is not loaded (error)" in log and "half installed" in log
    assert "Warning: plugin acme-broken" in result.err


@pytest.mark.parametrize(("name", "target", "problem"), [
    ("Tabbed\tName", "m:X", "control characters"),
    ("Line\nBreak", "m:X", "control characters"),
    ("Bad", "not a reference", "is not a 'package.module:Name' reference"),
    ("", "m:X", "without a usable name"),
])
def test_unusable_registrations_mark_the_plugin_error(cli, fake_dist, name: str, target: str,
                                                      problem: str) -> None:
    fake_dist("acme-odd", hooks({name: target}))
    info = next(i for i in json.loads(cli("plugins", "list", "--json").out)
                if i["name"] == "acme-odd")
    assert info["status"] == "error" and problem in info["error"]


def test_strict_reports_every_failing_plugin(cli, fake_dist, world: World) -> None:
    fake_dist("acme-one", "import nope_one\n")
    fake_dist("acme-two", "import nope_two\n")
    result = cli("--strict", "config", "check", world.config())
    line = result.error_line()
    assert result.code == 2 and "2 plugin problem(s)" in line
    assert "nope_one" in line and "nope_two" in line


def test_a_slow_plugin_gets_a_warning(cli, fake_dist, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    from warprec import plugins

    monkeypatch.setattr(plugins, "SLOW_SECONDS", 0.01)
    fake_dist("acme-slow", "import time\ntime.sleep(0.05)\n" + hooks({"Slow": "m:Slow"}))
    result = cli("plugins", "list")
    assert result.code == 0
    assert "Warning: plugin acme-slow took" in result.err and "to load" in result.err


def test_conflicts_are_listed(cli, fake_dist) -> None:
    fake_dist("acme-a", hooks({"Twin": "a_mod:Twin"}))
    fake_dist("acme-b", hooks({"Twin": "b_mod:Twin"}))
    infos = {i["name"]: i for i in json.loads(cli("plugins", "list", "--json").out)}
    assert infos["acme-a"]["status"] == "conflict"
    assert infos["acme-a"]["conflicts"] == [
        "model 'Twin' (also from acme-b; write 'acme-a:Twin' or 'acme-b:Twin')"]


def test_doctor_reports_every_problem_at_once(cli, fake_dist, only_fakes, tmp_path) -> None:
    site = tmp_path / "site"
    fake_dist("acme-models", hooks({"Good": "acme_models_impl:Good",
                                    "Wide": "acme_models_impl:Wide",
                                    "Ghost": "acme_missing_module:Ghost"}))
    (site / "acme_models_impl.py").write_text(MODEL.format(name="Good", extra=0)
                                              + MODEL.format(name="Wide", extra=1))
    fake_dist("acme-broken", "import nope_three\n")
    result = cli("plugins", "doctor")
    assert result.code == 2
    assert result.error_line() == ("Error: plugins doctor found 3 problem(s) in 2 plugin(s) "
                                   "(listed above)")
    out = result.out
    assert "acme-models 1.0.0: 2 problem(s) (3 checked)" in out
    assert "model 'Ghost': cannot be imported" in out and "acme_missing_module" in out
    assert "model 'Wide': breaks the model contract: predict_shapes: full predict has shape" \
        in out
    assert "acme-broken 1.0.0: 1 problem(s)" in out and "nope_three" in out
    assert "model 'Good'" not in out


def test_doctor_is_quiet_about_good_plugins(cli, fake_dist, only_fakes, tmp_path) -> None:
    fake_dist("acme-models", hooks({"Good": "acme_good_impl:Good"}))
    (tmp_path / "site" / "acme_good_impl.py").write_text(MODEL.format(name="Good", extra=0))
    result = cli("plugins", "doctor")
    assert result.code == 0, result.out + result.err
    assert "acme-models 1.0.0: OK (1 checked)" in result.out


def test_doctor_names_a_registered_object_of_the_wrong_kind(cli, fake_dist, only_fakes,
                                                            tmp_path) -> None:
    fake_dist("acme-kinds", hooks({"NotAModel": "acme_kinds_impl:NotAModel"}))
    (tmp_path / "site" / "acme_kinds_impl.py").write_text("class NotAModel:\n    pass\n")
    result = cli("plugins", "doctor", "--no-smoke")
    assert result.code == 2 and "is not a Recommender subclass" in result.out
