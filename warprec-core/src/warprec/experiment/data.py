"""The data of a run: read, filtered and split as the config says, then the datasets
the models train and are evaluated on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from warprec.config import Config
from warprec.errors import ConfigError, DataError
from warprec.experiment.build import build_filters, build_splitter

if TYPE_CHECKING:
    from warprec.data.side import SideInformation

__all__ = ["RunData", "load_data", "resolve_path"]

logger = logging.getLogger("warprec")

# Dataset.report keys counting the ids a cold-start split kept (not dropped rows).
_COLD = ("cold_items", "cold_users")


@dataclass
class RunData:
    """The datasets of a run: ``main`` holds train/(validation)/test; ``validation`` the
    datasets whose validation split scores the trials (one per fold for k-fold)."""

    main: Any
    validation: list[Any]
    frames: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    refit_required: bool = False
    # What the evaluator takes from the data: user_groups, item_groups, item_features.
    groups: dict[str, Any] = field(default_factory=dict)
    # The side a cold-start test splitter holds out ("item", "user"), else None.
    cold_start: str | None = None

    @property
    def selection_split(self) -> str:
        """Where the trials of a search are scored: ``validation``, or ``test`` when there
        is no validation split (WarpRec's train/test flow)."""
        return "validation" if self.validation else "test"

    @property
    def selection_datasets(self) -> list[Any]:
        """The datasets whose :attr:`selection_split` scores the trials."""
        return self.validation or [self.main]

    def summary(self) -> dict[str, Any]:
        """Sizes, dropped-row counts and the ids a cold-start split kept, as
        ``results.json`` records them."""
        main = self.main
        summary = {"n_users": main.n_users, "n_items": main.n_items,
                   **{part: None if frame is None else len(frame)
                      for part, frame in self.frames.items()},
                   "dropped": _dropped(main.report)}
        cold = {key: main.report[key] for key in _COLD if key in main.report}
        if cold:  # the ids a cold-start split held out and kept
            summary["cold_start"] = cold
        return summary


def load_data(config: Config) -> RunData:
    """Read, filter and split the data; build the datasets the models train on."""
    from warprec.data.dataset import Dataset
    from warprec.data.filtering import apply_filters

    reader = config.model.reader
    implicit = reader.rating_type == "implicit"
    report: dict[str, int] = {}
    if reader.loading_strategy == "split":
        split = _read_split(config)
        report.update(split.dropped)
        train, validation, test = split.train, split.validation, split.test
        folds, cold_start = None, None
    else:
        df = _read_table(config, report)
        df = apply_filters(df, build_filters(config.model.filtering), report)
        if df.empty:
            raise DataError("filtering: no interactions left after the filters")
        train, validation, test, folds, cold_start = _split(config, df)
    side = _read_side(config, train)
    if side is not None:
        train, validation, test, folds = _restrict_to_described(
            side, train, validation, test, folds, report)
    logger.info("Data: %d train, %s validation, %d test interactions", len(train),
                "no" if validation is None else len(validation), len(test))
    frames = {"train": train, "validation": validation, "test": test}
    options = {"implicit": implicit, "report": report, "cold_start": cold_start,
               "duplicates": reader.duplicates, "context_labels": reader.labels.context_labels}
    if folds is not None:
        main = Dataset(train, test, None, **options)
        fold_sets = [Dataset(t, test, v, **options) for t, v in folds]
        data = RunData(main, fold_sets, frames, refit_required=True)
    else:
        main = Dataset(train, test, validation, **options)
        data = RunData(main, [main] if validation is not None else [], frames)
    data.cold_start = cold_start
    if cold_start is not None:
        logger.info("Cold start: %d %ss held out of training and ranked with the others",
                    main.report.get(f"cold_{cold_start}s", 0), cold_start)
    if side is not None:
        for dataset in {id(d): d for d in (main, *data.validation)}.values():
            dataset.set_item_features(*side.matrix(dataset.item_ids))
        logger.info("Item features: %d per item", main.item_features.shape[1])
    data.groups = _groups(config, main)
    if side is not None:
        data.groups["item_features"] = main.item_features  # SRecall's features
    logger.info("Dataset: %d users, %d items", main.n_users, main.n_items)
    pre_split = reader.loading_strategy == "split"
    _check_evaluable(main, "test", len(test),
                     "reader.split" if pre_split else "splitter.test_splitting")
    for dataset in data.validation:
        if getattr(dataset, "validation", None) is None:
            continue  # trials selected on another split (checked above)
        _check_evaluable(dataset, "validation", len(validation) if validation is not None
                         else None, "reader.split" if pre_split
                         else "splitter.validation_splitting")
    dropped = _dropped(main.report)
    if dropped:
        logger.info("Rows dropped: %s", ", ".join(f"{k} {v}" for k, v in dropped.items()))
    return data


def _dropped(report: dict[str, int]) -> dict[str, int]:
    """The non-zero counts of rows dropped (not the cold-start counts of ids kept)."""
    return {key: int(value) for key, value in report.items() if value and key not in _COLD}


def _groups(config: Config, dataset: Any) -> dict[str, Any]:
    """The ``reader.clustering`` groups, aligned with the dataset's users and items."""
    from warprec.data.clustering import read_groups

    clustering = config.model.reader.clustering
    if clustering is None:
        return {}
    label = config.model.reader.labels
    groups = {}
    for kind, ids, id_column in (("user", dataset.user_ids, label.user_id_label),
                                 ("item", dataset.item_ids, label.item_id_label)):
        local = getattr(clustering, f"{kind}_local_path")
        if local is None:
            continue
        path = resolve_path(local, f"reader.clustering.{kind}_local_path", config)
        groups[f"{kind}_groups"] = read_groups(
            path, ids, kind=kind, id_column=id_column, cluster_column=label.cluster_label,
            sep=getattr(clustering, f"{kind}_sep"), header=getattr(clustering, f"{kind}_header"))
    return groups


def _read_side(config: Config, train: pd.DataFrame) -> SideInformation | None:
    """The ``reader.side`` table, its ids read as the interactions' item ids."""
    from warprec.data.schema import ITEM
    from warprec.data.side import read_side

    side = config.model.reader.side
    if side is None:
        return None
    assert side.local_path is not None
    path = resolve_path(side.local_path, "reader.side.local_path", config)
    _check_format(path, side.file_format, "reader.side.file_format")
    return read_side(path, id_column=config.model.reader.labels.item_id_label,
                     id_dtype=train[ITEM].dtype, sep=side.sep, header=side.header,
                     column_names=side.column_names, list_sep=side.list_sep)


def _restrict_to_described(side: SideInformation, train: pd.DataFrame,
                           validation: pd.DataFrame | None, test: pd.DataFrame,
                           folds: list[Any] | None, report: dict[str, int]) -> tuple[Any, ...]:
    """The parts without the interactions of items that have no features (WarpRec
    drops them after the split)."""
    from warprec.data.schema import ITEM

    parts = side.restrict({"train": train, "validation": validation, "test": test},
                          ITEM, report)
    if folds is not None:
        folds = [tuple(side.restrict({"train": t, "validation": v}, ITEM, {}).values())
                 for t, v in folds]
    dropped = sum(report.get(f"{p}_without_features", 0) for p in parts)
    if dropped:
        logger.warning("reader.side: %d interactions of items without features dropped",
                       dropped)
    return parts["train"], parts["validation"], parts["test"], folds


def _check_evaluable(dataset: Any, split: str, rows: int | None, where: str) -> None:
    """A split with nothing to evaluate (every row cold, or no rating > 0) would give
    NaN metrics and a run reported as complete: a :class:`DataError` with the counts."""
    matrix = getattr(dataset, split).get_sparse()
    relevant = int((matrix.data > 0).sum())
    if relevant:
        return
    report = dataset.report
    cold, duplicates = report.get(f"{split}_cold_rows", 0), report.get(f"{split}_duplicates", 0)
    counts = f"{rows} {split} rows" if rows is not None else f"the {split} rows"
    raise DataError(
        f"{where}: the {split} split has no interaction to evaluate ({counts}: {cold} of "
        f"users or items not in training, {duplicates} duplicates, {matrix.nnz} kept, none "
        f"with a rating > 0); expected {split} interactions of users and items seen in "
        "training (e.g. a leave-k-out split, or filtering.UserMin to drop users with one "
        "interaction)")


def resolve_path(value: str, key: str, config: Config) -> Path:
    """A data path: absolute, else relative to the current folder, else to the config's."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    beside = config.base_dir / path
    if beside.exists():
        return beside
    places = dict.fromkeys([str(Path.cwd()), str(config.base_dir)])
    raise DataError(f"{key}: {value!r} not found (looked in {' and '.join(places)})")


def _reader_options(config: Config, sep: str | None, header: bool) -> dict[str, Any]:
    reader = config.model.reader
    labels = reader.labels
    return {
        "sep": sep,
        "header": header,
        "user_col": labels.user_id_label,
        "item_col": labels.item_id_label,
        "rating_col": labels.rating_label,
        "timestamp_col": labels.timestamp_label,
        "implicit": reader.rating_type == "implicit",
        "duplicates": reader.duplicates,
        "context_cols": labels.context_labels,
        "context_types": reader.dtypes.context_types,
    }


def _read_table(config: Config, report: dict[str, int]) -> pd.DataFrame:
    from warprec.data.reader import read_interactions
    from warprec.utils.registry import dataset_registry

    reader = config.model.reader
    if reader.dataset:
        loader = dataset_registry.get_class(reader.dataset)
        try:
            frame = loader(**(reader.dataset_params or {}))
        except ConfigError as exc:
            raise ConfigError(f"reader.dataset_params: {exc}") from exc
        logger.info("Data: bundled dataset %r, %d interactions", reader.dataset, len(frame))
        return frame
    assert reader.local_path is not None
    path = resolve_path(reader.local_path, "reader.local_path", config)
    _check_format(path, reader.file_format, "reader.file_format")
    result = read_interactions(path, **_reader_options(config, reader.sep, reader.header))
    report.update(result.dropped)
    logger.info("Data: %s, %d interactions", path, len(result.data))
    if reader.rating_type == "explicit" and result.implicit:
        raise DataError(f"{path}: rating_type is explicit but there is no rating column "
                        f"{reader.labels.rating_label!r}")
    return result.data


def _read_split(config: Config) -> Any:
    from warprec.data.reader import read_split

    split = config.model.reader.split
    assert split.local_path is not None
    folder = resolve_path(split.local_path, "reader.split.local_path", config)
    for part in ("train", "test"):
        path = folder / f"{part}{split.ext}"
        if not path.is_file():
            found = sorted(p.name for p in folder.glob(f"{part}.*"))
            raise DataError(f"reader.split.ext: no {path.name} in {folder} (found: "
                            f"{', '.join(found) or 'none'}); expected train{split.ext}, "
                            f"test{split.ext} and optionally validation{split.ext}")
        _check_format(path, split.file_format, "reader.split.file_format")
    return read_split(folder, **_reader_options(config, split.sep, split.header))


def _check_format(path: Path, file_format: str, key: str) -> None:
    """The reader goes by the extension: refuse a file whose extension says otherwise."""
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet != (file_format == "parquet"):
        expected = ".parquet or .pq" if file_format == "parquet" else "a text extension"
        raise DataError(f"{key}: {file_format!r} but {path.name} has the extension "
                        f"{path.suffix or '(none)'}; expected {expected}")


def _split(config: Config, df: pd.DataFrame
           ) -> tuple[Any, Any, Any, list[Any] | None, str | None]:
    """Train, validation, test, the k-fold folds and the side a cold-start test
    splitter holds out (``"item"``, ``"user"`` or ``None``)."""
    splitter = config.model.splitter
    assert splitter.test_splitting is not None
    test_splitter = build_splitter(splitter.test_splitting, "splitter.test_splitting")
    test_split = _run_split(test_splitter, df, "splitter.test_splitting")
    train, test, cold_start = test_split.train, test_split.test, getattr(
        test_splitter, "holds_out", None)
    part = splitter.validation_splitting
    if part is None:
        return train, None, test, None, cold_start
    held_out = build_splitter(part, "splitter.validation_splitting")
    if part.strategy == "k_fold_cross_validation":
        folds = [(s.train, s.test) for s in held_out.folds(train)]
        logger.info("Validation: %d-fold cross validation", part.folds)
        return train, None, test, folds, cold_start
    held = _run_split(held_out, train, "splitter.validation_splitting")
    return held.train, held.test, test, None, cold_start


def _run_split(splitter: Any, frame: pd.DataFrame, path: str) -> Any:
    """``splitter.split(frame)``; a DataError (e.g. a cold-start ratio the data cannot
    support) names the config key."""
    try:
        return splitter.split(frame)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
