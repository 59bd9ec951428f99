"""The experiment pipeline: plan, data, trials, outputs (see :mod:`.run`)."""

from warprec.experiment.outputs import ExperimentResults
from warprec.experiment.run import check_config, run_experiment

__all__ = ["ExperimentResults", "check_config", "run_experiment"]
