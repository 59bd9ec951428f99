"""Build hook: ship the repository's ``plugin-template/`` inside warprec-core.

``warprec plugins new`` generates packages from ``warprec/_plugin_template``. The template
lives next to this package in the repository (``../plugin-template``), outside the project
folder, so a plain ``force-include`` would break the wheel built from the sdist (the sdist
has no ``..``). Instead:

- sdist from the checkout: the template is copied to ``src/warprec/_plugin_template``, so
  the sdist is self-contained;
- wheel from the checkout: the template is copied to ``warprec/_plugin_template``;
- wheel from the sdist: the template is already inside ``src/warprec`` and travels with
  the package; nothing to add.

``__pycache__`` folders are never copied (hatchling skips them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

IN_PACKAGE = "warprec/_plugin_template"


class PluginTemplateHook(BuildHookInterface):
    """Adds the plugin template to the sdist and the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Force-include ``../plugin-template`` when building from a checkout."""
        root = Path(self.root)
        checkout = root.parent / "plugin-template"
        shipped = root / "src" / IN_PACKAGE
        if self.target_name == "wheel" and version == "editable":
            return  # an editable install reads the checkout's template (warprec.cli)
        if (checkout / "cookiecutter.json").is_file():
            target = f"src/{IN_PACKAGE}" if self.target_name == "sdist" else IN_PACKAGE
            build_data["force_include"][str(checkout)] = target
        elif not (shipped / "cookiecutter.json").is_file():
            raise FileNotFoundError(
                f"plugin template not found: expected {checkout} (a checkout) or {shipped} "
                "(an sdist)"
            )
