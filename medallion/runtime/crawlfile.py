"""Crawl files as the crawler writes them: JSON Lines, plain or gzip- or zstd-compressed.

What a file is comes from its first bytes, not its name; lines stream out decompressed, each at most
``MAX_LINE_BYTES`` long; a file that is no crawl, or a damaged stream, is one clear ``StepFailed``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from medallion.core.errors import StepFailed

MAX_LINE_BYTES = 32 * 1024 * 1024  # a line longer than this is not read into memory at all
# What a file's first bytes say it is: gzip and zstd are read, the others are refused by name.
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"PK\x03\x04": "a zip archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"\x04\x22\x4d\x18": "lz4-compressed",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
ACCEPTED_FILES = "JSON Lines in UTF-8, optionally gzip- or zstd-compressed"
DAMAGED = (OSError, EOFError, zlib.error, zstandard.ZstdError)  # what a broken compressed stream raises


def read_lines(handle, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[bytes, bool]]:
    """Lines of a binary file as (line, complete); a line over ``limit`` bytes is cut and skipped to its end."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield line[:4096], False
        else:
            yield line, True


def sniff(head: bytes) -> str:
    """What the first bytes of a crawl file say it is: ``gzip``, ``zstd``, ``text``, or what it is instead."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    # By share, not presence: a crawl may hold a junk line or two (quarantined as invalid-utf8); random
    # bytes are about 40% undecodable, UTF-16 and most binary formats are full of NULs.
    if head.count(b"\0") * 16 > len(head):
        return "UTF-16 text" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "binary data (NUL bytes)"
    if head.decode("utf-8", "replace").count("\ufffd") * 4 > len(head):
        return "binary data (not UTF-8 text)"
    return "text"


class ZstdFrames(io.RawIOBase):
    """The zstd frames of a file, one after another, decompressed as they are read.

    zstandard's ``stream_reader`` ends quietly when a file is cut inside a frame; this raises, as gzip does.
    Input goes in small bites so that one read never yields much more than a few blocks.
    """

    def __init__(self, raw: BinaryIO):
        self.raw, self.dctx, self.frame, self.out = raw, zstandard.ZstdDecompressor(), None, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.out:
            data = self.raw.read(1 << 12)
            if not data:
                if self.frame is not None:
                    raise zstandard.ZstdError("the file ends inside a frame (cut short?)")
                return 0
            out = []
            while data:
                self.frame = self.frame or self.dctx.decompressobj()
                out.append(self.frame.decompress(data))
                data = b""
                if self.frame.eof:  # the next frame starts in what this one left over
                    data, self.frame = self.frame.unused_data, None
            self.out = memoryview(b"".join(out))
        n = min(len(buffer), len(self.out))
        buffer[:n] = self.out[:n]
        self.out = self.out[n:]
        return n


@contextlib.contextmanager
def open_crawl(path: Path, name: str) -> Iterator[tuple[BinaryIO, str]]:
    """The crawl's lines as a binary stream, decompressed on the fly, and its compression ('' when plain).

    The compression is told by the magic bytes, not the file name; a file that is neither JSON Lines text
    nor gzip or zstd around it fails here, once, before any line is read.
    """
    with open(path, "rb", buffering=1 << 20) as raw:  # pages are long lines: read them in big bites
        kind = sniff(raw.read(8192))
        raw.seek(0)
        if kind == "gzip":
            stream = gzip.GzipFile(fileobj=raw)
        elif kind == "zstd":
            stream = io.BufferedReader(ZstdFrames(raw), 1 << 20)
        elif kind == "text":
            stream, kind = raw, ""
        else:
            raise StepFailed(f"crawl file {name} is {kind}; accepted: {ACCEPTED_FILES}")
        with stream:
            if kind:
                try:
                    inner = sniff(stream.peek(8192)[:8192])
                except DAMAGED as exc:
                    raise StepFailed(f"crawl file {name} is a damaged {kind} stream: {exc}") from exc
                if inner != "text":
                    raise StepFailed(
                        f"crawl file {name} is {kind}-compressed {inner}; accepted: {ACCEPTED_FILES}"
                    )
            yield stream, kind


def crawl_lines(stream: BinaryIO, kind: str, name: str) -> Iterator[tuple[bytes, bool]]:
    """``read_lines`` of the crawl stream; a damaged compressed stream stops the step with one clear error."""
    try:
        yield from read_lines(stream)
    except DAMAGED as exc:  # raised while reading only: the caller's own errors are not thrown in here
        what = f"is a damaged {kind} stream" if kind else "cannot be read"
        raise StepFailed(f"crawl file {name} {what}: {exc}") from exc
