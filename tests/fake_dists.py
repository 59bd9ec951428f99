"""Fake installed distributions: what pip leaves on ``sys.path`` for a plugin."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_dist(site: Path, name: str, source: str = "", *, version: str = "1.0.0",
               requires: list[str] | None = None, entry_point: str = "plugin") -> Path:
    """A plugin installed in ``site`` as pip would: ``<module>.py`` (its hook module) and
    ``<name>-<version>.dist-info`` with METADATA and a ``warprec`` entry point."""
    module = name.replace("-", "_") + "_plugin"
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires or []]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    (info / "entry_points.txt").write_text(f"[warprec]\n{entry_point} = {module}\n")
    return info
