"""Decoding a page's bytes for main-content extraction, so that no page is misread as UTF-8.

1. A byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins.
2. Else the charset declared in the first 4 KB (``<meta charset>``, ``<meta http-equiv="Content-Type"
   content="...; charset=...">``, or an XML declaration), read as a WHATWG label: latin1, iso-8859-1
   and us-ascii mean windows-1252, gb2312 means gbk, a meta's UTF-16 means UTF-8; Python's spellings
   (latin-1, iso8859_1) count too, and an unknown label counts as none. Pages lie: valid non-ASCII
   UTF-8 is UTF-8 whatever they declare, a declared UTF-8 that is not counts as none, and a UTF-8 page
   with a few lone stray windows-1252 bytes (pasted text) is UTF-8 with those bytes as windows-1252.
3. With no declaration: UTF-8 if the bytes are valid UTF-8 (pure ASCII too); else what
   ``charset_normalizer`` detects, windows-1252 winning ties; else windows-1252, the web's default.

The name returned is WHATWG's (``utf-8``, ``windows-1252``, ``gbk``, ``shift_jis``...), the text is
decoded with the superset codec browsers use, and decoding never fails (U+FFFD as a last resort).
"""

from __future__ import annotations

import codecs
import contextlib
import re

import webencodings

PRESCAN_BYTES = 4096
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16le"), (codecs.BOM_UTF16_BE, "utf-16be"))
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([^\s\"';/>]{1,40})", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']?([^\s\"'?>]{1,40})", re.IGNORECASE)
_HIGH_BYTES = re.compile(rb"[\x80-\xff]+")
# WHATWG's decoders for these are Python's supersets (gb18030 for gbk, windows-31j for shift_jis...).
_PYTHON_CODEC = {"gbk": "gb18030", "big5": "big5hkscs", "euc-kr": "cp949", "shift_jis": "cp932"}
# What detection may answer, most preferred first (charset_normalizer's codec -> WHATWG name).
_DETECTABLE = {
    **{f"cp125{i}": f"windows-125{i}" for i in (2, 0, 1, 3, 4, 5, 6, 7, 8)},
    **{"cp874": "windows-874", "koi8_r": "koi8-r", "cp866": "ibm866", "mac_roman": "macintosh"},
    **{"iso8859_2": "iso-8859-2", "gb18030": "gbk", "big5": "big5", "cp932": "shift_jis"},
    **{"euc_jp": "euc-jp", "cp949": "euc-kr"},
}
# WHATWG windows-1252 maps every byte: the five Python leaves undefined are C1 controls.
_WINDOWS_1252 = [bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256)]


def _as_windows_1252(err: UnicodeDecodeError) -> tuple[str, int]:
    return "".join(_WINDOWS_1252[b] for b in err.object[err.start : err.end]), err.end


codecs.register_error("medallion-windows-1252", _as_windows_1252)


def decode_html(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a page's bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, "replace"), name
    declared = declared_encoding(data[:PRESCAN_BYTES])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if declared in (None, "utf-8") or not text.isascii():
            return text, "utf-8"  # valid non-ASCII UTF-8 is never legacy text by chance
        if declared != "iso-2022-jp":  # its escapes are ASCII; every other encoding reads ASCII as ASCII
            return text, declared
    if declared not in (None, "utf-8", "windows-1252"):
        return _decode(data, declared), declared
    if _utf8_with_strays(data):
        return data.decode("utf-8", "medallion-windows-1252"), "utf-8"
    name = "windows-1252" if declared == "windows-1252" else _detect(data)  # a false UTF-8 counts as none
    return _decode(data, name), name


def declared_encoding(head: bytes) -> str | None:
    """The WHATWG name of the charset the page's head declares, or None (no or unknown label)."""
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    label = match.group(1).decode("ascii", "replace") if match else ""
    encoding = webencodings.lookup(label)
    if match and encoding is None:  # Python's spelling of a label: latin-1, iso8859_1
        with contextlib.suppress(LookupError, ValueError):
            encoding = webencodings.lookup(codecs.lookup(label).name)
    if encoding is None or encoding.name == "replacement":
        return None
    if encoding.name in ("utf-16le", "utf-16be"):
        return "utf-8"  # a page that can be prescanned as ASCII is not UTF-16
    return "windows-1252" if encoding.name == "x-user-defined" else encoding.name


def _decode(data: bytes, name: str) -> str:
    if name == "windows-1252":
        return data.decode("cp1252", "medallion-windows-1252")
    codec = _PYTHON_CODEC.get(name) or webencodings.lookup(name).codec_info.name
    return data.decode(codec, "replace")


def _utf8_with_strays(data: bytes) -> bool:
    """Valid multi-byte UTF-8 with only lone invalid bytes between ASCII: legacy text has runs."""
    seen_utf8 = False
    for run in _HIGH_BYTES.findall(data):
        try:
            run.decode("utf-8")
            seen_utf8 = True
        except UnicodeDecodeError:
            if len(run) > 1:
                return False
    return seen_utf8


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes  # slow to import, and only undeclared legacy pages need it

    matches = from_bytes(data, cp_isolation=list(_DETECTABLE))
    best = matches.best()
    if best is None:
        return "windows-1252"
    # Code pages that read the bytes with no more mess and about as much sense as the best guess (English
    # with a few curly quotes reads alike in most) yield to the most common: windows-1252, the web's default.
    ties = {best.encoding}.union(
        *(
            m.could_be_from_charset
            for m in matches
            if m.percent_chaos <= best.percent_chaos and m.percent_coherence >= best.percent_coherence - 5
        )
    )
    return next((name for codec, name in _DETECTABLE.items() if codec in ties), "windows-1252")
