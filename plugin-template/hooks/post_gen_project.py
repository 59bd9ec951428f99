"""Tidy the generated package: cookiecutter runs this in the new project folder.

An installed template is compiled by pip like any other package data, so its folders can
hold ``__pycache__`` (bytecode of the *template* files); cookiecutter would copy them into
the new package. They are removed here.
"""

import shutil
from pathlib import Path

for cache in sorted(Path.cwd().rglob("__pycache__"), reverse=True):
    shutil.rmtree(cache, ignore_errors=True)
