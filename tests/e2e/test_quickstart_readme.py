"""The README's quick start prints exactly the table the README shows."""

from __future__ import annotations

import re
from pathlib import Path

from warprec import run_experiment

ROOT = Path(__file__).parents[2]


def readme_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(model .*?)\n```", text, flags=re.S)
    assert len(blocks) == 1, "the README shows one results table"
    return blocks[0]


def test_quickstart_prints_the_readme_table(tmp_path: Path) -> None:
    results = run_experiment(ROOT / "examples" / "quickstart.yaml", tmp_path / "run",
                             quiet=True)
    assert results.table() == readme_table()
