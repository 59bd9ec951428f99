"""Validate the answers before anything is written: cookiecutter renders this file with
the answers, runs it, and stops (writing nothing) when it exits with a non-zero status."""

import json
import keyword
import re
import sys

# The answers, as cookiecutter renders them into this file (JSON keeps any quote safe).
ANSWERS: dict[str, str] = json.loads(
    r"""{{ {
        "project_slug": cookiecutter.project_slug,
        "package_name": cookiecutter.package_name,
        "model_name": cookiecutter.model_name,
        "model_module": cookiecutter.model_module,
        "model_kind": cookiecutter.model_kind,
        "version": cookiecutter.version,
    }|tojson }}"""
)
KINDS = ("classic", "iterative", "plain", "features")
# PEP 508 distribution names and PEP 440 public versions (the common forms).
DISTRIBUTION = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


MAX_NAME = 100  # a file name (model_module.py) must stay well under the OS's 255 bytes


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be a Python module or class name, or None."""
    if len(value) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if not value.isidentifier():
        return "is not a Python identifier (letters, digits and '_', not starting with a digit)"
    if keyword.iskeyword(value):
        return "is a Python keyword"
    return None


def problems(answers: dict[str, str]) -> list[str]:
    """One line per invalid answer."""
    found = []
    if len(answers["project_slug"]) > MAX_NAME:
        found.append(f"project_slug is longer than {MAX_NAME} characters")
    elif not DISTRIBUTION.match(answers["project_slug"]):
        found.append(
            f"project_slug {answers['project_slug']!r} is not a valid distribution name "
            "(letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"
        )
    for key in ("package_name", "model_module", "model_name"):
        problem = identifier_problem(answers[key])
        if problem:
            value = answers[key]
            shown = value if len(value) <= 60 else value[:57] + "..."
            found.append(f"{key} {shown!r} {problem}")
    if answers["package_name"] != answers["package_name"].lower():
        found.append(f"package_name {answers['package_name']!r} must be lower case (PEP 8)")
    if answers["model_module"] == "plugin":
        found.append("model_module 'plugin' is taken by the hook module; choose another name")
    if answers["model_kind"] not in KINDS:
        found.append(f"model_kind {answers['model_kind']!r} must be one of {', '.join(KINDS)}")
    if not VERSION.match(answers["version"]):
        found.append(f"version {answers['version']!r} is not a PEP 440 version such as 0.1.0")
    return found


def official_clash(model_name: str) -> str | None:
    """The known plugin (warprec's shipped index) that already provides ``model_name``."""
    try:  # the template ships inside warprec-core, so it may read the core's own index
        from warprec._advice import known_plugins
    except ImportError:  # generating without warprec installed is fine
        return None
    wanted = model_name.lower()
    return next((dist for dist, kinds in known_plugins().items()
                 if wanted in (n.lower() for n in kinds.get("models", []))), None)


def main() -> int:
    """Print every invalid answer on stderr and return the exit status."""
    found = problems(ANSWERS)
    clash = official_clash(ANSWERS["model_name"])
    if clash and not found:
        print(
            f"Warning: {clash} also provides a model named {ANSWERS['model_name']!r}; with both "
            f"installed, configs must write '{ANSWERS['project_slug']}:{ANSWERS['model_name']}'",
            file=sys.stderr,
        )
    for line in found:
        print(f"Error: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
