"""``report.html``: one self-contained page about a finished run (``warprec report``).

Read from the run folder only (``results.json``, ``config.yaml``, ``per_user/``), so a
run can be reported any time after it ran. The page holds:

- the run's warnings (``results.json`` ``warnings``: capped threads or cut-offs, a
  significance test that could not run...);
- the test metrics, with a 95% confidence interval per metric (Student's t over the
  per-user values, when the run saved them: ``evaluation.save_per_user``);
- the significance tests the run computed (``evaluation.stat_significance``);
- a bar chart of the models on their validation metric;
- each iterative model's training curves (loss, and the validation metric per epoch
  when the run tracked it: ``writer.report`` or ``general.mlflow``);
- for searches, each varying hyperparameter against the validation metric.

Charts are matplotlib PNGs embedded as base64 ``data:`` URIs: the page needs no other
file and no network. Needs ``warprec-core[report]``.

A run folder is untrusted input (:mod:`warprec.reporting.run_folder`): ``results.json``
is validated, the files it names must lie in the folder, and every text from it is
rendered as text (HTML-escaped on the page, no math markup in the charts).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warprec.errors import WarpRecError
from warprec.reporting.run_folder import confined, read_results

__all__ = ["build_report", "confidence_interval", "write_report"]

REPORT_FILE = "report.html"
# Names from the run folder are text: "$" is not matplotlib's math markup there.
_TEXT = {"parse_math": False}
_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3",
           "#8C8C8C", "#CCB974", "#64B5CD"]


def write_report(run_dir: str | Path) -> Path:
    """Write ``<run_dir>/report.html`` (atomically; a previous report is replaced) and
    return its path."""
    from warprec.utils.files import atomic_path

    folder = Path(run_dir)
    page = build_report(folder)
    target = folder / REPORT_FILE
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def build_report(run_dir: str | Path) -> str:
    """The HTML of the report of the run in ``run_dir``."""
    folder = Path(run_dir)
    results = read_results(folder)
    _matplotlib()  # the one-line error naming the extra before any work
    try:
        return _page(folder, results)
    except RecursionError:
        raise WarpRecError(f"{folder / 'results.json'}: nested too deeply; expected the "
                           "results.json of a warprec run") from None


def _page(folder: Path, results: dict[str, Any]) -> str:
    models = results["models"]
    per_user = {m["model"]: _read_per_user(folder, m, f"models[{i}].per_user")
                for i, m in enumerate(models)}
    sections = [
        _warnings_section(results.get("warnings") or []),
        _test_section(models, per_user),
        _significance_section(results.get("significance") or []),
        _validation_section(models),
        _curves_section(models),
        _search_section(models),
        _models_section(models),
    ]
    title = f"WarpRec run {folder.name}"
    data = results.get("data") or {}
    facts = [f"status: {results.get('status', '?')}",
             *(f"{k.replace('_', ' ')}: {v:,}" for k, v in data.items()
               if isinstance(v, int) and not isinstance(v, bool))]
    body = "\n".join(s for s in sections if s)
    return _PAGE.format(title=html.escape(title), facts=html.escape(" · ".join(facts)),
                        folder=html.escape(str(folder.resolve())), body=body)


def confidence_interval(values: Sequence[float], level: float = 0.95
                        ) -> tuple[float, float, int]:
    """``(mean, half width, n)`` of the Student's t interval of the mean."""
    import numpy as np
    from scipy import stats

    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    n = int(array.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(array.mean())
    if n < 2:
        return mean, math.nan, n
    sem = float(array.std(ddof=1)) / math.sqrt(n)
    return mean, float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem, n


# -- sections -------------------------------------------------------------------------

def _test_section(models: list[dict[str, Any]], per_user: dict[str, Any]) -> str:
    metrics = _keys(m.get("test") for m in models)
    if not metrics:
        return "<h2>Test metrics</h2><p>No model finished.</p>"
    rows = []
    n_users = 0
    for model in models:
        test = model.get("test") or {}
        table = per_user.get(model["model"])
        cells = [f"<th>{html.escape(model['model'])}</th>"]
        for metric in metrics:
            value = test.get(metric)
            if value is None:
                cells.append(f"<td>{html.escape(model.get('status') or '-')}</td>")
                continue
            text = f"{value:.4f}"
            if table is not None and metric in table:
                _, half, n = confidence_interval(table[metric])
                n_users = max(n_users, n)
                if math.isfinite(half):
                    text += f"<br><span class=ci>± {half:.4f}</span>"
            cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if n_users:
        note = (f"± : half width of the 95% confidence interval of the mean (Student's t "
                f"over the per-user values of up to {n_users:,} test users, per_user/).")
    else:
        note = ("Per-user values were not saved: set evaluation.save_per_user: true for "
                "confidence intervals.")
    header = "".join(f"<th>{html.escape(m)}</th>" for m in ["model", *metrics])
    return (f"<h2>Test metrics</h2><table><tr>{header}</tr>{''.join(rows)}</table>"
            f"<p class=note>{html.escape(note)}</p>")


def _warnings_section(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<h2>Warnings</h2><ul class=note>{items}</ul>"


def _significance_section(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    corrections = _keys(r.get("p_adjusted") for r in rows)
    header = ["model A", "model B", "metric", "test", "statistic", "p-value",
              *(f"p ({c})" for c in corrections), "significant"]
    lines = []
    for row in rows:
        significant = row.get("significant") or {}
        verdict = ", ".join(k for k, v in significant.items() if v) or "no"
        cells = [row["model_a"], row["model_b"], row["metric"], row["test"],
                 _number(row.get("statistic")), _number(row.get("p_value")),
                 *(_number((row.get("p_adjusted") or {}).get(c)) for c in corrections),
                 verdict]
        lines.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                     + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return (f"<h2>Significance tests (test split, per user)</h2><table><tr>{head}</tr>"
            f"{''.join(lines)}</table><p class=note>'significant' lists the p-values "
            "(raw and corrected) below the configured alpha.</p>")


def _validation_section(models: list[dict[str, Any]]) -> str:
    bars = []
    for model in models:
        metric = model.get("validation_metric")
        scores = model.get("validation") or {}
        split = "validation"
        if not scores:
            scores, split = model.get("test") or {}, "test"
        if metric not in scores:
            metric = next(iter(scores), None)
        if metric is not None and scores[metric] is not None:
            bars.append((model["model"], metric, float(scores[metric]), split))
    if not bars:
        return ""
    figure = _figure(max(4.0, 1.1 * len(bars) + 2), 3.2)
    axes = figure.add_subplot()
    positions = range(len(bars))
    colors = [_COLORS[i % len(_COLORS)] for i in positions]
    drawn = axes.bar(list(positions), [b[2] for b in bars], color=colors)
    axes.bar_label(drawn, fmt="%.4f", fontsize=8)
    axes.set_xticks(list(positions), [b[0] for b in bars], **_TEXT)
    metrics = sorted({f"{b[1]} ({b[3]})" for b in bars})
    axes.set_ylabel(", ".join(metrics), **_TEXT)
    axes.set_title("Models on the validation metric")
    axes.margins(y=0.15)
    return f"<h2>Validation</h2>{_image(figure, 'models on the validation metric')}"


def _curves_section(models: list[dict[str, Any]]) -> str:
    images = []
    tracked = True
    for model in models:
        history = model.get("history") or {}
        losses = history.get("loss") or []
        if not losses:
            continue
        validation = history.get("validation") or []
        metric = model.get("validation_metric")
        if validation and metric not in validation[0]:
            metric = next((k for k in validation[0] if k != "epoch"), None)
        tracked = tracked and bool(validation)
        width = 9.0 if validation and metric else 4.8
        figure = _figure(width, 3.0)
        axes = figure.add_subplot(1, 2 if validation and metric else 1, 1)
        axes.plot(range(1, len(losses) + 1), losses, marker="o", markersize=3,
                  color=_COLORS[0])
        axes.set_xlabel("epoch")
        axes.set_ylabel("training loss")
        axes.set_title(f"{model['model']}: loss", **_TEXT)
        if validation and metric:
            right = figure.add_subplot(1, 2, 2)
            points = [(v["epoch"], v[metric]) for v in validation
                      if v.get("epoch") is not None and v.get(metric) is not None]
            right.plot([p[0] for p in points], [p[1] for p in points],
                       marker="o", markersize=3, color=_COLORS[1])
            right.set_xlabel("epoch")
            right.set_ylabel(f"{metric} (validation)", **_TEXT)
            right.set_title(f"{model['model']}: {metric}", **_TEXT)
        images.append(_image(figure, f"training curves of {model['model']}"))
    if not images:
        return ""
    note = ("" if tracked else "<p class=note>The validation metric per epoch is recorded "
            "when the run has writer.report: true or general.mlflow.</p>")
    return "<h2>Training curves</h2>" + "".join(images) + note


def _search_section(models: list[dict[str, Any]]) -> str:
    images = []
    for model in models:
        trials = [t for t in model.get("trials") or [] if t.get("validation")]
        metric = model.get("validation_metric") or next(
            iter(trials[0]["validation"]), None) if trials else None
        trials = [t for t in trials if t["validation"].get(metric) is not None]
        if len(trials) < 2 or metric is None:
            continue
        names = [n for n in _keys(t["params"] for t in trials)
                 if len({json.dumps(t["params"].get(n), sort_keys=True, default=str)
                         for t in trials}) > 1]
        if not names:
            continue
        figure = _figure(min(3.4 * len(names), 13.6), 3.0)
        for i, name in enumerate(names, start=1):
            axes = figure.add_subplot(1, len(names), i)
            values = [t["params"].get(name) for t in trials]
            scores = [t["validation"][metric] for t in trials]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                axes.scatter(values, scores, color=_COLORS[i % len(_COLORS)])
                if min(values) > 0 and max(values) / min(values) >= 100:
                    axes.set_xscale("log")
            else:
                labels = sorted({json.dumps(v, default=str) for v in values})
                where = [labels.index(json.dumps(v, default=str)) for v in values]
                axes.scatter(where, scores, color=_COLORS[i % len(_COLORS)])
                axes.set_xticks(range(len(labels)), [label.strip('"') for label in labels],
                               **_TEXT)
            axes.set_xlabel(name, **_TEXT)
            axes.set_ylabel(f"{metric} (validation)" if i == 1 else "", **_TEXT)
        figure.suptitle(f"{model['model']}: {len(trials)} trials", **_TEXT)
        images.append(_image(figure, f"search of {model['model']}"))
    if not images:
        return ""
    return "<h2>Hyperparameter search</h2>" + "".join(images)


def _models_section(models: list[dict[str, Any]]) -> str:
    rows = []
    for model in models:
        params = model.get("params") or {}
        text = ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in params.items())
        seconds = model.get("fit_seconds")
        provider = model.get("provider") or {}
        cells = [model["model"], model.get("status") or "?",
                 f"{provider.get('distribution', '')} {provider.get('version') or ''}".strip(),
                 str(len(model.get("trials") or [])) or "-",
                 "-" if seconds is None else f"{seconds:.2f}",
                 model.get("error") or text]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells[:-1])
                    + f"<td class=text>{html.escape(str(cells[-1]))}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ["model", "status", "provider", "trials",
                                             "fit (s)", "hyperparameters (best trial)"])
    return f"<h2>Models</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


# -- helpers ----------------------------------------------------------------------------

def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise WarpRecError("the report needs matplotlib, which is not installed; "
                           "pip install 'warprec-core[report]'") from None
    return matplotlib


def _figure(width: float, height: float) -> Any:
    # A bare Figure (no pyplot): no global state, no GUI backend, safe in any thread.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure


def _image(figure: Any, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _read_per_user(folder: Path, model: dict[str, Any], key: str) -> dict[str, Any] | None:
    relative = model.get("per_user")
    if not relative:
        return None
    path = confined(folder, relative, key)
    if not path.is_file():
        return None
    import pandas as pd

    from warprec.data.bounded import open_bounded

    with open_bounded(path) or open(path, "rb") as source:
        table = pd.read_csv(source, sep="\t")
    # A value that is not a number (an edited file) counts as missing.
    return {str(c): pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
            for c in table.columns if c != "user_id"}


def _keys(mappings: Any) -> list[str]:
    keys: list[str] = []
    for mapping in mappings:
        for key in mapping or {}:
            if key not in keys:
                keys.append(key)
    return keys


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; background: #fff; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
th:first-child, td:first-child, td.text {{ text-align: left; }}
td {{ white-space: nowrap; }}
td.text {{ white-space: normal; }}
tr:nth-child(even) td {{ background: #f6f8fa; }}
th {{ background: #eef2f7; }}
.ci {{ color: #666; font-size: 0.85em; }}
.note, .facts {{ color: #555; font-size: 0.85em; }}
img {{ display: block; max-width: 100%; margin: 0.6em 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="facts">{facts}<br>{folder}</p>
{body}
</body>
</html>
"""
