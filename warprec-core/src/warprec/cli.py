"""The ``warprec`` command line.

Start-up stays light: this module imports click and the plugin manager only; commands
that need torch import what they need when they run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from warprec import plugins
from warprec.errors import WarpRecError
from warprec.utils.checks import shorten
from warprec.utils.registry import Entry, command_registry, registries

POST_RUN_FAILED = 3
"""Exit status of a run whose results are complete but whose report or MLflow logging
failed."""

__all__ = ["cli", "main"]


class _Escaped(Exception):
    """Carries an EOFError or KeyboardInterrupt past click, which would turn either into
    a bare "Aborted!" (a truncated archive is no Ctrl-C; SIGTERM has its own status)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class PluginGroup(click.Group):
    """A click group that also offers the commands plugins register."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (EOFError, KeyboardInterrupt) as exc:
            raise _Escaped(exc) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | {e.name for e in _plugin_commands()}
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in command, else a plugin's: the plugin is imported only now."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry = next((e for e in _plugin_commands() if e.name == cmd_name), None)
        return entry.load() if entry is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help's command list; a plugin's commands with the short help its manifest
        recorded (listing them imports no plugin)."""
        rows = []
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        for entry in _plugin_commands():
            described = plugins.host.description("commands", entry) or {}
            rows.append((entry.name, described.get("help") or f"(from {entry.source.name})"))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


def _plugin_commands() -> list[Entry]:
    try:
        return command_registry.entries()
    except WarpRecError:
        return []


def _versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"warprec-core {plugins.core_version()}")
    for info in plugins.list_plugins():
        click.echo(f"{info.name} {info.version or '?'} ({info.status})")
    ctx.exit()


@click.group(cls=PluginGroup)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_versions,
    help="Show the versions of the core and of every plugin, and exit.",
)
@click.option(
    "--strict",
    is_flag=True,
    default=None,
    help="Fail on any plugin that cannot be loaded (also WARPREC_STRICT_PLUGINS=1).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of errors.")
@click.pass_context
def cli(ctx: click.Context, strict: bool | None, debug: bool) -> None:
    """WarpRec: run recommender-system experiments and manage plugins."""
    ctx.ensure_object(dict)["debug"] = debug
    if strict:
        plugins.set_strict(True)
    plugins.host.discover()  # metadata only: the warnings of fenced plugins, every command


@cli.group("plugins")
def plugins_group() -> None:
    """Installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def plugins_list(as_json: bool) -> None:
    """List installed plugins: version, status, hooks and what they provide."""
    infos = plugins.list_plugins()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    rows = [(i.name, i.version or "?", i.status, _plugin_note(i)) for i in infos]
    _table(("plugin", "version", "status", "provides"), rows, empty="no plugins installed")
    for info in infos:
        if info.load_seconds is not None and info.load_seconds > plugins.SLOW_SECONDS:
            click.echo(f"Warning: plugin {info.name} took {info.load_seconds:.2f} s to load "
                       f"(more than {plugins.SLOW_SECONDS} s): every command that uses it "
                       "waits for it", err=True)


def _plugin_note(info: plugins.PluginInfo) -> str:
    """The last column of ``plugins list``: what a plugin provides, or its problem."""
    provides = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.provides.items())
    if info.status == "conflict":
        return "conflicts: " + "; ".join(info.conflicts) + (f" | {provides}" if provides else "")
    return provides or (info.error or "")


@plugins_group.command("doctor")
@click.argument("names", nargs=-1)
@click.option("--no-smoke", is_flag=True, help="Only import and type-check (no model checks).")
@click.option("--smoke-all", is_flag=True,
              help="Smoke-check the official packages' models too (their releases run the "
                   "conformance kit on them).")
def plugins_doctor(names: tuple[str, ...], no_smoke: bool, smoke_all: bool) -> None:
    """Check the plugins NAMES (default: all): read them again if they failed, import
    everything they register, smoke-check their models, and report every problem at
    once (exit status 2 when there is any)."""
    from warprec.plugin_doctor import diagnose

    results = diagnose(list(names) or None, smoke=not no_smoke, smoke_kit_tested=smoke_all)
    if not results:
        click.echo("no plugins installed")
        return
    problems = 0
    for diagnosis in results:
        state = "disabled" if diagnosis.status == "disabled" else \
            ("OK" if not diagnosis.problems else f"{len(diagnosis.problems)} problem(s)")
        click.echo(f"{diagnosis.plugin} {diagnosis.version or '?'}: {state} "
                   f"({len(diagnosis.checked)} checked)")
        for problem in diagnosis.problems:
            click.echo(f"  - {problem}")
        for warning in diagnosis.warnings:
            click.echo(f"  - warning: {warning}")
        problems += len(diagnosis.problems)
    if problems:
        raise WarpRecError(f"plugins doctor found {problems} problem(s) in "
                           f"{sum(bool(d.problems) for d in results)} plugin(s) (listed above)")


@plugins_group.command("new")
@click.option("--output-dir", "-o", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to create the package in.")
@click.option("--no-input", is_flag=True, help="Do not prompt: use the defaults and --set.")
@click.option("--set", "answers", multiple=True, metavar="KEY=VALUE",
              help="Answer a template question, e.g. --set model_kind=iterative (repeatable).")
@click.option("--template", help="Template folder, zip or repository (default: the bundled one).")
def plugins_new(output_dir: str, no_input: bool, answers: tuple[str, ...],
                template: str | None) -> None:
    """Create a plugin package (model, tests, CI) from the cookiecutter template."""
    try:  # an optional extra: warprec-core[template]
        from cookiecutter.exceptions import CookiecutterException, FailedHookException
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise WarpRecError(
            "'warprec plugins new' needs cookiecutter: pip install 'warprec-core[template]'"
        ) from None
    import logging

    # The hook prints its own one-line errors; keep cookiecutter's traceback log quiet.
    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())
    context = dict(_key_value(a) for a in answers)
    source = template or _bundled_template()
    _check_questions(source, context)
    try:
        path = cookiecutter(source, no_input=no_input, extra_context=context,
                            output_dir=output_dir)
    except FailedHookException:
        raise WarpRecError("the template rejected the answers (see above)") from None
    except (CookiecutterException, ValueError) as exc:
        reason = " ".join(str(exc).removeprefix("Error: ").split())  # one line
        raise WarpRecError(f"cannot create the plugin: {reason}") from None
    except OSError as exc:  # an output folder under a file, a full disk...
        where = f"{exc.filename}: " if exc.filename else ""
        raise WarpRecError(f"cannot create the plugin in {output_dir}: {where}"
                           f"{exc.strerror or shorten(str(exc), 200)}") from None
    click.echo(f"Created {path}\nNext: cd {path} && pip install -e '.[test]' && python -m pytest")


def _key_value(answer: str) -> tuple[str, str]:
    key, sep, value = answer.partition("=")
    if not sep or not key.strip():
        raise WarpRecError(f"--set {answer!r}: expected KEY=VALUE, e.g. model_name=MyModel")
    if any(mark in value for mark in ("{{", "{%", "{#")):
        # cookiecutter renders answers as Jinja templates, which can run code.
        raise WarpRecError(f"--set {key.strip()}: {shorten(value, 80)!r} holds template "
                           "markup ('{{', '{%' or '{#'); expected plain text")
    return key.strip(), value


def _check_questions(template: str, context: dict[str, str]) -> None:
    """Refuse ``--set`` keys the template does not ask (cookiecutter ignores them silently).

    Only a template folder can be read beforehand; a zip or repository is checked by
    cookiecutter alone.
    """
    from pathlib import Path

    try:
        questions = json.loads((Path(template) / "cookiecutter.json").read_text("utf-8"))
    except (OSError, ValueError):
        return
    # Keys starting with "_" are cookiecutter settings, not questions.
    valid = [key for key in questions if not key.startswith("_")]
    for key in context:
        if key not in valid:
            import difflib

            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise WarpRecError(f"--set {key!r}: the template has no such question{hint} "
                               f"(valid keys: {', '.join(valid)})")


def _bundled_template() -> str:
    """The template shipped in the wheel, else the source checkout's plugin-template/."""
    from importlib.resources import files
    from pathlib import Path

    package = Path(str(files("warprec")))
    for candidate in (package / "_plugin_template", package.parents[2] / "plugin-template"):
        if (candidate / "cookiecutter.json").is_file():
            return str(candidate)
    raise WarpRecError("the plugin template is not installed with this warprec-core; "
                       "pass --template (a folder, zip or repository URL)")


def _list_command(kind: str) -> click.Command:
    registry = registries[kind]

    @click.command("list", help=f"List the registered {kind} and where each comes from.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
    def list_entries(as_json: bool) -> None:
        entries = registry.entries()
        details = [_describe(e) if kind == "models" else {} for e in entries]
        if as_json:
            items = [
                {
                    "name": e.name,
                    "source": e.source.name,
                    "version": e.source.version,
                    "reference": e.reference,
                    **d,
                }
                for e, d in zip(entries, details, strict=True)
            ]
            click.echo(json.dumps(items, indent=2))
            return
        rows = [
            (
                e.name,
                str(e.source),
                _format_params(d.get("params")) if kind == "models" else e.reference,
            )
            for e, d in zip(entries, details, strict=True)
        ]
        header = "hyperparameters" if kind == "models" else "reference"
        _table((kind[:-1], "source", header), rows, empty=f"no {kind} registered")

    return list_entries


def _describe(entry: Entry) -> dict[str, Any]:
    """The hyperparameters of a model: from its plugin's manifest (listing imports no
    plugin and no torch), else, registered in this process, from the class."""
    described = plugins.host.description("models", entry)
    if described is not None:
        return {"params": described.get("params"),
                **({"error": described["error"]} if "error" in described else {})}
    try:
        from warprec.recommenders.hyperparameters import describe_hyperparameters

        return {"params": describe_hyperparameters(entry.load())}
    except Exception as exc:
        return {"params": None, "error": str(exc)}


@click.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def models_show(name: str, as_json: bool) -> None:
    """Describe model NAME: where it comes from, what it is, and every hyperparameter
    with its type, domain, default and documentation (from its plugin's cached manifest,
    like models list; a model registered in this process is imported)."""
    from warprec.utils.registry import model_registry

    entry = model_registry.entry(name)
    described = plugins.host.description("models", entry) or {}
    if "params" in described and "doc" in described:
        params, doc = described["params"], described["doc"]
    else:
        import inspect

        from warprec.recommenders.hyperparameters import describe_hyperparameters

        cls = entry.load()  # an unusable model: one line naming it and its plugin
        params, doc = describe_hyperparameters(cls), inspect.cleandoc(cls.__doc__ or "")
    if as_json:
        click.echo(json.dumps({"name": entry.name, "source": entry.source.name,
                               "version": entry.source.version, "reference": entry.reference,
                               "doc": doc, "params": params}, indent=2, default=repr))
        return
    click.echo(f"{entry.name} ({entry.source}): {entry.reference}")
    if doc:
        click.echo("\n" + doc)
    click.echo("")
    rows = [(n, p["type"] + (NO_DOMAIN if p.get("no_domain") else ""),
             repr(p["default"]) if "default" in p else "(required)", p["doc"])
            for n, p in params.items()]
    _table(("hyperparameter", "type and domain", "default", "doc"), rows,
           empty="no hyperparameters")


def _format_params(params: dict[str, Any] | None) -> str:
    if params is None:
        return "(cannot be loaded)"
    return ", ".join(
        f"{n}: {p['type']}" + (NO_DOMAIN if p.get("no_domain") else "")
        + (f" = {p['default']!r}" if "default" in p else "")
        for n, p in params.items()
    )


# How a numeric hyperparameter without a declared domain is marked in listings.
NO_DOMAIN = " (no domain!)"


for _kind in ["models", "metrics", "losses", "splitters", "filters", "datasets"]:
    cli.add_command(
        click.Group(_kind, help=f"Registered {_kind}.",
                    commands=[_list_command(_kind), *([models_show] if _kind == "models"
                                                      else [])])
    )


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, empty: str) -> None:
    if not rows:
        click.echo(empty)
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, str(row[-1])]).rstrip())


@cli.command("run")
@click.argument("config_file", type=click.Path(readable=False))
@click.option("--output", "-o", type=click.Path(readable=False),
              help="Write the run into this folder (it must be empty or absent).")
@click.option("--device", help="Override general.device (cpu, cuda, cuda:N, auto).")
@click.option("--seed", type=int, help="Override general.seed.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the results table.")
def run_command(config_file: str, output: str | None, device: str | None,
                seed: int | None, quiet: bool) -> None:
    """Run the experiment CONFIG_FILE describes: print the results table, write the run."""
    from warprec.experiment import run_experiment

    overrides = {k: v for k, v in (("general.device", device), ("general.seed", seed))
                 if v is not None}
    results = run_experiment(config_file, output, overrides=overrides, quiet=quiet)
    click.echo(results.table())
    if not quiet:
        click.echo(f"\nResults written to {results.path}", err=True)
    if results.data.get("post_run_failures"):  # the report or MLflow (warned above)
        raise click.exceptions.Exit(POST_RUN_FAILED)


@cli.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
def report_command(run_dir: str) -> None:
    """Write RUN_DIR/report.html: one self-contained page with the metrics (confidence
    intervals, significance tests), charts of the models, training curves and searches
    (needs warprec-core[report])."""
    from warprec.reporting.page import write_report

    click.echo(f"Report written to {write_report(run_dir)}")


@cli.group("config")
def config_group() -> None:
    """Experiment configuration files."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration (for editor completion)."""
    from warprec.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@config_group.command("check")
@click.argument("config_file", type=click.Path(readable=False))
@click.option("--data", "read_data", is_flag=True,
              help="Also read, filter and split the data and validate it.")
@click.option("--output", "-o", type=click.Path(readable=False),
              help="Check this run folder as warprec run --output would.")
def config_check(config_file: str, read_data: bool, output: str | None) -> None:
    """Plan CONFIG_FILE as warprec run would, without training or writing anything
    (custom modules are imported)."""
    from warprec.experiment import check_config

    plan = check_config(config_file, output=output, read_data=read_data)
    for warning in plan.warnings:
        click.echo(f"Warning: {warning}", err=True)
    counts = ", ".join(f"{name}: {len(m.trials)} trial{'s' * (len(m.trials) != 1)}"
                       for name, m in plan.models.items())
    click.echo(f"{config_file}: OK ({counts})")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    User errors (config, data, file system, plugins) and exhausted resources (memory)
    become one ``Error:`` line with exit status 2, unexpected failures (bugs) one line
    with status 1 (``--debug`` shows the traceback); a run whose results are complete
    but whose report or MLflow logging failed exits 3 (:data:`POST_RUN_FAILED`, after a
    warning); Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129 (128 + the signal).
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        try:
            status = cli.main(args=argv, prog_name="warprec", standalone_mode=False)
        except _Escaped as escaped:
            raise escaped.original from None
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", 2)
        name = {2: "Ctrl-C"}.get(signum, str(exc) or f"signal {signum}")
        click.echo(f"Aborted ({name}).", err=True)
        sys.exit(128 + signum)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except WarpRecError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except MemoryError as exc:
        if debug:
            raise
        click.echo(f"Error: out of memory ({shorten(str(exc) or 'MemoryError', 200)}); "
                   "expected smaller data or hyperparameters, or a higher memory limit",
                   err=True)
        sys.exit(2)
    except OSError as exc:
        if debug:
            raise
        if exc.filename is None:  # no file to name: not a file-system error of the user's
            _unexpected(exc)
        click.echo(f"Error: {exc.filename}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if debug:
            raise
        _unexpected(exc)
    sys.exit(status if isinstance(status, int) else 0)


def _unexpected(exc: BaseException) -> None:
    """A bug (ours or a plugin's): one line, status 1."""
    hint = "(run with --debug for the traceback)"
    message = shorten(str(exc), 300)
    click.echo(f"Error: unexpected {type(exc).__name__}: {message} {hint}", err=True)
    sys.exit(1)
