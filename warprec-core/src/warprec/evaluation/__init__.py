"""Evaluation: ranking metrics (:mod:`.metrics`, registry-fed), the batched
:class:`Evaluator` (full and sampled ranking) and paired significance tests."""

from warprec.evaluation.evaluator import EvaluationResult, Evaluator
from warprec.evaluation.significance import paired_test

__all__ = ["EvaluationResult", "Evaluator", "paired_test"]
