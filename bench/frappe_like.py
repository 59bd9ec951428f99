"""Write Frappe-style context data from MovieLens-100K timestamps (run by hand).

WarpRec's context config (``config/test_context.yml``) reads Frappe pre-split:
``train.csv`` and ``test.csv``, tab-separated (the config names no separator and
WarpRec's default is a tab), with ``user_id``, ``item_id``, ``rating`` and one 0/1
column per context value (``daytime_morning``, ``isweekend_weekend``, ...). Frappe is not here;
this builds the same layout from MovieLens-100K, deriving each rating's context from its
Unix timestamp (UTC):

- ``daytime_*``: Frappe's seven parts of the day, by hour: sunrise 5-7, morning 7-11,
  noon 11-13, afternoon 13-17, sunset 17-19, evening 19-23, night 23-5;
- ``isweekend_weekend`` / ``isweekend_workday``: Saturday and Sunday / the other days;
- ``weather_*`` and ``homework_*``: MovieLens has no such information: every row is
  ``weather_unknown`` and ``homework_unknown`` (the columns are kept so that the config
  runs unchanged; Frappe has "unknown" values too).

Rows are split per user, 80% train / 20% test at random (seed 42), as a pre-split
dataset. For research use only: the data stays in the output folder, never committed.

    .venv/bin/python bench/frappe_like.py OUT_FOLDER   # writes OUT/train.csv, OUT/test.csv
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_SCRIPT = ROOT.parent.parent / "shared" / "data" / "movielens-100k.sh"
DAYTIME = [("night", 0, 5), ("sunrise", 5, 7), ("morning", 7, 11), ("noon", 11, 13),
           ("afternoon", 13, 17), ("sunset", 17, 19), ("evening", 19, 23), ("night", 23, 24)]
WEATHER = ["cloudy", "drizzle", "foggy", "rainy", "snowy", "stormy", "sunny", "unknown"]
HOMEWORK = ["home", "unknown", "work"]


def movielens() -> pd.DataFrame:
    """MovieLens-100K's ratings (user_id, item_id, rating, timestamp)."""
    script = DATA_SCRIPT if DATA_SCRIPT.exists() else Path("/work/shared/data/movielens-100k.sh")
    folder = subprocess.run(["bash", str(script)], check=True, capture_output=True,
                            text=True).stdout.strip().splitlines()[-1]
    return pd.read_csv(Path(folder) / "ml-100k.tsv", sep="\t")


def one_hot_contexts(timestamps: pd.Series) -> pd.DataFrame:
    """Frappe's one-hot context columns of each Unix timestamp, sorted by name."""
    when = pd.to_datetime(timestamps, unit="s", utc=True)
    hours = when.dt.hour.to_numpy()
    columns: dict[str, np.ndarray] = {}
    for name, start, stop in DAYTIME:
        part = (hours >= start) & (hours < stop)
        columns[f"daytime_{name}"] = columns.get(f"daytime_{name}", 0) | part
    weekend = when.dt.day_of_week.to_numpy() >= 5
    columns["isweekend_weekend"], columns["isweekend_workday"] = weekend, ~weekend
    for value in WEATHER:
        columns[f"weather_{value}"] = np.full(len(hours), value == "unknown")
    for value in HOMEWORK:
        columns[f"homework_{value}"] = np.full(len(hours), value == "unknown")
    return pd.DataFrame({name: columns[name].astype(np.int64) for name in sorted(columns)},
                        index=timestamps.index)


def frappe_like(ratings: pd.DataFrame, test_share: float = 0.2, seed: int = 42
                ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """``(train, test)`` in Frappe's layout, split per user at random."""
    table = pd.concat([ratings[["user_id", "item_id", "rating"]],
                       one_hot_contexts(ratings["timestamp"])], axis=1)
    rng = np.random.default_rng(seed)
    key = rng.random(len(table))
    rank = pd.Series(key).groupby(table["user_id"].to_numpy()).rank(pct=True).to_numpy()
    test = rank > 1 - test_share
    return table[~test].reset_index(drop=True), table[test].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for train.csv and test.csv")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    train, test = frappe_like(movielens(), seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    train.to_csv(args.out / "train.csv", sep="\t", index=False)
    test.to_csv(args.out / "test.csv", sep="\t", index=False)
    print(f"{args.out}: {len(train)} train, {len(test)} test rows, "
          f"{train.shape[1] - 3} context columns")


if __name__ == "__main__":
    main()
