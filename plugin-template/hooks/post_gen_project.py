"""Tidy the generated package: cookiecutter runs this in the new project folder.

An installed template is compiled by pip like any other package data, so its folders can
hold ``__pycache__`` (bytecode of the *template* files); cookiecutter would copy them into
the new package. They are removed here, and so is the example side file of the
``features`` kind from the packages of the other kinds.
"""

import shutil
from pathlib import Path

for cache in sorted(Path.cwd().rglob("__pycache__"), reverse=True):
    shutil.rmtree(cache, ignore_errors=True)

if "{{ cookiecutter.model_kind }}" != "features":
    (Path.cwd() / "examples" / "items.tsv").unlink()
