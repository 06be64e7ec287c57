"""The two shared main-content benchmark sets as one list of pages, each tagged with its corpus.

- ``extraction-dev/``: 93 news and blog pages; their corpus is ``news``.
- ``extraction-broad/``: 937 pages of ``cleaneval``, ``dragnet``, ``l3s-gn1`` and ``readability``.

A page's ``raw`` is its bytes as published (encodings vary on the broad set); ``truth`` is the human-marked
main content. bench/extraction.py scores extractors on them and bench/train_extractor.py fits the
html-parsing block model on them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "benchmarks"
DEV = SHARED / "extraction-dev"
BROAD = SHARED / "extraction-broad"
CORPORA = ("news", "cleaneval", "dragnet", "l3s-gn1", "readability")


@dataclass(frozen=True, slots=True)
class Page:
    key: str
    corpus: str
    url: str
    raw: bytes
    truth: str


def load(dev: Path = DEV, broad: Path = BROAD, corpora: tuple[str, ...] = CORPORA) -> list[Page]:
    """Every page of both sets (those of ``corpora``), sorted by corpus then key."""
    pages: list[Page] = []
    if "news" in corpora:
        truth = json.loads((dev / "ground-truth.json").read_text())
        for key in sorted(truth):
            raw = gzip.decompress((dev / "html" / f"{key}.html.gz").read_bytes())
            pages.append(Page(key, "news", truth[key]["url"], raw, truth[key]["articleBody"]))
    truth = json.loads((broad / "ground-truth.json").read_text())
    for key in sorted(truth, key=lambda k: (truth[k]["corpus"], k)):
        entry = truth[key]
        if entry["corpus"] not in corpora:
            continue
        raw = gzip.decompress((broad / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, entry["corpus"], "", raw, entry["text"]))
    return pages


def missing(dev: Path = DEV, broad: Path = BROAD) -> list[Path]:
    """The ground-truth files that are not there (the sets live beside the repository)."""
    return [p / "ground-truth.json" for p in (dev, broad) if not (p / "ground-truth.json").is_file()]


def fingerprint(pages: list[Page]) -> str:
    """SHA1 over the pages' keys, bytes and truth, in order: the identity of a training set."""
    digest = hashlib.sha1()
    for page in pages:
        for part in (page.corpus, page.key, page.url):
            digest.update(part.encode() + b"\0")
        digest.update(hashlib.sha1(page.raw).digest())
        digest.update(hashlib.sha1(page.truth.encode()).digest())
    return digest.hexdigest()
