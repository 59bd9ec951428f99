"""Do our splitters and filters keep the same rows as WarpRec 2.2.8's? (Run by hand.)

    .venv/bin/python bench/bench_split_parity.py --warprec-python /path/to/wr/bin/python

Needs WarpRec installed in a separate environment (``../shared/anchors/warprec.md``) and
MovieLens-100K (``bash ../shared/data/movielens-100k.sh``). Both sides split the same
table (file order, a ``row`` column naming each row); for every case the rows of each
part are compared as sets. Two levels per case:

- ``raw``: the strategy alone (WarpRec's ``Splitter.process_split``, our
  ``Splitter.split`` without validation);
- ``pipeline``: test split, validation split of the training part, then validation and
  test aligned on the final training part (WarpRec's ``split_transaction``; ours: the
  experiment's order of the two splitters and :func:`warprec.data.splitting.aligned`,
  what the Dataset keeps). For k-fold each fold's train/validation is compared.

Filters: each of WarpRec's filters alone on the table, ours under the name the config
maps it to; the kept rows are compared. Results are recorded in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

# Cases: (name, test spec, validation spec or None). Specs use WarpRec's config keys.
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("random_holdout 0.2 / 0.1", {"strategy": "random_holdout", "ratio": 0.2},
     {"strategy": "random_holdout", "ratio": 0.1}),
    ("random_holdout 0.2 seed 7", {"strategy": "random_holdout", "ratio": 0.2, "seed": 7},
     None),
    ("temporal_holdout 0.1 / 0.1", {"strategy": "temporal_holdout", "ratio": 0.1},
     {"strategy": "temporal_holdout", "ratio": 0.1}),
    ("temporal_holdout 0.2 / 0.3", {"strategy": "temporal_holdout", "ratio": 0.2},
     {"strategy": "temporal_holdout", "ratio": 0.3}),
    ("random_leave_k_out 1 / 1", {"strategy": "random_leave_k_out", "k": 1},
     {"strategy": "random_leave_k_out", "k": 1}),
    ("random_leave_k_out 30 / 5", {"strategy": "random_leave_k_out", "k": 30},
     {"strategy": "random_leave_k_out", "k": 5}),
    ("temporal_leave_k_out 1 / 1", {"strategy": "temporal_leave_k_out", "k": 1},
     {"strategy": "temporal_leave_k_out", "k": 1}),
    ("temporal_leave_k_out 25 / 3", {"strategy": "temporal_leave_k_out", "k": 25},
     {"strategy": "temporal_leave_k_out", "k": 3}),
    ("timestamp_slicing 888000000 / best", {"strategy": "timestamp_slicing",
                                            "timestamp": 888000000},
     {"strategy": "timestamp_slicing", "timestamp": "best"}),
    ("timestamp_slicing best / temporal_holdout 0.1",
     {"strategy": "timestamp_slicing", "timestamp": "best"},
     {"strategy": "temporal_holdout", "ratio": 0.1}),
    ("temporal_holdout 0.2 / k_fold 5", {"strategy": "temporal_holdout", "ratio": 0.2},
     {"strategy": "k_fold_cross_validation", "folds": 5}),
    ("item_cold_start 0.1", {"strategy": "item_cold_start", "ratio": 0.1}, None),
    ("user_cold_start 0.1", {"strategy": "user_cold_start", "ratio": 0.1}, None),
]

# Filters: (WarpRec name, its parameters, our registry name, our parameters).
FILTERS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("MinRating", {"min_rating": 4}, "MinRating", {"min_rating": 4}),
    ("UserMin", {"min_interactions": 50}, "UserMinInteractions", {"min_interactions": 50}),
    ("ItemMin", {"min_interactions": 20}, "ItemMinInteractions", {"min_interactions": 20}),
    ("IterativeKCore", {"min_interactions": 30}, "KCore", {"k": 30}),
    ("NRoundsKCore", {"rounds": 1, "min_interactions": 30}, "NRoundsKCore",
     {"rounds": 1, "min_interactions": 30}),
    ("UserMax", {"max_interactions": 100}, "UserMax", {"max_interactions": 100}),
    ("ItemMax", {"max_interactions": 200}, "ItemMax", {"max_interactions": 200}),
    ("UserAverage", {}, "UserAverage", {}),
    ("ItemAverage", {}, "ItemAverage", {}),
    ("UserHeadN", {"num_interactions": 20}, "UserHeadN", {"num_interactions": 20}),
    ("UserTailN", {"num_interactions": 20}, "UserTailN", {"num_interactions": 20}),
    ("DropUser", {"user_ids_to_filter": [1, 2, 3]}, "DropIds", {"users": [1, 2, 3]}),
    ("DropItem", {"item_ids_to_filter": [50, 100]}, "DropIds", {"items": [50, 100]}),
]

# Runs inside WarpRec's environment: reads the table and the cases, writes row lists.
WARPREC_SIDE = r"""
import json, sys
import narwhals as nw
import pandas as pd
from warprec.data.schema import SplitSpec
from warprec.data.splitting import Splitter

table = nw.from_native(pd.read_pickle(sys.argv[1]))  # WarpRec reads into pandas
cases = json.load(open(sys.argv[2]))
splitter = Splitter()
rows = lambda frame: sorted(frame.to_native()["row"].tolist())
out = {}
for name, test, validation in cases:
    raw = splitter.process_split(table, SplitSpec(**test))
    result = {"raw": [[rows(a), rows(b)] for a, b in raw]}
    if not test["strategy"].endswith("cold_start"):
        train, val, tst = splitter.split_transaction(
            table, test=SplitSpec(**test),
            validation=SplitSpec(**validation) if validation else None)
        if isinstance(val, list):
            result["pipeline"] = {"train": rows(train), "test": rows(tst),
                                  "folds": [[rows(a), rows(b)] for a, b in val]}
        else:
            result["pipeline"] = {"train": rows(train), "test": rows(tst),
                                  "validation": None if val is None else rows(val)}
    out[name] = result
from warprec.data import filtering
out["filters"] = {name: rows(getattr(filtering, name)(**params)(table))
                  for name, params, _, _ in json.load(open(sys.argv[4]))}
json.dump(out, open(sys.argv[3], "w"))
"""


def _ours(table: pd.DataFrame, spec: dict[str, Any]) -> Any:
    from warprec.data import splitting as s

    seed = spec.get("seed", 42)
    strategy = spec["strategy"]
    if strategy == "random_holdout":
        return s.RandomHoldout(spec["ratio"], seed=seed)
    if strategy == "temporal_holdout":
        return s.TemporalHoldout(spec["ratio"])
    if strategy == "random_leave_k_out":
        return s.RandomLeaveKOut(spec["k"], seed=seed)
    if strategy == "temporal_leave_k_out":
        return s.TemporalLeaveKOut(spec["k"])
    if strategy == "timestamp_slicing":
        return s.TimestampSlicing(test_timestamp=spec["timestamp"])
    if strategy == "k_fold_cross_validation":
        return s.KFold(spec["folds"], seed=seed)
    if strategy == "item_cold_start":
        return s.ItemColdStart(spec["ratio"], seed=seed)
    if strategy == "user_cold_start":
        return s.UserColdStart(spec["ratio"], seed=seed)
    raise ValueError(strategy)


def _rows(frame: pd.DataFrame) -> list[int]:
    return sorted(frame["row"].tolist())


def ours(table: pd.DataFrame, test: dict[str, Any], validation: dict[str, Any] | None
         ) -> dict[str, Any]:
    from warprec.data.splitting import KFold, aligned

    first = _ours(table, test).split(table)
    result: dict[str, Any] = {"raw": [[_rows(first.train), _rows(first.test)]]}
    if test["strategy"].endswith("cold_start"):
        return result
    train, tst = first.train, first.test
    if validation is None:
        result["pipeline"] = {"train": _rows(train), "test": _rows(aligned(train, tst)),
                              "validation": None}
    elif validation["strategy"] == "k_fold_cross_validation":
        folds = KFold(validation["folds"]).folds(train)
        result["pipeline"] = {"train": _rows(train), "test": _rows(aligned(train, tst)),
                              "folds": [[_rows(f.train), _rows(aligned(f.train, f.test))]
                                        for f in folds]}
    else:
        held = _ours(train, validation).split(train)
        result["pipeline"] = {"train": _rows(held.train),
                              "test": _rows(aligned(held.train, tst)),
                              "validation": _rows(aligned(held.train, held.test))}
    return result


def _compare(a: Any, b: Any, where: str, lines: list[str]) -> bool:
    if isinstance(a, dict):
        return all([_compare(a[k], b[k], f"{where}.{k}", lines) for k in a])
    if a is None or b is None:
        ok = a is b
    elif a and isinstance(a[0], list):
        if len(a) != len(b):
            lines.append(f"    {where}: ours {len(a)} parts, WarpRec {len(b)}")
            return False
        pairs = enumerate(zip(a, b, strict=True))
        return all([_compare(x, y, f"{where}[{i}]", lines) for i, (x, y) in pairs])
    else:
        ok = a == b
        if not ok:
            lines.append(f"    {where}: ours {len(a)} rows, WarpRec {len(b)}, "
                         f"{len(set(a) ^ set(b))} differ")
    return ok


def _sizes(result: dict[str, Any]) -> str:
    pipe = result.get("pipeline")
    train, test = result["raw"][0]
    raw = f"raw {len(train)}/{len(test)}"
    if pipe is None:
        return raw
    val = pipe.get("validation")
    folds = pipe.get("folds")
    middle = (f"{len(folds)} folds" if folds else
              "no validation" if val is None else f"validation {len(val)}")
    return f"{raw}; aligned: train {len(pipe['train'])}, {middle}, test {len(pipe['test'])}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warprec-python", required=True,
                        help="python of the environment WarpRec 2.2.8 is installed in")
    parser.add_argument("--data", default=None,
                        help="ml-100k.tsv (default: the movielens-100k.sh cache)")
    args = parser.parse_args()
    cache = Path(os.environ.get("WARPREC_DATA_CACHE", Path.home() / ".cache/warprec-data"))
    data = Path(args.data or cache / "ml-100k" / "ml-100k.tsv")
    if not data.is_file():
        sys.exit(f"{data}: not found; run `bash shared/data/movielens-100k.sh` or pass --data")
    table = pd.read_csv(data, sep="\t")
    table["row"] = range(len(table))
    with tempfile.TemporaryDirectory() as tmp:
        pickle, cases, out, filters = (os.path.join(tmp, n)
                                       for n in ("t.pkl", "c.json", "o.json", "f.json"))
        table.to_pickle(pickle)
        Path(cases).write_text(json.dumps(CASES))
        Path(filters).write_text(json.dumps(FILTERS))
        script = os.path.join(tmp, "warprec_side.py")
        Path(script).write_text(WARPREC_SIDE)
        subprocess.run([args.warprec_python, script, pickle, cases, out, filters], check=True,
                       stdout=subprocess.DEVNULL)
        theirs = json.loads(Path(out).read_text())
    all_ok = True
    print(f"MovieLens-100K, {len(table)} rows")
    for name, test, validation in CASES:
        mine = ours(table, test, validation)
        lines: list[str] = []
        ok = _compare(mine, theirs[name], "", lines)
        all_ok &= ok
        print(f"{'same rows' if ok else 'DIFFERENT':9}  {name:48} {_sizes(theirs[name])}")
        print("\n".join(lines)) if lines else None
    from warprec.utils.registry import filter_registry

    for name, _, ours_name, params in FILTERS:
        mine_rows = _rows(filter_registry.get(ours_name, **params)(table))
        ok = mine_rows == theirs["filters"][name]
        all_ok &= ok
        print(f"{'same rows' if ok else 'DIFFERENT':9}  filter {name:41} kept "
              f"{len(theirs['filters'][name])} (ours {len(mine_rows)})")
    # Negative control: this project's former random_holdout (per user) and rounding.
    from warprec.data.splitting import RandomHoldoutPerUser

    per_user = RandomHoldoutPerUser(0.2).split(table)
    lines = []
    same = _compare([[_rows(per_user.train), _rows(per_user.test)]],
                    theirs["random_holdout 0.2 / 0.1"]["raw"], "", lines)
    print(f"control: random_holdout_per_user 0.2 vs WarpRec's random_holdout 0.2: "
          f"{'same rows' if same else 'DIFFERENT'} (expected DIFFERENT)")
    print("\n".join(lines))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
