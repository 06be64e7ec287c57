"""The block model of main-content extraction: which of a page's text blocks are its main content.

Gradient-boosted trees over ``extract_features.FEATURES``, fitted with scikit-learn by
``bench/train_extractor.py`` on the two shared benchmark sets and shipped in the package as
``models/block-model.bin``. The file is ours and deterministic: the same training data and lock give the
same bytes. A JSON header line says what it is (the feature names it was fitted on, the thresholds, its
version and the SHA1 of its training data; the html-parsing sidecar records all but the features) and where each
array of the trees lies in the bytes that follow. The trees are walked with numpy (``Forest``): judging
pages needs neither scikit-learn nor its start-up (about two seconds of importing). The walk is
scikit-learn's predict done in numpy: the same comparisons and the same floats added in the same order.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medallion.transforms.extract_features import CONTEXT, FEATURES, context_features

MODEL_PATH = Path(__file__).parent / "models" / "block-model.bin"
FORMAT = 5
MAGIC = b"medallion block model\n"
# When no block reaches its threshold, the blocks nearly as likely as the likeliest one are the content.
FALLBACK_SHARE = 0.75
FALLBACK_FLOOR = 0.05
# A forest's arrays as the file holds them: little-endian, in this order.
ARRAYS = {
    "feature": "<i4",  # per node: the feature it splits on (0 at a leaf)
    "threshold": "<f8",  # per node: values at or below it go left
    "missing_left": "u1",  # per node: where a missing value (NaN) goes
    "children": "<i4",  # per node: (right, left) child; a leaf is its own child
    "value": "<f8",  # per node: a leaf's contribution to the raw score
    "roots": "<i4",  # per tree: its root node
    "depths": "<i4",  # per tree: its deepest leaf's depth
}


class ModelError(RuntimeError):
    """The model file is missing, from another format, or fitted on other features."""


@dataclass(frozen=True, slots=True, eq=False)
class Forest:
    """A binary gradient-boosted tree ensemble as flat arrays: all trees' nodes one after another.

    The raw score is ``baseline`` plus each tree's leaf value, added tree by tree in order (the order
    scikit-learn adds them in, so that the floats are the same), and the probability its logistic."""

    baseline: float
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    children: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depths: np.ndarray

    def raw(self, rows: np.ndarray) -> np.ndarray:
        n, width = rows.shape
        flat = np.ascontiguousarray(rows, dtype=np.float64).ravel()
        start = np.arange(n) * width
        missing = bool(np.isnan(flat).any())
        total = np.full(n, self.baseline)
        for root, depth in zip(self.roots.tolist(), self.depths.tolist(), strict=True):
            node = np.full(n, root)
            for _ in range(depth):  # a leaf is its own child: rows that reach one early stay there
                x = flat[start + self.feature[node]]
                left = x <= self.threshold[node]
                if missing:
                    left |= np.isnan(x) & (self.missing_left[node] > 0)
                node = self.children[2 * node + left]
            total += self.value[node]
        return total

    def probability(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw(rows)))

    def check(self, width: int) -> None:
        """ValueError unless the arrays make trees over ``width`` features (a damaged file)."""
        nodes = len(self.value)
        if not (len(self.feature) == len(self.threshold) == len(self.missing_left) == nodes):
            raise ValueError("the per-node arrays differ in length")
        if len(self.children) != 2 * nodes or len(self.roots) != len(self.depths):
            raise ValueError("the children or the trees do not match the nodes")
        for name, values, bound in (
            ("children", self.children, nodes),
            ("roots", self.roots, nodes),
            ("feature", self.feature, width),
        ):
            if len(values) and (values.min() < 0 or values.max() >= bound):
                raise ValueError(f"a {name} index is out of range")


@dataclass(slots=True)
class BlockModel:
    """Two looks at every block: ``first`` judges it by its features (``FEATURES``), ``second`` again
    with what the first thought of its neighbours, its parent's blocks and its page (``CONTEXT``).

    A block is content when its probability reaches ``threshold``; a block inside comment-named markup
    (readers' comments) only when it reaches ``comment_threshold``. The corpora the model learned from
    disagree about comments (Dragnet's truth holds them, the news pages' does not), so the model is seldom
    sure of them; the product's documents are the article, and a comment must read as plainly part of it."""

    first: Forest
    second: Forest
    threshold: float
    comment_threshold: float
    version: str
    training_sha1: str
    features: tuple[str, ...] = FEATURES + CONTEXT
    details: dict = field(default_factory=dict)  # training parameters and figures

    def probability(
        self, rows: np.ndarray, context: np.ndarray, page: np.ndarray, needed: np.ndarray | None = None
    ) -> np.ndarray:
        """Each block's probability of being main content; ``context`` and ``page`` as
        ``extract_features.context_features`` takes them. ``needed``: a boolean per block; the others get 0
        without the second look (the first looks at every block: its neighbours' context needs it)."""
        first = self.first.probability(rows)
        described = np.hstack([rows, context_features(first, context, page)])
        if needed is None:
            return self.second.probability(described)
        probability = np.zeros(len(rows))
        probability[needed] = self.second.probability(described[needed])
        return probability

    def keep(
        self,
        rows: np.ndarray,
        context: np.ndarray,
        page: np.ndarray,
        commented: np.ndarray,
        barred: np.ndarray,
    ) -> np.ndarray:
        """A boolean per block: is it main content? ``commented``: a boolean per block, is it inside
        comment-named markup; ``barred``: a boolean per block, is it never content (the rules over the
        model), so that it is never kept. The fallback works page by page, among the blocks not barred."""
        if not len(rows):
            return np.zeros(0, dtype=bool)
        # A barred block is 0, for the fallback too, and costs no second look.
        probability = self.probability(rows, context, page, needed=~barred)
        keep = probability >= np.where(commented, self.comment_threshold, self.threshold)
        _, pages = np.unique(page, return_inverse=True)
        pages = pages.ravel()
        kept = np.bincount(pages, weights=keep)
        best = np.zeros(len(kept))
        np.maximum.at(best, pages, probability)
        unsure = (kept[pages] == 0) & (best[pages] >= FALLBACK_FLOOR)  # a page the model is unsure of
        return (keep | (unsure & (probability >= FALLBACK_SHARE * best[pages]))) & ~barred

    def header(self, layout: dict) -> dict:
        """The file's header line; ``layout``: where each forest's arrays lie after it (``dumps``)."""
        return {
            "format": FORMAT,
            "threshold": self.threshold,
            "comment_threshold": self.comment_threshold,
            "version": self.version,
            "training_sha1": self.training_sha1,
            "features": list(self.features),
            "details": self.details,
            "forests": layout,
        }

    def dumps(self) -> bytes:
        layout, chunks, offset = {}, [], 0
        for name, forest in (("first", self.first), ("second", self.second)):
            layout[name] = {"baseline": forest.baseline, "arrays": {}}
            for array, dtype in ARRAYS.items():
                data = np.ascontiguousarray(getattr(forest, array), dtype=dtype).tobytes()
                layout[name]["arrays"][array] = [offset, len(data)]
                chunks.append(data)
                offset += len(data)
        header = json.dumps(self.header(layout), sort_keys=True, separators=(",", ":")).encode()
        return MAGIC + header + b"\n" + b"".join(chunks)

    def describe(self) -> dict:
        return describe(self.dumps())


def describe(data: bytes) -> dict:
    """What the html-parsing sidecar records of a model file: read from its header, without reading the trees."""
    header, _ = _header(data)
    return {
        "version": header["version"],
        "training_sha1": header["training_sha1"],
        "sha1": _sha1(data),
        "threshold": header["threshold"],
        "comment_threshold": header["comment_threshold"],
    }


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _header(data: bytes, source: str = "the model") -> tuple[dict, bytes]:
    """The file's header, checked, and the bytes of the trees after it."""
    head, newline, body = data[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(head) if data.startswith(MAGIC) and newline else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelError(
            f"{source} is not a block model of format {FORMAT}; retrain it with bench/train_extractor.py"
        )
    if tuple(header["features"]) != FEATURES + CONTEXT:
        raise ModelError(f"{source} was fitted on other features than this code computes; retrain it")
    return header, body


def loads(data: bytes, source: str = "the model") -> BlockModel:
    header, body = _header(data, source)
    forests = {}
    try:
        for name in ("first", "second"):
            spec = header["forests"][name]
            arrays = {}
            for array, dtype in ARRAYS.items():
                offset, size = spec["arrays"][array]
                if offset + size > len(body):
                    raise ValueError(f"the {name} trees' {array} ends past the end of the file")
                arrays[array] = np.frombuffer(body[offset : offset + size], dtype=dtype).astype(
                    np.float64 if dtype == "<f8" else np.intp
                )
            forests[name] = Forest(float(spec["baseline"]), **arrays)
            forests[name].check(len(FEATURES) + (len(CONTEXT) if name == "second" else 0))
    except (KeyError, TypeError, ValueError) as exc:  # a truncated or damaged file
        raise ModelError(
            f"{source} cannot be read ({exc}); retrain it with bench/train_extractor.py"
        ) from exc
    return BlockModel(
        forests["first"],
        forests["second"],
        header["threshold"],
        header["comment_threshold"],
        header["version"],
        header["training_sha1"],
        tuple(header["features"]),
        header["details"],
    )


def _model_bytes() -> bytes:
    if not MODEL_PATH.is_file():
        raise ModelError(
            f"the block model is missing at {MODEL_PATH}; build it with bench/train_extractor.py"
        )
    return MODEL_PATH.read_bytes()


@functools.cache
def shipped() -> BlockModel:
    """The packaged model, loaded once per process (workers start with it loaded)."""
    return loads(_model_bytes(), str(MODEL_PATH))


@functools.cache
def shipped_description() -> dict:
    """``describe`` of the packaged model, without loading its trees."""
    return describe(_model_bytes())
