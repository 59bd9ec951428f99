"""Every hookspec: documented, and what a plugin registers through it lands where it should."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from warprec import hookimpl, hookspecs, plugins
from warprec.cli import cli
from warprec.utils.registry import registries

KINDS = ["models", "metrics", "losses", "splitters", "filters", "datasets", "commands"]


@click.command("hello")
def hello() -> None:
    """Say hello from a plugin."""
    click.echo("hello from a plugin")


class EveryHook:
    @hookimpl
    def warprec_register_models(self, register):
        register("HookModel", "collections:OrderedDict")

    @hookimpl
    def warprec_register_metrics(self, register):
        register("HookMetric", "collections:Counter")

    @hookimpl
    def warprec_register_losses(self, register):
        register("HookLoss", "collections:deque")

    @hookimpl
    def warprec_register_splitters(self, register):
        register("HookSplitter", "collections:ChainMap")

    @hookimpl
    def warprec_register_filters(self, register):
        register("HookFilter", "collections:UserDict")

    @hookimpl
    def warprec_register_datasets(self, register):
        register("hook-dataset", "collections:UserList")

    @hookimpl
    def warprec_register_commands(self, register):
        register(hello)


@pytest.fixture
def every_hook(fresh_plugins: None):
    plugins.pm.register(EveryHook(), name="every-hook")
    yield
    plugins.pm.unregister(name="every-hook")


def test_hookspecs_are_exactly_one_per_kind_with_one_line_docstrings() -> None:
    specs = sorted(n for n in dir(hookspecs) if n.startswith("warprec_"))
    assert specs == sorted(f"warprec_register_{k}" for k in KINDS)
    for name in specs:
        doc = getattr(hookspecs, name).__doc__
        assert doc and "\n" not in doc.strip(), name
    assert set(registries) == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("models", "HookModel", "OrderedDict"),
        ("metrics", "hookmetric", "Counter"),
        ("losses", "HookLoss", "deque"),
        ("splitters", "HookSplitter", "ChainMap"),
        ("filters", "HookFilter", "UserDict"),
        ("datasets", "HOOK-DATASET", "UserList"),
    ],
)
def test_each_hook_feeds_its_registry(
    every_hook: None, kind: str, name: str, expected: str
) -> None:
    entry = registries[kind].entry(name)
    assert entry.source.name == "every-hook"
    assert entry.load().__name__ == expected


def test_command_hook_adds_a_cli_command(every_hook: None) -> None:
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"
    assert "hello" in CliRunner().invoke(cli, ["--help"]).output
    info = next(i for i in plugins.list_plugins() if i.name == "every-hook")
    assert info.provides["commands"] == ["hello"]
    assert len(info.hooks) == len(KINDS)
