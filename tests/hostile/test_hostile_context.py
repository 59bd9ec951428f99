"""Hostile context columns (``reader.labels.context_labels``, ``reader.dtypes``): each is
one ``Error:`` line (exit 2) naming the file, the column and the line, and nothing is
written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import World
from hostile_helpers import refused_before_run as refused

HEADER = "user_id,item_id,rating,daytime,weekend\n"


def split_rows(users: range) -> str:
    return "".join(f"{u},{(u + j) % 10},{1 + j % 5},{['am', 'pm'][j % 2]},{j % 2}\n"
                   for u in users for j in range(6))


def context_config(world: World, train: str | None = None, *, labels: list[str] | None = None,
                   types: dict[str, str] | None = None, **dtypes: object) -> Path:
    """A pre-split run (train.csv, test.csv) with context columns daytime and weekend."""
    data = world.root / "data"
    data.mkdir(exist_ok=True)
    (data / "train.csv").write_text(train if train is not None else HEADER + split_rows(range(12)))
    (data / "test.csv").write_text(HEADER + "0,9,4,am,1\n1,0,3,pm,0\n")
    reader: dict[str, object] = {
        "dataset": None, "dataset_params": None, "loading_strategy": "split",
        "rating_type": "explicit", "split": {"local_path": "data", "ext": ".csv"},
        "labels": {"context_labels": labels if labels is not None else ["daytime", "weekend"]}}
    if types is not None or dtypes:
        reader["dtypes"] = {"context_types": types or {}, **dtypes}
    return world.config(reader=reader, evaluation={"top_k": [5], "metrics": ["nDCG"],
                                                   "strategy": "sampled", "num_negatives": 3})


def train_with(line: str) -> str:
    """The training file with ``line`` as its 8th data line (line 9 of the file)."""
    lines = split_rows(range(12)).splitlines(keepends=True)
    return HEADER + "".join(lines[:7]) + line + "".join(lines[7:])


BAD_CONTEXTS = {
    "label not in the file": (dict(labels=["daytime", "weather"]),
                              ["train.csv", "missing context column 'weather'",
                               "context_labels"]),
    "missing value": (dict(train=train_with("3,4,5,,1\n")),
                      ["train.csv, line 9", "empty value in context column 'daytime'"]),
    "text where an integer type is declared": (
        dict(train=train_with("3,4,5,am,yes\n"), types={"weekend": "int32"}),
        ["train.csv, line 9", "context column 'weekend' has 'yes'", "expected an integer",
         "int32"]),
    "a fractional number": (dict(train=train_with("3,4,5,am,0.5\n")),
                            ["train.csv, line 9", "context column 'weekend' has 0.5",
                             "float context fields are not supported"]),
}


@pytest.mark.parametrize("case", list(BAD_CONTEXTS))
def test_a_bad_context_column_is_one_line(cli, world: World, case: str) -> None:
    options, fragments = BAD_CONTEXTS[case]
    refused(cli, world, context_config(world, **options), *fragments)


BAD_KEYS = {
    "a type for an unknown column": (dict(types={"weather": "str"}),
                                     ["reader.dtypes.context_types.weather",
                                      "not a context column", "daytime, weekend"]),
    "a float type": (dict(types={"weekend": "float32"}),
                     ["reader.dtypes.context_types.weekend", "'float32'", "'int64', 'str'"]),
    "a core column as context": (dict(labels=["daytime", "rating"]),
                                 ["reader.labels.context_labels", "'rating' is already"]),
    "multi-valued context": (dict(context_separators={"daytime": "|"}),
                             ["reader.dtypes.context_separators", "not supported"]),
}


@pytest.mark.parametrize("case", list(BAD_KEYS))
def test_a_bad_context_key_is_one_line(cli, world: World, case: str) -> None:
    options, fragments = BAD_KEYS[case]
    refused(cli, world, context_config(world, **options), *fragments)


def test_recommendations_of_a_context_model_are_refused(cli, world: World) -> None:
    # WarpRec refuses them too: a recommendation file carries no context to score under.
    module = world.module("""
        from typing import Any
        import torch
        from warprec.recommenders.base_recommender import Recommender
        from warprec.utils.registry import model_registry

        @model_registry.register(name="ContextPop")
        class ContextPop(Recommender):
            uses_context = True

            def predict(self, user_indices: Any, *args: Any, item_indices: Any = None,
                        context: Any = None, **kwargs: Any) -> torch.Tensor:
                shape = (len(user_indices), self.n_items) if item_indices is None \\
                    else tuple(item_indices.shape)
                return torch.zeros(shape)
    """)
    config = context_config(world)
    text = config.read_text().replace("models:\n  Pop: {}\n", "models:\n  ContextPop:\n"
                                      "    meta: {save_recs: true}\n")
    config.write_text(text + f"general:\n  custom_modules: [{module}]\n")
    refused(cli, world, config, "models.ContextPop.meta.save_recs", "carries none",
            "expected save_recs: false")
