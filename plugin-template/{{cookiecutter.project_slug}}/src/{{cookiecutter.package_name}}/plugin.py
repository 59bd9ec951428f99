"""The hook module WarpRec loads through the ``warprec`` entry point (see pyproject.toml).

Keep it light: WarpRec imports it on every start (``warprec plugins list`` included), so
it registers the model by a lazy ``"module:Class"`` reference and never imports torch or
the model module itself; the model module is imported the first time a config uses it.
"""

from warprec import hookimpl

MODELS = {
    "{{ cookiecutter.model_name }}": "{{ cookiecutter.package_name }}.{{ cookiecutter.model_module }}:{{ cookiecutter.model_name }}",
}


@hookimpl
def warprec_register_models(register):
    """Register every model of this plugin by name."""
    for name, reference in MODELS.items():
        register(name, reference)
