"""The experiment configuration: typed sections, WarpRec compatibility, search spaces.

The YAML layout follows WarpRec's for the part the two share, so a WarpRec config for
that part runs unchanged; WarpRec keys this project does not support are never silently
dropped (:mod:`.warprec_compat`). Every error names the key path, the bad value and what
was expected, in one line. Imports neither torch nor numpy.
"""

from warprec.config.load import Config, json_schema, load_config, model_params, parse_metric_name
from warprec.config.search_space import count_trials, expand, is_search_space
from warprec.config.sections import ExperimentConfig
from warprec.config.yaml_loader import YamlLoader

__all__ = [
    "Config",
    "ExperimentConfig",
    "YamlLoader",
    "count_trials",
    "expand",
    "is_search_space",
    "json_schema",
    "load_config",
    "model_params",
    "parse_metric_name",
]
