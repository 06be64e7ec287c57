"""The one table of stages: order, module, inputs, outputs and parameters.

``medallion run`` executes this table in order on one machine; the Argo workflows are generated from it.
Nothing else in the code base lists the stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medallion.core.config import DATASET_ROOT


@dataclass(frozen=True)
class Param:
    """A stage parameter as a person sets it on the command line or in the Argo UI."""

    name: str
    help: str
    default: str | None = None
    enum: tuple[str, ...] = ()
    flag: str | None = None  # the step's command-line option, when it differs from the name

    @property
    def option(self) -> str:
        return f"--{self.flag or self.name}"

    def add_to(self, parser, option: str | None = None, prefix: str = "") -> None:
        """This parameter as an argparse option: the step's own (``option``) or ``medallion run``'s."""
        default = f" (default: {self.default})" if self.default else ""
        parser.add_argument(
            option or self.option,
            dest=self.name.replace("-", "_") if option else (self.flag or self.name).replace("-", "_"),
            default=self.default or "",
            choices=self.enum or None,
            help=f"{prefix}{self.help}{default}",
        )


def add_stage_params(parser, stages=None, names: tuple[str, ...] | None = None) -> None:
    """Every parameter of ``stages`` (default: all) as ``--<name>`` options of a command that runs them."""
    for stage_ in stages or STAGES:
        for param in stage_.params:
            if names is None or param.name in names:
                param.add_to(parser, option=f"--{param.name}", prefix=f"{stage_.name}: ")


@dataclass(frozen=True)
class Sizing:
    """What a stage's pod requests and may use (Kubernetes resources)."""

    cpu_request: str = "250m"
    cpu_limit: str = "1"
    memory_request: str = "256Mi"
    memory_limit: str = "1Gi"


LABEL_CACHE_ROOT = f"{DATASET_ROOT}/_label-cache"  # paid labels, kept so that no text is paid for twice


@dataclass(frozen=True)
class Stage:
    name: str  # the one name: CLI `--until`, image, template and data path all use it
    module: str  # what the stage's container runs: python -m <module>
    workflow: str  # the workflow name recorded in the sidecar
    layer: str  # bronze, silver, gold, post-train
    path: str  # below <store>/html-classification/
    dataset: str  # data file name inside <path>/[<version>/]<date>/
    inputs: tuple[str, ...]  # names of upstream stages
    description: str
    versioned: bool = False  # one dataset per named version (text-normalization v1, v2, ...)
    shardable: bool = False  # can fan out over shards of its input and merge (--shard K/N, --merge N)
    params: tuple[Param, ...] = field(default_factory=tuple)
    role: str = ""  # the S3 identity it runs as (medallion/tools/policies.py), when it differs from the name
    # The column whose text the dataset is about (medallion/runtime/quality.py): blank or duplicated, it makes
    # the row worthless. Empty: no such column (the model's probabilities).
    text_column: str = ""
    labeled: bool = False  # its rows carry a category, scored against the store's gold sample (it reads it)
    writes: tuple[str, ...] = ()  # prefixes it writes besides its dataset, quarantine and shards
    services: tuple[str, ...] = ()  # outside services it calls, whose settings reach its pod: labeler, mlflow
    sizing: Sizing = Sizing()
    # What names one dataset of the stage below its path: the batch date (``--date``), or the release
    # name (``--release``) for a dataset built across days.
    keyed_by: str = "date"
    contract: str = ""  # the record contract its rows follow, when it is another stage's (default: its name)
    image: str = ""  # the stage whose container writes it, when another's (default: its own image)
    reads: tuple[
        str, ...
    ] = ()  # stages it may read besides its inputs (a release: the layers it is built from)

    @property
    def kind(self) -> str:
        return self.contract or self.name

    @property
    def fmt(self) -> str:
        return self.dataset.rsplit(".", 1)[-1]

    @property
    def identity(self) -> str:
        return self.role or self.name


STAGES: tuple[Stage, ...] = (
    Stage(
        name="raw",
        module="steps.ingest",
        workflow="crawler-to-s3",
        layer="bronze",
        path="raw",
        dataset="crawl.jsonl",
        text_column="html",
        inputs=(),
        description="The crawler's daily batch as received: every valid JSON Lines record, byte for byte.",
        role="ingest",
        params=(
            Param(
                "input",
                "crawler JSON Lines: a path, '-' for stdin, or a store URI (default: the store's landing/<date>/crawl.jsonl)",
                default="",
            ),
        ),
    ),
    Stage(
        name="url-normalization",
        module="steps.url_normalization",
        workflow="url-normalization",
        layer="silver",
        path="preprocess/url-normalization",
        dataset="documents.parquet",
        text_column="html",
        inputs=("raw",),
        sizing=Sizing(cpu_request="500m", memory_request="512Mi", memory_limit="2Gi"),
        description="Crawled pages with canonical URLs, deduplicated keeping the freshest copy.",
        params=(
            Param(
                "dedup",
                "comma-separated dedup rules applied in order",
                default="canonical-url,title",
            ),
        ),
    ),
    Stage(
        name="html-parsing",
        module="steps.html_parsing",
        workflow="html-parsing",
        layer="silver",
        path="preprocess/html-parsing",
        dataset="documents.parquet",
        text_column="content",
        inputs=("url-normalization",),
        sizing=Sizing(cpu_request="2", cpu_limit="2", memory_request="1Gi", memory_limit="3Gi"),  # both cores
        description="Title, main content, description and language extracted from each page's HTML with lxml.",
        shardable=True,
        params=(
            Param(
                "comments",
                "readers' comment threads in the content: include (as the page shows them) or exclude "
                "(the article alone)",
                default="include",
                enum=("include", "exclude"),
            ),
        ),
    ),
    Stage(
        name="text-normalization",
        module="steps.text_normalization",
        workflow="text-normalization",
        layer="silver",
        path="preprocess/text-normalization",
        dataset="documents.parquet",
        text_column="text",
        inputs=("html-parsing",),
        sizing=Sizing(cpu_request="2", cpu_limit="2", memory_request="1Gi", memory_limit="3Gi"),  # both cores
        description="Title and content normalized by a named, versioned rule set into the `text` column.",
        versioned=True,
        shardable=True,
        params=(
            Param(
                "versions", "comma-separated rule-set versions from medallion/config/text-normalization.yaml"
            ),
        ),
    ),
)

STAGES = STAGES + (
    Stage(
        name="annotated",
        module="steps.annotation",
        workflow="annotation",
        layer="gold",
        path="annotated",
        dataset="documents.parquet",
        text_column="text",
        inputs=("text-normalization",),
        labeled=True,
        writes=(LABEL_CACHE_ROOT,),
        services=("labeler", "llm"),
        description="Documents with a topic category from the labeling API or from human labels.",
        role="annotation",
        params=(
            Param("annotate-version", "text-normalization version to label", default="v2", flag="version"),
            Param(
                "label-source",
                "api (LABELER_URL, LABELER_TOKEN), llm (OPENAI_BASE_URL, OPENAI_API_KEY) or label-studio:FILE",
                default="api",
            ),
            Param("llm-model", "chat model for --label-source llm", default=""),
            Param("budget", "most documents this run may pay the labeling API for (default: no limit)"),
            Param("token-budget", "most tokens this run may spend on the LLM (default: no limit)"),
        ),
    ),
    Stage(
        name="train",
        module="steps.train",
        workflow="train",
        layer="post-train",
        path="models",
        dataset="probabilities.parquet",
        inputs=("annotated",),
        labeled=True,
        services=("mlflow",),
        sizing=Sizing(cpu_request="2", cpu_limit="2", memory_request="1Gi", memory_limit="4Gi"),
        description="Out-of-sample class probabilities of a TF-IDF + logistic-regression classifier "
        "(stratified K-fold), with the model fit on all rows; the run is logged to MLflow.",
    ),
    Stage(
        name="post-train",
        module="steps.post_train",
        workflow="clean-lab",
        layer="post-train",
        path="post-train",
        dataset="documents.parquet",
        text_column="text",
        inputs=("annotated", "train"),
        labeled=True,
        sizing=Sizing(cpu_request="500m", memory_request="512Mi", memory_limit="2Gi"),
        description="The gold documents with the rows cleanlab finds mislabeled removed (or relabeled).",
        params=(
            Param("mode", "what to do with mislabeled rows", default="remove", enum=("remove", "relabel")),
        ),
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)

RELEASE_PARAMS = (
    Param("from", "first batch date of the window, YYYY-MM-DD (default: the earliest batch)"),
    Param("to", "last batch date of the window: YYYY-MM-DD or yesterday (default: the latest batch)"),
    Param("days", "window length in days ending at --to, instead of --from", default=""),
    Param(
        "source",
        "the daily layer a release is built from",
        default="post-train",
        enum=("post-train", "annotated"),
    ),
    Param("near-duplicate-threshold", "MinHash LSH Jaccard threshold for near-duplicate text", default="0.8"),
    Param("splits", "train,validation,test fractions", default="0.8,0.1,0.1"),
    Param(
        "require-all-days",
        "fail when a day of the window has no batch",
        default="false",
        enum=("false", "true"),
    ),
    Param(
        "allow-other-taxonomy",
        "take batches labeled under another taxonomy (their rows outside the current one are quarantined)",
        default="false",
        enum=("false", "true"),
    ),
)

# Datasets built across days, each named by its release: not part of the daily run (``medallion run``).
RELEASE_STAGES: tuple[Stage, ...] = (
    Stage(
        name="release",
        module="steps.release",
        workflow="release",
        layer="release",
        path="releases",
        dataset="documents.parquet",
        text_column="text",
        inputs=(),  # the window's daily batches of --source
        reads=("post-train", "annotated"),
        keyed_by="release",
        labeled=True,
        sizing=Sizing(cpu_request="1", cpu_limit="2", memory_request="1Gi", memory_limit="3Gi"),
        description="A training set across days: every batch in a date window, deduplicated across days "
        "by canonical URL (freshest crawl) and near-duplicate text (MinHash LSH), with a stable "
        "train/validation/test split from a hash of the URL.",
        params=RELEASE_PARAMS,
    ),
    Stage(
        name="release-model",
        module="steps.train",
        workflow="release-train",
        layer="release",
        path="models/releases",
        dataset="predictions.parquet",
        inputs=("release",),
        keyed_by="release",
        labeled=True,
        services=("mlflow",),
        sizing=Sizing(cpu_request="2", cpu_limit="2", memory_request="1Gi", memory_limit="4Gi"),
        description="A model trained on a release's train split, selected on validation and scored on "
        "test; every row's prediction, the model logged and registered in MLflow.",
    ),
    Stage(
        name="release-clean",
        module="steps.train",
        workflow="release-train",
        layer="release",
        path="releases",
        dataset="documents.parquet",
        text_column="text",
        inputs=("release",),
        keyed_by="release",
        labeled=True,
        contract="release",
        image="release-model",  # train --release NAME --clean writes it
        role="release-model",
        description="A release with the rows cleanlab finds mislabeled (out-of-sample probabilities "
        "over the whole release) removed: a release of its own, <name>-clean.",
    ),
)
ALL_STAGES: tuple[Stage, ...] = STAGES + RELEASE_STAGES
IMAGE_STAGES: tuple[Stage, ...] = tuple(s for s in ALL_STAGES if not s.image)  # one container image each
CLEAN_SUFFIX = "-clean"  # the cleaned release of NAME is the release NAME-clean


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_release_name(name: str, reserved_suffix: str = "") -> str:
    """A release name is one safe path segment: letters, digits, ``.``, ``_``, ``-``; at most 100."""
    if not SAFE_NAME.fullmatch(name) or set(name) <= {"."}:
        raise ValueError(
            f"release name {name!r} is not a safe path segment: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (for example weekly-2026-12-07)"
        )
    if reserved_suffix and name.endswith(reserved_suffix):
        raise ValueError(
            f"release name {name!r} ends in {reserved_suffix!r}, which names the cleaned copy of release "
            f"{name.removesuffix(reserved_suffix)!r} (train --clean writes it): choose another name"
        )
    return name


def stage(name: str) -> Stage:
    for candidate in ALL_STAGES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown stage {name!r}; stages are: {', '.join(s.name for s in ALL_STAGES)}")


def stages_until(until: str | None) -> tuple[Stage, ...]:
    """The stages to run, in order, up to and including ``until`` (all when None)."""
    if until is None:
        return STAGES
    index = STAGE_NAMES.index(stage(until).name)
    return STAGES[: index + 1]


def stage_root(stage_: Stage, version: str | None = None) -> str:
    """``html-classification/<stage>/[<version>/]``: the folder holding one folder per date (or release)."""
    if stage_.versioned and not version:
        raise ValueError(f"stage {stage_.name} is versioned: name a version")
    return "/".join([DATASET_ROOT, stage_.path] + ([version] if version else [])) + "/"


def dataset_dir(stage_: Stage, date: str, version: str | None = None) -> str:
    """``html-classification/<stage>/[<version>/]<date>/``: the dataset's folder key in the store."""
    return f"{stage_root(stage_, version)}{date}/"


def dataset_key(stage_: Stage, date: str, version: str | None = None) -> str:
    return dataset_dir(stage_, date, version) + stage_.dataset


def quarantine_key(stage_: Stage, date: str, version: str | None = None) -> str:
    """Rejected records of a stage live under the same stage, version and date below ``quarantine/``."""
    parts = [DATASET_ROOT, "quarantine", stage_.path] + ([version] if version else []) + [date]
    return "/".join(parts) + "/rejects.jsonl"


LANDING_ROOT = "landing"  # where crawlers drop their batches, outside the dataset tree


def landing_key(date: str) -> str:
    """Where the crawler drops a day's batch in the store, for ingest to pick up."""
    return f"{LANDING_ROOT}/{date}/crawl.jsonl"
