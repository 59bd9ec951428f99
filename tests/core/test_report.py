"""The run report: per-user values, training curves, ``report.html`` (opened in headless
Chromium when it is installed), ``warprec report`` and the missing-extra errors."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from warprec import run_experiment
from warprec.errors import ConfigError
from warprec.experiment import check_config

from tests.cli_runner import run_cli

pytest.importorskip("matplotlib")  # warprec-core[report]
Image = pytest.importorskip("PIL.Image")  # matplotlib's own dependency


def tiny_config(**extra: Any) -> dict[str, Any]:
    """EASE searched over two l2 values, BPR for three epochs, Pop: a few seconds."""
    config = {
        "reader": {"dataset": "synthetic",
                   "dataset_params": {"n_users": 60, "n_items": 40, "n_interactions": 800}},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2},
                     "validation_splitting": {"strategy": "random_holdout", "ratio": 0.2}},
        "models": {"EASE": {"l2": [1.0, 50.0]},
                   "BPR": {"epochs": 3, "batch_size": 256, "embedding_size": 8},
                   "Pop": {}},
        "evaluation": {"top_k": [5], "metrics": ["nDCG", "Recall", "ItemCoverage"],
                       "validation_metric": "nDCG@5", "save_per_user": True,
                       "stat_significance": {"paired_t_test": True,
                                             "corrections": {"bonferroni": True}}},
        "writer": {"report": True},
    }
    for key, value in extra.items():
        section, _, name = key.partition("__")
        config.setdefault(section, {})[name] = value
    return config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    run_experiment(tiny_config(), out, quiet=True)
    return out


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")


def _decoded_images(page: str) -> list[Any]:
    parser = _Images()
    parser.feed(page)
    assert {"html", "table", "img"} <= parser.tags
    images = []
    for source in parser.sources:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)  # embedded: the page needs no other file
        image = Image.open(io.BytesIO(base64.b64decode(source[len(prefix):], validate=True)))
        image.load()
        images.append(image)
    return images


def _not_blank(image: Any) -> float:
    pixels = np.asarray(image.convert("L"), dtype=float)
    return float(pixels.std())


def test_per_user_values_are_written_and_match_the_means(run_dir: Path) -> None:
    results = json.loads((run_dir / "results.json").read_text())
    for entry in results["models"]:
        table = pd.read_csv(run_dir / entry["per_user"], sep="\t")
        assert entry["per_user"] == f"per_user/{entry['model']}.tsv"
        assert list(table.columns) == ["user_id", "nDCG@5", "Recall@5"]  # per-user only
        assert table["user_id"].is_unique and len(table) > 5
        for metric in ("nDCG@5", "Recall@5"):
            assert table[metric].mean() == pytest.approx(entry["test"][metric], abs=1e-6)


def test_training_curves_are_recorded(run_dir: Path) -> None:
    results = json.loads((run_dir / "results.json").read_text())
    bpr = next(m for m in results["models"] if m["model"] == "BPR")
    assert bpr["validation_metric"] == "nDCG@5"
    assert len(bpr["history"]["loss"]) == 3
    assert [v["epoch"] for v in bpr["history"]["validation"]] == [1, 2, 3]
    assert all(0 <= v["nDCG@5"] <= 1 for v in bpr["history"]["validation"])
    assert "history" not in next(m for m in results["models"] if m["model"] == "EASE")


def test_report_page_holds_every_part_with_decodable_images(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    images = _decoded_images(page)
    # validation bar chart, BPR's curves, EASE's search
    assert len(images) == 3
    assert all(_not_blank(image) > 5 for image in images)
    assert "confidence interval" in page and "±" in page
    assert "Significance tests" in page and "bonferroni" in page
    assert "Training curves" in page and "Hyperparameter search" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1000,1400",
                    f"--screenshot={shot}", (run_dir / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = Image.open(shot)
    assert image.size == (1000, 1400)
    gray = np.asarray(image.convert("L"), dtype=float)
    assert gray.std() > 20  # text, tables and charts, not a blank page
    assert (gray < 128).mean() > 0.01  # a visible share of dark pixels


def test_report_command_rewrites_the_page(run_dir: Path, capsys, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    code, out, _ = run_cli(capsys, "report", str(copy))
    assert code == 0 and out.strip() == f"Report written to {copy / 'report.html'}"
    assert len(_decoded_images((copy / "report.html").read_text())) == 3
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and err.startswith("Error: ") and "no results.json" in err


def test_report_without_per_user_values_or_matplotlib(run_dir: Path, capsys, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "per_user")
    code, _, _ = run_cli(capsys, "report", str(copy))
    page = (copy / "report.html").read_text()
    assert code == 0 and "save_per_user: true" in page and "±" not in page
    # A module set to None in sys.modules is how Python marks it unavailable.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run_cli(capsys, "report", str(copy))
    assert code == 2 and "pip install 'warprec-core[report]'" in err
    with pytest.raises(ConfigError, match=r"^writer\.report: needs matplotlib.*"
                                          r"warprec-core\[report\]"):
        check_config(tiny_config(), output=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_help_imports_neither_matplotlib_nor_mlflow() -> None:
    code = ("import sys; from warprec.cli import main\n"
            "try: main(['--help'])\n"
            "except SystemExit: pass\n"
            "print('IMPORTED', [m for m in ('matplotlib', 'mlflow', 'torch') "
            "if m in sys.modules], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "IMPORTED []" in out.stderr
