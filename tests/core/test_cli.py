"""The ``warprec`` command line: listing, versions, strict mode and errors."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli


def test_plugins_list_table(capsys, fresh_plugins: None) -> None:
    code, out, _ = run_cli(capsys, "plugins", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["plugin", "version", "status", "provides"]
    assert any(line.startswith("warprec-models-classic") and " ok " in line for line in lines)


def test_plugins_list_json_fields(capsys, fresh_plugins: None) -> None:
    code, out, _ = run_cli(capsys, "plugins", "list", "--json")
    data = {p["name"]: p for p in json.loads(out)}
    assert code == 0
    assert set(data["warprec-models-neural"]) == {
        "name",
        "version",
        "entry_point",
        "status",
        "error",
        "hooks",
        "provides",
        "conflicts",
        "load_seconds",
        "warning",  # why a fenced plugin is loaded anyway (WARPREC_ALLOW_INCOMPATIBLE)
    }
    from warprec_models_neural.plugin import MODELS

    assert data["warprec-models-neural"]["provides"]["models"] == list(MODELS)
    assert {"BPR", "MultVAE", "MultiVAE", "LightGCN", "SASRec"} <= set(MODELS)


def test_version_lists_core_and_plugins(capsys, fresh_plugins: None) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.splitlines()[0] == "warprec-core 0.3.0"
    assert "warprec-models-classic 0.3.0 (ok)" in out


def test_strict_flag_fails_with_one_line_error(capsys, fake_dist) -> None:
    fake_dist("acme-broken", "import not_there_at_all\n")
    code, _, err = run_cli(capsys, "--strict", "plugins", "list")
    assert code == 2
    assert err.startswith("Error: 1 plugin problem(s): plugin 'acme-broken': cannot load "
                          "entry point")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_broken_plugin_shown_with_its_error(capsys, fake_dist) -> None:
    fake_dist("acme-broken", "import not_there_at_all\n")
    code, out, _ = run_cli(capsys, "plugins", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("acme-broken"))
    assert "error" in line and "not_there_at_all" in line


@pytest.mark.parametrize("kind", ["metrics", "losses", "splitters", "filters", "datasets"])
def test_other_list_commands_show_core_builtins(capsys, kind: str) -> None:
    code, out, _ = run_cli(capsys, kind, "list", "--json")
    items = json.loads(out)
    assert code == 0 and items
    assert {i["source"] for i in items} == {"warprec-core"}


def test_models_list_json_has_every_official_model_with_its_source(capsys) -> None:
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    models = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    assert models["EASE"]["source"] == "warprec-models-classic"
    assert models["SASRec"]["source"] == "warprec-models-neural"
    assert "params" in models["EASE"]
