"""The installed plugin registers {{ cookiecutter.model_name }} with WarpRec, lazily."""

import subprocess
import sys

from warprec.utils.registry import model_registry

from {{ cookiecutter.package_name }}.{{ cookiecutter.model_module }} import {{ cookiecutter.model_name }}


def test_model_is_registered_by_this_plugin():
    entry = model_registry.entry("{{ cookiecutter.project_slug }}:{{ cookiecutter.model_name }}")
    assert entry.source.name == "{{ cookiecutter.project_slug }}"
    assert entry.load() is {{ cookiecutter.model_name }}


def test_hook_module_does_not_import_torch():
    # WarpRec imports the hook module on every start: it must stay light.
    code = "import sys, {{ cookiecutter.package_name }}.plugin; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
