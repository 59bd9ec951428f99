"""The configuration's sections, one pydantic model each.

Every section forbids unknown keys (with "did you mean"), reads numbers strictly (no
``"7"`` for 7, no ``true`` for 1, no infinities or NaN), and matches choices
case-insensitively (``rating_type: Explicit``). A key set to ``null`` takes its
default. The docstring under each field is its documentation in ``warprec config schema``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from warprec.utils.checks import describe
from warprec.utils.names import did_you_mean

__all__ = [
    "EarlyStopping",
    "Evaluation",
    "ExperimentConfig",
    "General",
    "KeyProblem",
    "MLflow",
    "Meta",
    "ModelBlock",
    "Optimization",
    "Reader",
    "SplitPart",
    "Splitter",
    "Writer",
]

MAX_SEED = 2**32 - 1  # numpy's legacy seeding (and WarpRec's RandomState splits) stop here


class KeyProblem(ValueError):
    """A problem with one key of a section, rendered as ``<path>.<key>: <message>``."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def unknown_key(key: str, known: list[str]) -> KeyProblem:
    """The error for a key a section does not have."""
    return KeyProblem(key, f"unknown key{did_you_mean(key, known)}; expected one of "
                           f"{', '.join(known)}")


def _choice_of(values: tuple[str, ...]) -> Any:
    def canonical(value: Any) -> Any:
        if isinstance(value, str):
            return next((v for v in values if v.lower() == value.lower()), value)
        return value
    return BeforeValidator(canonical)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, (str, int, float)) else value


PositiveInt = Annotated[int, Ge(1), Le(2**31 - 1)]
Seed = Annotated[int, Ge(0), Le(MAX_SEED)]
Ratio = Annotated[float, Gt(0), Lt(1)]
Names = Annotated[list[str], BeforeValidator(_one_or_many)]
def _matching(pattern: str, expected: str) -> Any:
    """A check that a string fully matches ``pattern``; the error says ``expected``."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"got {describe(value)}; expected {expected}")
        return value
    return AfterValidator(check)


# Names the run turns into file names: nothing that could climb out of the run folder.
Extension = Annotated[str, _matching(r"\.[A-Za-z0-9]{1,16}",
                                     "'.' and letters or digits, e.g. '.tsv'")]
SplitExtension = Annotated[str, _matching(r"(\.[A-Za-z0-9]{1,16}){1,3}",
                                          "'.' and letters or digits, e.g. '.tsv' or '.csv.gz'")]
Separator = Annotated[str, _matching(r".", "one character, e.g. '\\t' or ','")]
FolderName = Annotated[str, _matching(r"(?!\.{1,2}$)[^/\\\x00-\x1f]{1,100}",
                                      "one folder name (no '/', '\\', control character, "
                                      "'.' or '..')")]
FileFormat = Annotated[Literal["tabular", "parquet"], _choice_of(("tabular", "parquet"))]


class Section(BaseModel):
    """A config section: strict, closed, ``null`` meaning the default."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _closed(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            return value  # pydantic reports "expected a mapping of keys"
        known = list(cls.model_fields)
        for key in value:
            if not isinstance(key, str):
                raise unknown_key(str(key), known)
            if key not in cls.model_fields and cls.model_config.get("extra") == "forbid":
                raise unknown_key(key, known)
        # null takes the default (a missing section or key and an empty one mean the same)
        return {k: v for k, v in value.items()
                if v is not None or k not in cls.model_fields
                or cls.model_fields[k].default is None}


class Labels(Section):
    user_id_label: str = "user_id"
    """User id column."""
    item_id_label: str = "item_id"
    """Item id column."""
    rating_label: str = "rating"
    """Rating column."""
    timestamp_label: str = "timestamp"
    """Timestamp column."""
    cluster_label: str = "cluster"
    """Cluster column of the reader.clustering files."""
    context_labels: list[str] = Field(default_factory=list)
    """Context columns of the interaction files (e.g. daytime, weekend): categorical
    values describing the situation of each interaction, read by the context-aware
    models and used by their evaluation (WarpRec's meaning)."""

    @model_validator(mode="after")
    def _distinct_context(self) -> Labels:
        core = {self.user_id_label, self.item_id_label, self.rating_label,
                self.timestamp_label}
        seen: set[str] = set()
        for label in self.context_labels:
            if label in core:
                raise KeyProblem("context_labels", f"{label!r} is already the user, item, "
                                                   "rating or timestamp column; expected "
                                                   "other columns")
            if label in seen:
                raise KeyProblem("context_labels", f"{label!r} is listed twice")
            seen.add(label)
        return self


ContextType = Literal["int16", "int32", "int64", "str"]


class Dtypes(Section):
    """WarpRec's column types; only ``context_types`` is read (the other WarpRec keys
    are ignored with a warning)."""

    context_types: dict[str, ContextType] = Field(default_factory=dict)
    """How each context column is read: an integer type (every value must be an
    integer) or 'str' (any value, read as text). Each distinct value is a category.
    WarpRec's float context fields are not supported (a context is a category here)."""


class ReaderSplit(Section):
    local_path: str | None = None
    """Folder holding train, optional validation, and test files."""
    ext: SplitExtension = ".tsv"
    """Extension of the split files."""
    sep: str | None = None
    """Column separator (default: from the extension, ',' for .csv, else tab)."""
    header: bool = True
    """Whether the files have a header row."""
    file_format: FileFormat = "tabular"
    """File format."""


class Clustering(Section):
    user_local_path: str | None = None
    """File assigning users to groups (fairness metrics); users not in it: group 0."""
    item_local_path: str | None = None
    """File assigning items to groups (fairness metrics); items not in it: group 0."""
    user_sep: str = "\t"
    """Column separator of the user file."""
    item_sep: str = "\t"
    """Column separator of the item file."""
    user_header: bool = True
    """Whether the user file has a header row."""
    item_header: bool = True
    """Whether the item file has a header row."""
    user_file_format: FileFormat = "tabular"
    """Format of the user file (parquet is read by its extension)."""
    item_file_format: FileFormat = "tabular"
    """Format of the item file (parquet is read by its extension)."""

    @model_validator(mode="after")
    def _names_a_file(self) -> Clustering:
        if self.user_local_path is None and self.item_local_path is None:
            raise KeyProblem("user_local_path", "missing; expected user_local_path and/or "
                                                "item_local_path (or no clustering section)")
        return self


class Side(Section):
    local_path: str | None = None
    """The side-information file: an item id column, then feature columns."""
    file_format: FileFormat = "tabular"
    """File format (parquet is read by its extension)."""
    sep: str = "\t"
    """Column separator of a text file."""
    header: bool = True
    """Whether the first row holds the column names (the id column is then found by
    reader.labels.item_id_label; without a header it is the first column)."""
    column_names: list[str] | None = None
    """Column names of a file without a header (the first is the item id)."""
    keep_unseen_items: bool = False
    """Keep items that have features but no interaction (only false is supported)."""
    list_sep: str | None = None
    """Splits the cells of categorical columns into several values (e.g. '|' for
    'Action|Comedy'); not a WarpRec key: without it a cell is one value, as there."""

    @model_validator(mode="after")
    def _supported(self) -> Side:
        if self.local_path is None:
            raise KeyProblem("local_path", "missing; expected the path of the side file")
        if self.keep_unseen_items:
            raise KeyProblem("keep_unseen_items", "true is not supported by this version "
                                                  "(items without interactions are dropped); "
                                                  "expected false")
        return self


class Reader(Section):
    loading_strategy: Annotated[Literal["dataset", "split"],
                                _choice_of(("dataset", "split"))] = "dataset"
    """'dataset': one file split by the splitter; 'split': pre-split files."""
    local_path: str | None = None
    """Path of the interaction file (loading_strategy: dataset)."""
    dataset: str | None = None
    """A bundled dataset by name (e.g. 'synthetic') instead of local_path."""
    dataset_params: dict[str, Any] | None = None
    """Options of the bundled dataset (e.g. n_users, n_items)."""
    file_format: FileFormat = "tabular"
    """File format."""
    sep: str | None = None
    """Column separator (default: from the extension, ',' for .csv, else tab)."""
    header: bool = True
    """Whether the first row holds the column names."""
    rating_type: Annotated[Literal["implicit", "explicit"],
                           _choice_of(("implicit", "explicit"))] = "implicit"
    """'implicit' (every interaction counts 1) or 'explicit' (the rating column is the value)."""
    duplicates: Annotated[Literal["max", "mean", "first", "last", "sum"],
                          _choice_of(("max", "mean", "first", "last", "sum"))] = "max"
    """How repeated (user, item) rows are aggregated."""
    labels: Labels = Field(default_factory=Labels)
    """Column names in the file."""
    split: ReaderSplit = Field(default_factory=ReaderSplit)
    """Pre-split data (loading_strategy: split)."""
    clustering: Clustering | None = None
    """User and item groups for the fairness metrics (WarpRec's cluster files)."""
    side: Side | None = None
    """Item features (WarpRec's side information) for the models that read them."""
    dtypes: Dtypes = Field(default_factory=Dtypes)
    """Column types (only context_types is read)."""

    @model_validator(mode="after")
    def _typed_contexts_exist(self) -> Reader:
        for name in self.dtypes.context_types:
            if name not in self.labels.context_labels:
                listed = ", ".join(self.labels.context_labels) or "none"
                raise KeyProblem(f"dtypes.context_types.{name}",
                                 f"not a context column (reader.labels.context_labels: "
                                 f"{listed}); expected one of them")
        return self


class SplitPart(Section):
    strategy: str | None = None
    """random_holdout (of the whole table), random_holdout_per_user, temporal_holdout,
    random_leave_k_out, temporal_leave_k_out, timestamp_slicing, k_fold_cross_validation,
    item_cold_start, user_cold_start, or a registered splitter name."""
    ratio: Ratio | None = None
    """Share of the interactions held out (holdout strategies), or of the items or users
    (cold-start strategies)."""
    k: PositiveInt | None = None
    """Interactions held out per user (leave-k-out)."""
    folds: Annotated[int, Ge(2), Le(1000)] | None = None
    """Number of folds (k-fold cross validation)."""
    timestamp: int | Literal["best"] | None = None
    """Cut timestamp (timestamp slicing), or 'best'."""
    seed: Seed | None = None
    """Seed of random strategies (default: general.seed)."""


class Splitter(Section):
    test_splitting: SplitPart | None = Field(default_factory=SplitPart)
    """The test split."""
    validation_splitting: SplitPart | None = Field(default_factory=SplitPart)
    """The validation split, carved from the training part (optional)."""


class Corrections(Section):
    bonferroni: bool = False
    """Bonferroni."""
    holm_bonferroni: bool = False
    """Holm-Bonferroni."""
    fdr: bool = False
    """Benjamini-Hochberg FDR."""
    alpha: Annotated[float, Gt(0), Le(1)] = 0.05
    """Significance level."""


class StatSignificance(Section):
    paired_t_test: bool = False
    """Paired t-test."""
    wilcoxon_test: bool = False
    """Wilcoxon signed-rank test."""
    kruskal_test: bool = False
    """Kruskal-Wallis H-test."""
    whitney_u_test: bool = False
    """Mann-Whitney U test."""
    corrections: Corrections = Field(default_factory=Corrections)
    """Multiple-testing corrections."""


class ComplexMetric(Section):
    name: str
    """A registered metric name."""
    params: dict[str, Any] = {}
    """Its parameters (e.g. beta of F1)."""


class Propensity(Section):
    estimator: Annotated[Literal["uniform", "popularity"],
                         _choice_of(("uniform", "popularity"))] = "uniform"
    """How item propensities of the debiased metrics (IPS/SNIPS) are estimated."""
    power: Annotated[float, Ge(0), Le(100)] = 0.5
    """Exponent applied to the normalised popularity counts."""
    clip: Annotated[float, Gt(0), Le(1)] = 0.1
    """Smallest propensity an item may carry."""


class Evaluation(Section):
    top_k: Annotated[list[PositiveInt], BeforeValidator(_one_or_many),
                     Field(min_length=1)] = [10, 20]
    """Cutoffs (an int or a list)."""
    metrics: Annotated[Names, Field(min_length=1)] = ["nDCG", "Precision", "Recall",
                                                      "HitRate"]
    """Metric names (registry)."""
    complex_metrics: list[ComplexMetric] = []
    """Metrics with parameters: [{name, params}] (WarpRec's complex_metrics)."""
    propensity: Propensity = Field(default_factory=Propensity)
    """Propensity model of the debiased metrics."""
    validation_metric: str | None = None
    """Metric@k that picks the best trial (default nDCG@<first top_k>, or the first metric)."""
    strategy: Annotated[Literal["full", "sampled"], _choice_of(("full", "sampled"))] = "full"
    """'full' ranking over all items, or 'sampled' (each positive against num_negatives
    sampled items)."""
    num_negatives: PositiveInt = 99
    """Negatives per positive (strategy: sampled)."""
    negative_sampling: Annotated[Literal["uniform", "popularity"],
                                 _choice_of(("uniform", "popularity"))] = "uniform"
    """How sampled negatives are drawn."""
    pop_ratio: Annotated[float, Gt(0), Le(1)] = 0.8
    """Share of interactions covered by the popular short head (APLT)."""
    seed: Seed | None = None
    """Seed of sampled evaluation (default: general.seed)."""
    batch_size: PositiveInt | None = None
    """Users per evaluation batch (default: as many as fit a 2**25-entry score matrix)."""
    stat_significance: StatSignificance = Field(default_factory=StatSignificance)
    """Paired tests between models on test, per user."""
    save_per_user: bool = False
    """Write per_user/<model>.tsv: each test user's value of every per-user metric (the
    report's confidence intervals read them)."""


class WriterSplit(Section):
    sep: Separator = "\t"
    """Column separator."""
    ext: Extension = ".tsv"
    """Extension."""
    header: bool = True
    """Header row."""


class WriterRecommendation(Section):
    k: PositiveInt = 50
    """Items per user."""
    sep: Separator = "\t"
    """Column separator."""
    ext: Extension = ".tsv"
    """Extension."""
    header: bool = True
    """Header row."""
    user_label: str = "user_id"
    """User column."""
    item_label: str = "item_id"
    """Item column."""
    rating_label: str = "rating"
    """Score column (WarpRec's name)."""
    rank: bool = False
    """Add a rank column (1 = best) after the score."""


class Writer(Section):
    dataset_name: FolderName | None = None
    """Folder name of the runs (default: the bundled dataset's name or the data file's stem)."""
    local_experiment_path: str = "runs"
    """Folder holding <dataset_name>/<run id>/."""
    save_split: bool = False
    """Write split/train, validation, test."""
    split: WriterSplit = Field(default_factory=WriterSplit)
    """Format of the saved split files."""
    recommendation: WriterRecommendation = Field(default_factory=WriterRecommendation)
    """Format of recommendations/<model> files (meta.save_recs)."""
    report: bool = False
    """Write report.html at the end of the run (as warprec report does; needs
    warprec-core[report])."""


class MLflow(Section):
    tracking_uri: str | None = None
    """MLflow tracking URI (e.g. sqlite:///mlflow.db, http://host:5000; default: MLflow's,
    MLFLOW_TRACKING_URI)."""
    experiment: str = "warprec"
    """MLflow experiment the run is logged to (created when missing)."""
    timeout: Annotated[float, Gt(0), Le(3600)] = 60.0
    """Seconds the logging may take at most (a remote server: the connection within 10 s);
    past them the run warns, keeps its results and exits 3."""


class General(Section):
    device: str = "cpu"
    """cpu, cuda, cuda:N or auto."""
    seed: Seed = 42
    """Seed of splits, samplers, models and random search."""
    custom_modules: Names = []
    """.py scripts, folders or module names imported first (relative paths: against the
    config file's folder)."""
    refit: bool = False
    """Retrain the best trial on train+validation before the test evaluation."""
    backend: Annotated[Literal["local", "ray"], _choice_of(("local", "ray"))] = "local"
    """Where search trials run: 'local' (one after another in this process) or 'ray' (in
    parallel on Ray Tune; needs warprec-core[ray])."""
    ray_address: str | None = None
    """Address of an existing Ray cluster (backend: ray; default: a local Ray)."""
    threads: Annotated[int, Ge(1), Le(4096)] | None = None
    """Threads of torch's intra-op pool and the BLAS/OpenMP pools during the run (default:
    the WARPREC_THREADS environment variable, else the CPUs this process may use; never
    more than those CPUs: a larger value is capped with a warning)."""
    max_trials: PositiveInt = 1000
    """Largest search space a model may have; a larger one is refused before anything runs."""
    mlflow: MLflow | None = None
    """Log the run to MLflow: params, per-epoch and final metrics, the run folder as
    artifacts (needs warprec-core[mlflow])."""


class NamedOptions(Section):
    name: str | None = None
    """The class name."""
    params: dict[str, Any] | None = None
    """Its constructor arguments."""


class Optimizer(NamedOptions):
    name: str | None = None
    """Adam, AdamW, SGD, Adagrad, RMSprop or SparseAdam (default: the model's own choice,
    else Adam)."""


TIME_ATTRS = ("completed_epochs", "training_iteration", "time_total_s")
STRATEGIES = ("grid", "random", "hopt", "optuna", "bohb")
SCHEDULERS = ("fifo", "asha", "bohb", "median")


class Properties(Section):
    mode: Annotated[Literal["max", "min"], _choice_of(("max", "min"))] = "max"
    """Maximise or minimise the validation metric."""
    seed: Seed | None = None
    """Seed of this model (default: general.seed)."""
    time_attr: Annotated[Literal["completed_epochs", "training_iteration", "time_total_s"],
                         _choice_of(TIME_ATTRS)] | None = None
    """What the scheduler counts time in: 'completed_epochs' (default), 'training_iteration'
    (reports made) or 'time_total_s' (seconds)."""
    max_t: PositiveInt | None = None
    """Most time units a trial gets (schedulers asha and bohb; required by them)."""
    grace_period: Annotated[int, Ge(0), Le(2**31 - 1)] | None = None
    """Time units before a trial may be stopped (asha: >= 1, required; median: required)."""
    reduction_factor: Annotated[float, Gt(1), Le(1000)] | None = None
    """Halving rate of the trials (asha and bohb; required by them)."""
    n_startup_trials: PositiveInt | None = None
    """Random trials before the model guides the search (hopt and optuna; default: the
    library's own)."""
    min_samples_required: PositiveInt | None = None
    """Trials the median is computed over (median; default: Ray Tune's)."""
    min_time_slice: Annotated[int, Ge(0), Le(2**31 - 1)] | None = None
    """Time units a trial runs before yielding (median; default: Ray Tune's)."""
    hard_stop: bool | None = None
    """Stop trials below the median outright, else pause them (median; default: Ray
    Tune's, stop)."""


class Optimization(Section):
    strategy: Annotated[Literal["grid", "random", "hopt", "optuna", "bohb"],
                        _choice_of(STRATEGIES)] = "grid"
    """'grid' (lists enumerated), 'random' (lists sampled as choices), or a searcher on Ray
    Tune: 'hopt' (HyperOpt, extra warprec-core[hopt]), 'optuna' (extra [optuna]) or 'bohb'
    (extra [bohb]), whose trials are suggested one by one (lists are choices)."""
    num_samples: PositiveInt = 1
    """Random trials, searcher trials, or repetitions of the grid when it holds
    distributions."""
    device: str | None = None
    """Device of this model (default: general.device)."""
    validation_metric: str | None = None
    """Metric@k of this model's search (default: evaluation.validation_metric)."""
    refit: bool | None = None
    """Override general.refit for this model."""
    optimizer: Optimizer = Field(default_factory=Optimizer)
    """Optimizer of iterative models."""
    lr_scheduler: NamedOptions = Field(default_factory=NamedOptions)
    """Learning-rate scheduler of iterative models (a torch.optim.lr_scheduler class)."""
    scheduler: Annotated[Literal["fifo", "asha", "bohb", "median"],
                         _choice_of(SCHEDULERS)] = "fifo"
    """'fifo' (every trial runs to the end), or a Ray Tune scheduler that stops trials early
    from their per-epoch validation scores: 'asha', 'bohb' (with strategy bohb only) or
    'median' (the median stopping rule)."""
    properties: Properties = Field(default_factory=Properties)
    """Search properties."""
    cpu_per_trial: PositiveInt = 1
    """CPUs of each trial on Ray, and its torch threads."""
    gpu_per_trial: Annotated[float, Ge(0), Le(1024)] | None = None
    """GPUs of each trial on Ray: a share in (0, 1] or a whole number (default: 1 when the
    model's device is cuda, else 0)."""

    @model_validator(mode="after")
    def _scheduler_properties(self) -> Optimization:
        """The properties a scheduler needs (WarpRec's rules), checked before anything runs."""
        props, scheduler = self.properties, self.scheduler
        required = {"asha": ("max_t", "grace_period", "reduction_factor"),
                    "bohb": ("max_t", "reduction_factor"),
                    "median": ("grace_period",)}.get(scheduler, ())
        for key in required:
            if getattr(props, key) is None:
                raise KeyProblem(f"properties.{key}", f"missing; the {scheduler!r} scheduler "
                                 f"needs {', '.join(required)}")
        if scheduler == "bohb" and self.strategy != "bohb":
            raise KeyProblem("scheduler", f"'bohb' given with strategy {self.strategy!r}; "
                             "expected strategy: bohb (the bohb scheduler pauses trials that "
                             "only the bohb searcher resumes)")
        if scheduler == "asha" and props.grace_period is not None:
            if props.grace_period < 1:
                raise KeyProblem("properties.grace_period", f"got {props.grace_period}; "
                                 "expected a number >= 1 for the 'asha' scheduler")
            if props.max_t is not None and props.grace_period > props.max_t:
                raise KeyProblem("properties.grace_period", f"got {props.grace_period}; "
                                 f"expected a number <= properties.max_t ({props.max_t})")
        gpus = self.gpu_per_trial
        if gpus is not None and gpus > 1 and not float(gpus).is_integer():
            raise KeyProblem("gpu_per_trial", f"got {gpus}; expected a share in (0, 1] or a "
                             "whole number of GPUs")
        return self


class EarlyStopping(Section):
    monitor: str = "score"
    """'score' (the validation metric), 'loss', or a Metric@k."""
    patience: PositiveInt
    """Evaluations without improvement before stopping."""
    min_delta: Annotated[float, Ge(0)] = 0.0
    """Smallest change counted as an improvement."""
    grace_period: Annotated[int, Ge(0), Le(0)] = 0
    """Only 0 (stopping may trigger from the first evaluation)."""

    @model_validator(mode="before")
    @classmethod
    def _needs_patience(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and value.get("patience") is None:
            raise KeyProblem("patience", "missing; expected an integer >= 1")
        return value


class Meta(Section):
    save_model: bool = False
    """Write checkpoints/<model>.pt."""
    save_recs: bool = False
    """Write recommendations/<model>.tsv."""
    load_from: str | None = None
    """Checkpoint to load instead of training."""
    smoke_check: bool = True
    """Before training a model that is not official, check it on a sample of the data
    (the conformance kit's loss, predict and seen-item checks); false skips it."""


class ModelBlock(Section):
    """One ``models.<Name>`` block: its hyperparameters (values, grids or
    [distribution, args...]) beside the keys below."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)

    optimization: Optimization = Field(default_factory=Optimization)
    """Hyperparameter search and training options."""
    early_stopping: EarlyStopping | None = None
    """Stop an iterative model's training on a plateau."""
    meta: Meta = Field(default_factory=Meta)
    """Outputs of this model."""

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as given (search spaces included)."""
        return dict(self.model_extra or {})


class ExperimentConfig(Section):
    """WarpRec experiment configuration."""

    versions: dict[str, Any] | None = None
    """Written by warprec run into the resolved config: the versions of the core and
    plugins used (informational)."""
    reader: Reader = Field(default_factory=Reader)
    """Where and how the interactions are read."""
    filtering: dict[str, dict[str, Any] | None] = {}
    """Filters applied in order: {FilterName: {params}}."""
    splitter: Splitter = Field(default_factory=Splitter)
    """How train/validation/test are carved (ignored for pre-split data)."""
    models: Annotated[dict[str, ModelBlock], Field(min_length=1)]
    """Models to train: {ModelName: {hyperparameter: value | [grid values] |
    [distribution, args...], optimization, early_stopping, meta}}."""
    evaluation: Evaluation = Field(default_factory=Evaluation)
    """Metrics and protocol."""
    writer: Writer = Field(default_factory=Writer)
    """What is written and where."""
    general: General = Field(default_factory=General)
    """Run-wide settings."""
