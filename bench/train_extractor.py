"""Train the html-parsing block model on the two shared benchmark sets and write it into the package.

Every page is cut into text blocks exactly as the extractor cuts it (``extract.read_page``). A block's
label is whether its text is in the page's human-marked main content: at least half of its 4-token
shingles are in the truth's (a block of fewer than four tokens: its token sequence occurs in the truth).
Blocks are weighted by their tokens, and every page weighs the same in total, because the score averages
precision and recall over pages.

The classifiers (a first look at each block, and a second with the first look's view of its neighbours,
parent and page) are scikit-learn's HistGradientBoostingClassifier with a fixed seed, fitted on one
thread: the same pages and lock give the same model file, byte for byte.

    .venv/bin/python bench/train_extractor.py            # write medallion/transforms/models/block-model.bin
    .venv/bin/python bench/train_extractor.py --check    # exit 1 when retraining gives another file
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import corpora  # noqa: E402

from medallion.transforms.extract import read_page  # noqa: E402
from medallion.transforms.extract_features import context_features  # noqa: E402
from medallion.transforms.extract_model import MODEL_PATH, BlockModel, Forest, loads  # noqa: E402
from medallion.transforms.extract_parsing import ExtractionError  # noqa: E402

VERSION = "2"
TOKEN = re.compile(r"\w+")
PARAMS = {
    "learning_rate": 0.3,
    "max_iter": 50,  # 200 trees at 0.1 score the same over 5 folds (within 0.004 on every corpus), 4x slower
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}
THRESHOLD = 0.5
# Blocks inside comment-named markup (readers' comments): content only where the model is this sure. Over
# 5 folds, 0.5 -> 0.9 moves F1 on news 0.956 -> 0.960 and on Dragnet (whose truth holds the comments)
# 0.915 -> 0.893; 1.0 (no comment ever) gives 0.965 and 0.847. README, "Main-content extraction".
COMMENT_THRESHOLD = 0.9
FOLDS = 4  # pages split this many ways for the out-of-fold first look
# Beyond the equal share: the news pages mark the article alone (no headline, no comments), as the product
# wants its documents; where the corpora disagree about a kind of block, they have the last word.
CORPUS_WEIGHT = {"news": 1.0}


def labelled(page: corpora.Page) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, context, labels, weights) of one page's blocks."""
    empty = np.zeros((0, 0)), np.zeros((0, 3)), np.zeros(0), np.zeros(0)
    try:
        parsed = read_page(page.raw)
    except ExtractionError:
        return empty
    if not parsed.blocks:
        return empty
    truth = TOKEN.findall(page.truth.lower())
    truth_shingles = {tuple(truth[i : i + 4]) for i in range(len(truth) - 3)}
    truth_text = f" {' '.join(truth)} "
    labels, sizes = [], []
    for block in parsed.blocks:
        tokens = TOKEN.findall(block.text.lower())
        if len(tokens) >= 4:
            grams = [tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)]
            inside = sum(g in truth_shingles for g in grams) / len(grams) >= 0.5
        else:
            inside = bool(tokens) and f" {' '.join(tokens)} " in truth_text
        labels.append(1.0 if inside else 0.0)
        sizes.append(max(len(tokens), 1))
    sizes = np.asarray(sizes, dtype=np.float64)
    rows, context = parsed.features()
    return rows, context, np.asarray(labels), sizes / sizes.sum()


def examples(pages: list[corpora.Page], workers: int = 2) -> list[tuple]:
    """Per page, in page order: its blocks' features, context, labels and weights."""
    if workers <= 1:
        return [labelled(page) for page in pages]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(labelled, pages, chunksize=8)


def _classifier(params: dict, features, labels, weights):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    estimator = HistGradientBoostingClassifier(**params, early_stopping=False, random_state=0)
    with threadpool_limits(1):  # one thread: float sums in one order, the same trees every time
        return estimator.fit(features, labels, sample_weight=weights)


def forest(estimator, features: np.ndarray) -> Forest:
    """A fitted binary HistGradientBoostingClassifier as the packaged model's arrays (numerical splits
    only: the features are numbers). A leaf becomes its own child, so every row walks a tree's full depth.

    Each threshold becomes the midpoint of the two values of its feature in ``features`` (the training
    rows) on either side of it: the same split of every training row, and a file that does not depend on
    the last bits of scikit-learn's binning arithmetic, which differ from one CPU to another (numpy's
    vectorized sums)."""
    trees = [predictors[0].nodes for predictors in estimator._predictors]  # one tree per iteration
    if any(nodes["is_categorical"].any() for nodes in trees):
        raise ValueError("categorical splits are not supported by the packaged model")
    starts = np.cumsum([0] + [len(nodes) for nodes in trees])
    children, feature, leaves = [], [], []
    for nodes, start in zip(trees, starts[:-1], strict=True):
        own = np.arange(len(nodes)) + start
        leaf = nodes["is_leaf"].astype(bool)
        right = np.where(leaf, own, nodes["right"].astype(np.int64) + start)
        left = np.where(leaf, own, nodes["left"].astype(np.int64) + start)
        children.append(np.column_stack([right, left]).ravel())
        feature.append(np.where(leaf, 0, nodes["feature_idx"]))
        leaves.append(leaf)
    feature = np.concatenate(feature).astype(np.intp)
    split = ~np.concatenate(leaves)
    return Forest(
        baseline=float(estimator._baseline_prediction.ravel()[0]),
        feature=feature,
        threshold=_snapped(np.concatenate([n["num_threshold"] for n in trees]), feature, split, features),
        missing_left=np.concatenate([nodes["missing_go_to_left"] for nodes in trees]).astype(np.intp),
        children=np.concatenate(children).astype(np.intp),
        value=np.concatenate([nodes["value"] for nodes in trees]).astype(np.float64),
        roots=starts[:-1].astype(np.intp),
        depths=np.array([int(nodes["depth"].max()) for nodes in trees], dtype=np.intp),
    )


def _snapped(thresholds: np.ndarray, feature: np.ndarray, split: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each split's threshold as the midpoint between the training values of its feature around it."""
    snapped = thresholds.astype(np.float64)
    for column in np.unique(feature[split]):
        values = np.unique(rows[:, column])
        values = values[~np.isnan(values)]
        at = np.flatnonzero(split & (feature == column))
        below = np.searchsorted(values, snapped[at], side="right") - 1
        inside = (below >= 0) & (below + 1 < len(values))  # a value on each side (always, for a real split)
        low, high = values[below[inside]], values[below[inside] + 1]
        snapped[at[inside]] = (low + high) * 0.5
    return snapped


def fit_examples(data, corpus_of: list[str], training_sha1: str, params: dict | None = None) -> BlockModel:
    """The model fitted on per-page examples; ``corpus_of`` names each page's corpus.

    Every corpus weighs the same in total: a corpus of 37 pages teaches as much as one of 300. The second
    look learns from first-look probabilities the first look gave without seeing the page (out of fold).
    """
    sizes = {corpus: corpus_of.count(corpus) for corpus in set(corpus_of)}
    share = {c: CORPUS_WEIGHT.get(c, 1.0) * len(corpus_of) / (len(sizes) * n) for c, n in sizes.items()}
    kept = [(d, corpus) for d, corpus in zip(data, corpus_of, strict=True) if len(d[2])]
    features = np.vstack([d[0] for d, _ in kept])
    context = np.vstack([d[1] for d, _ in kept])
    labels = np.concatenate([d[2] for d, _ in kept])
    weights = np.concatenate([d[3] * share[corpus] for d, corpus in kept])
    page = np.repeat(np.arange(len(kept)), [len(d[2]) for d, _ in kept])
    params = {**PARAMS, **(params or {})}
    fold = page % FOLDS
    first_look = np.zeros(len(labels))
    for k in range(FOLDS):
        seen = fold != k
        model = _classifier(params, features[seen], labels[seen], weights[seen])
        first_look[~seen] = model.predict_proba(features[~seen])[:, 1]
    first = _classifier(params, features, labels, weights)
    second_features = np.hstack([features, context_features(first_look, context, page)])
    second = _classifier(params, second_features, labels, weights)
    details = {"params": params, "pages": len(kept), "blocks": int(len(labels)), "folds": FOLDS}
    first, second = forest(first, features), forest(second, second_features)
    return BlockModel(first, second, THRESHOLD, COMMENT_THRESHOLD, VERSION, training_sha1, details=details)


def fit(pages: list[corpora.Page], params: dict | None = None) -> BlockModel:
    """The block model fitted on ``pages``."""
    return fit_examples(examples(pages), [page.corpus for page in pages], corpora.fingerprint(pages), params)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the packaged model")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    if corpora.missing():
        print(f"benchmark sets not found: {', '.join(map(str, corpora.missing()))}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    pages = corpora.load()
    model = fit(pages)
    data = model.dumps()
    seconds = time.perf_counter() - started
    print(f"{model.details['pages']} pages, {model.details['blocks']:,} blocks, {seconds:.1f} s")
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == data
        print(f"{args.out}: {'identical' if same else 'DIFFERS from a retrained model'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    loads(data)
    print(f"wrote {args.out} ({len(data) / 1024:.0f} KiB), training data sha1 {model.training_sha1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
