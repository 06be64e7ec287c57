"""The block model of main-content extraction: which of a page's text blocks are its main content.

A gradient-boosted tree classifier (scikit-learn) over ``extract_features.FEATURES``, trained by
``bench/train_extractor.py`` on the two shared benchmark sets and shipped in the package as
``models/block-model.bin``. The file is ours and deterministic: the same training data and lock give the
same bytes. A JSON header line says what it is (the feature names it was fitted on, the threshold, its
version and the SHA1 of its training data; the html-parsing sidecar records the last two), so that the
model can be described without scikit-learn; the fitted trees follow as a pickle.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from medallion.transforms.extract_features import CONTEXT, FEATURES, context_features

MODEL_PATH = Path(__file__).parent / "models" / "block-model.bin"
FORMAT = 3
MAGIC = b"medallion block model\n"
# When no block reaches the threshold, the blocks nearly as likely as the likeliest one are the content.
FALLBACK_SHARE = 0.75
FALLBACK_FLOOR = 0.05


class ModelError(RuntimeError):
    """The model file is missing, from another format, or fitted on other features."""


@dataclass(slots=True)
class BlockModel:
    """Two looks at every block: ``first`` judges it by its features (``FEATURES``), ``second`` again
    with what the first thought of its neighbours, its parent's blocks and its page (``CONTEXT``)."""

    first: object  # fitted sklearn classifiers with predict_proba
    second: object
    threshold: float
    version: str
    training_sha1: str
    features: tuple[str, ...] = FEATURES + CONTEXT
    details: dict = field(default_factory=dict)  # training parameters and figures

    def probability(self, rows: np.ndarray, context: np.ndarray, page: np.ndarray) -> np.ndarray:
        """Each block's probability of being main content; ``context`` and ``page`` as
        ``extract_features.context_features`` takes them."""
        with _thread_pools().limit(limits=1):  # many small calls: OpenMP's start-up costs more than it saves
            first = self.first.predict_proba(rows)[:, 1]
            return self.second.predict_proba(np.hstack([rows, context_features(first, context, page)]))[:, 1]

    def keep(self, rows: np.ndarray, context: np.ndarray, page: np.ndarray) -> np.ndarray:
        """A boolean per block: is it main content? The fallback works page by page."""
        if not len(rows):
            return np.zeros(0, dtype=bool)
        probability = self.probability(rows, context, page)
        keep = probability >= self.threshold
        _, pages = np.unique(page, return_inverse=True)
        pages = pages.ravel()
        kept = np.bincount(pages, weights=keep)
        best = np.zeros(len(kept))
        np.maximum.at(best, pages, probability)
        unsure = (kept[pages] == 0) & (best[pages] >= FALLBACK_FLOOR)  # a page the model is unsure of
        return keep | (unsure & (probability >= FALLBACK_SHARE * best[pages]))

    def header(self) -> dict:
        return {
            "format": FORMAT,
            "threshold": self.threshold,
            "version": self.version,
            "training_sha1": self.training_sha1,
            "features": list(self.features),
            "details": self.details,
        }

    def dumps(self) -> bytes:
        header = json.dumps(self.header(), sort_keys=True, separators=(",", ":")).encode()
        trees = pickle.dumps({"first": self.first, "second": self.second}, protocol=5)
        return MAGIC + header + b"\n" + trees

    def describe(self) -> dict:
        return describe(self.dumps())


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The process's native thread pools, found once: looking them up scans every loaded library, which
    cost as much as judging a page's blocks (the model's classes are loaded by the time it is called)."""
    return ThreadpoolController()


def describe(data: bytes) -> dict:
    """What the html-parsing sidecar records of a model file: read from its header, without unpickling."""
    header = _header(data)
    return {"version": header["version"], "training_sha1": header["training_sha1"], "sha1": _sha1(data)}


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _header(data: bytes, source: str = "the model") -> dict:
    head, newline, _ = data[len(MAGIC) :].partition(b"\n")
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
    return header


def loads(data: bytes, source: str = "the model") -> BlockModel:
    header = _header(data, source)
    import sklearn.ensemble  # noqa: F401 -- the classes the file holds (and what the image must carry)

    try:
        trees = pickle.loads(data[len(MAGIC) :].partition(b"\n")[2])  # noqa: S301 -- our own shipped file
    except Exception as exc:  # a truncated file
        raise ModelError(
            f"{source} cannot be read ({exc}); retrain it with bench/train_extractor.py"
        ) from exc
    return BlockModel(
        trees["first"],
        trees["second"],
        header["threshold"],
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
    """``describe`` of the packaged model, without loading it (or scikit-learn)."""
    return describe(_model_bytes())
