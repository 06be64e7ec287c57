"""The block model of main-content extraction: which of a page's text blocks are its main content.

A gradient-boosted tree classifier (scikit-learn) over ``extract_features.FEATURES``, trained by
``bench/train_extractor.py`` on the two shared benchmark sets and shipped in the package as
``models/block-model.pkl``. The file is ours and deterministic: the same training data and lock give the
same bytes. It records the feature names it was fitted on, the threshold, its version and the SHA1 of its
training data; the html-parsing sidecar records the last two.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from medallion.transforms.extract_features import CONTEXT, FEATURES, context_features

MODEL_PATH = Path(__file__).parent / "models" / "block-model.pkl"
FORMAT = 2
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
        with threadpool_limits(1):  # many small calls: OpenMP's thread start-up costs more than it saves
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

    def dumps(self) -> bytes:
        state = {
            "format": FORMAT,
            "first": self.first,
            "second": self.second,
            "threshold": self.threshold,
            "version": self.version,
            "training_sha1": self.training_sha1,
            "features": list(self.features),
            "details": self.details,
        }
        return pickle.dumps(state, protocol=5)

    def describe(self) -> dict:
        return {"version": self.version, "training_sha1": self.training_sha1, "sha1": _sha1(self.dumps())}


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def loads(data: bytes, source: str = "the model") -> BlockModel:
    import sklearn.ensemble  # noqa: F401 -- the classes the file holds (and what the image must carry)

    try:
        state = pickle.loads(data)  # noqa: S301 -- our own file, shipped in the package
    except Exception as exc:  # a truncated or foreign file
        raise ModelError(
            f"{source} cannot be read ({exc}); retrain it with bench/train_extractor.py"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelError(f"{source} is not a block model of format {FORMAT}; retrain it")
    if tuple(state["features"]) != FEATURES + CONTEXT:
        raise ModelError(f"{source} was fitted on other features than this code computes; retrain it")
    return BlockModel(
        state["first"],
        state["second"],
        state["threshold"],
        state["version"],
        state["training_sha1"],
        tuple(state["features"]),
        state["details"],
    )


@functools.cache
def shipped() -> BlockModel:
    """The packaged model, loaded once per process (workers fork after it is loaded)."""
    if not MODEL_PATH.is_file():
        raise ModelError(
            f"the block model is missing at {MODEL_PATH}; build it with bench/train_extractor.py"
        )
    return loads(MODEL_PATH.read_bytes(), str(MODEL_PATH))
