"""Releases: the pure core of a training set built across days.

``window`` settles which batch dates a release takes; ``freshest`` keeps one crawl per canonical URL;
``NearDuplicates`` finds text already taken under another URL (MinHash LSH, datasketch); ``split_of``
puts a document in train, validation or test from a hash of its canonical URL alone, so it keeps its split
from one release to the next whatever else the window holds.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

SPLITS = ("train", "validation", "test")


def parse_splits(text: str) -> tuple[float, float, float]:
    """``train,validation,test`` fractions: three numbers from 0 to 1 that add up to 1, train above 0."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or any(v < 0 or v > 1 for v in values) or abs(sum(values) - 1) > 1e-9:
        raise ValueError(
            f"--splits must be three fractions train,validation,test adding up to 1, got {text!r}"
        )
    if values[0] == 0:
        raise ValueError(f"--splits gives train no documents ({text!r}): nothing could be trained on")
    return values  # type: ignore[return-value]


def split_of(url: str, fractions: tuple[float, float, float]) -> str:
    """The split of the document at ``url``: where the first 64 bits of its SHA1 fall in [0, 1)."""
    point = int.from_bytes(hashlib.sha1(url.encode("utf-8")).digest()[:8], "big") / 2**64
    if point < fractions[0]:
        return SPLITS[0]
    if point < fractions[0] + fractions[1]:
        return SPLITS[1]
    return SPLITS[2]


def window(
    available: list[str], first: str | None, last: str | None, days: int | None
) -> tuple[str, str, list[str], list[str]]:
    """``(from, to, dates taken, dates missing)``: the window's bounds (by default the earliest and latest
    of ``available``; ``days`` counts back from ``to``), the available dates inside it and the dates in it
    that have no batch. Raises ValueError for an empty or inverted window."""
    if not available and (first is None or last is None):
        raise ValueError("no batch at all to take the window from")
    last = last or max(available)
    if days is not None:
        if days < 1:
            raise ValueError(f"--days must be 1 or more, got {days}")
        first = (date.fromisoformat(last) - timedelta(days=days - 1)).isoformat()
    first = first or min(available)
    if first > last:
        raise ValueError(f"the window is inverted: --from {first} is after --to {last}")
    taken = sorted(d for d in set(available) if first <= d <= last)
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
    every = [(date.fromisoformat(first) + timedelta(days=i)).isoformat() for i in range(span)]
    return first, last, taken, [d for d in every if d not in set(taken)]


def freshest(crawls) -> dict[str, tuple]:
    """``url -> (timestamp, date, position)`` of each URL's freshest crawl among ``crawls``, an iterable
    of ``(url, timestamp, date, position)``; ties go to the later batch, then the later row."""
    best: dict[str, tuple] = {}
    for url, timestamp, day, position in crawls:
        candidate = (timestamp, day, position)
        if url not in best or candidate > best[url]:
            best[url] = candidate
    return best


def shingles(text: str, size: int) -> set[bytes]:
    """The word ``size``-grams of ``text``, lowercased (the whole text when it is shorter)."""
    words = text.lower().split()
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


class NearDuplicates:
    """Texts seen so far, in a MinHash LSH index: ``first(key, text)`` is the key of an earlier text whose
    estimated Jaccard similarity reaches ``threshold``, or None (and the text is then taken in)."""

    def __init__(self, threshold: float, num_perm: int = 128, shingle_size: int = 3, seed: int = 1):
        from datasketch import MinHashLSH

        if not 0 < threshold <= 1:
            raise ValueError(f"the near-duplicate threshold must be above 0 and at most 1, got {threshold}")
        self.num_perm, self.shingle_size, self.seed = num_perm, shingle_size, seed
        from datasketch import MinHash

        self.index = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.threshold = threshold
        self.scheme = "affine32"  # datasketch's default permutation scheme, named: signatures must agree
        self._permutations = MinHash(num_perm=num_perm, seed=seed, scheme=self.scheme).permutations
        self._signatures: dict[str, object] = {}  # key -> hash values (num_perm 64-bit numbers)

    def signature(self, text: str):
        from datasketch import MinHash

        signature = MinHash(
            num_perm=self.num_perm, seed=self.seed, scheme=self.scheme, permutations=self._permutations
        )
        signature.update_batch(sorted(shingles(text, self.shingle_size)))
        return signature

    def first(self, key: str, text: str) -> str | None:
        signature = self.signature(text)
        # LSH candidates are checked against the threshold on their signatures: a band collision alone
        # is not a duplicate. The earliest key among those that pass wins, whatever the index's order.
        matches = sorted(
            candidate
            for candidate in self.index.query(signature)
            if float((self._signatures[candidate] == signature.hashvalues).mean()) >= self.threshold
        )
        if matches:
            return matches[0]
        self.index.insert(key, signature)
        self._signatures[key] = signature.hashvalues
        return None
