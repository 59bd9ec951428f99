"""Every WarpRec metric is registered under its name; listing them imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys

from warprec.evaluation.metrics import WARPREC_METRICS, Metric
from warprec.utils.registry import metric_registry

# WarpRec 2.2.8's registered metric names (src/warprec/evaluation/metrics/**).
WARPREC_NAMES = {
    "ACLT", "APLT", "ARP", "AUC", "BiasDisparityBD", "BiasDisparityBR", "BiasDisparityBS",
    "EFD", "EPC", "EucDistance", "F1", "GAUC", "Gini", "HitRate", "Hypervolume", "IPSDCG",
    "IPSRecall", "ItemCoverage", "ItemMADRanking", "ItemMADRating", "LAUC", "LogLoss", "MAE",
    "MAP", "MAR", "MRR", "MSE", "NumRetrieved", "PopREO", "PopRSP", "Precision", "REO",
    "RMSE", "RSP", "Recall", "SNIPSDCG", "SNIPSRecall", "SRecall", "ShannonEntropy",
    "UserCoverage", "UserCoverageAtN", "UserMADRanking", "UserMADRating", "nDCG",
    "nDCGRendle2020",
}  # fmt: skip


def test_every_warprec_metric_is_registered_under_its_name() -> None:
    assert len(WARPREC_NAMES) == 45
    assert {n for names in WARPREC_METRICS.values() for n in names} == WARPREC_NAMES
    for name in WARPREC_NAMES:
        entry = metric_registry.entry(name)
        assert entry.name == name
        cls = entry.load()
        assert issubclass(cls, Metric) and cls.__name__ == name
        assert cls.__doc__


def test_metrics_list_imports_no_torch() -> None:
    code = (
        "import json, sys\n"
        "from warprec.cli import main\n"
        "sys.argv = ['warprec', 'metrics', 'list', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "CLEAN", out.stderr
    names = {item["name"] for item in json.loads("\n".join(lines[:-1]))}
    assert names >= WARPREC_NAMES
