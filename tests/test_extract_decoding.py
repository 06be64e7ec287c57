"""decode_html: BOMs, declared charsets read as WHATWG labels, pages that lie, detection of undeclared
pages, and the broad benchmark set's pages that are not UTF-8."""

from __future__ import annotations

import collections
import gzip
import html
import json
import re
from pathlib import Path

import pytest

from medallion.transforms.extract_decoding import PRESCAN_BYTES, declared_encoding, decode_html

BROAD = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "extraction-broad"

FRENCH = (
    "L’été dernier, nous sommes allés au café près de la gare avec ma sœur. Le menu coûtait 25 € — "
    "“très cher” selon elle. Le garçon a répondu : « c’est la qualité ». Nous avons mangé une crème "
    "brûlée délicieuse, puis nous sommes rentrés à pied."
)
RUSSIAN = (
    "Москва - столица России, крупнейший по численности населения город страны. Город расположен на "
    "реке Москве в центре Восточно-Европейской равнины. Здесь находятся Кремль, Красная площадь и "
    "Большой театр, которые ежегодно посещают миллионы туристов."
)
CHINESE = (
    "北京是中华人民共和国的首都，是全国的政治中心、文化中心和国际交往中心。北京历史悠久，有三千多年的"
    "建城史。故宫、长城和天坛都是著名的名胜古迹，每年吸引大量游客前来参观。"
)
JAPANESE = (
    "東京は日本の首都であり、世界有数の大都市です。多くの人々が毎日電車で通勤しています。桜の季節には"
    "上野公園がとても賑やかになり、たくさんの花見客が訪れます。"
)

POLISH = (
    "Wrocław jest jednym z najpiękniejszych miast w Polsce, położonym nad Odrą. Rynek i ratusz przyciągają "
    "turystów przez cały rok. Zażółć gęślą jaźń, mówią dzieci w szkołach, ucząc się polskich liter."
)


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html>\n<html><head>{head}<title>Test page</title></head>"
        f"<body><div class='content'><h1>Heading</h1><p>{body}</p></div></body></html>"
    )


def meta(label: str) -> str:
    return f'<meta charset="{label}">'


def http_equiv(label: str) -> str:
    return f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'


CASES = {
    # case: (bytes, WHATWG name, words the text must hold)
    "latin1 label is windows-1252": (page(FRENCH, meta("latin1")).encode("cp1252"), "windows-1252", FRENCH),
    "latin-1 (Python's spelling)": (page(FRENCH, meta("latin-1")).encode("cp1252"), "windows-1252", FRENCH),
    "iso-8859-1 via http-equiv": (
        page(FRENCH, http_equiv("ISO-8859-1")).encode("cp1252"),
        "windows-1252",
        "ma sœur. Le menu coûtait 25 € — “très cher”",
    ),
    "windows-1251": (page(RUSSIAN, meta("windows-1251")).encode("cp1251"), "windows-1251", RUSSIAN),
    "gb2312 is gbk": (page(CHINESE, meta("gb2312")).encode("gbk"), "gbk", CHINESE),
    "shift_jis": (page(JAPANESE, http_equiv("Shift_JIS")).encode("cp932"), "shift_jis", JAPANESE),
    "iso-2022-jp is 7-bit": (
        page(JAPANESE, meta("iso-2022-jp")).encode("iso2022_jp"),
        "iso-2022-jp",
        JAPANESE,
    ),
    "utf-8 declared": (page(FRENCH + CHINESE, meta("utf-8")).encode(), "utf-8", FRENCH + CHINESE),
    "utf-8 undeclared": (page(RUSSIAN).encode(), "utf-8", RUSSIAN),
    "pure ASCII undeclared": (page("Plain words only.").encode(), "utf-8", "Plain words only."),
    "pure ASCII declared legacy": (page("Plain.", meta("iso-8859-1")).encode(), "windows-1252", "Plain."),
    "utf-8 BOM beats the declaration": (
        b"\xef\xbb\xbf" + page(FRENCH, meta("windows-1251")).encode(),
        "utf-8",
        FRENCH,
    ),
    "utf-16le BOM": (page(JAPANESE).encode("utf-16"), "utf-16le", JAPANESE),
    "utf-16be BOM": (b"\xfe\xff" + page(CHINESE).encode("utf-16-be"), "utf-16be", CHINESE),
    "utf-16 in a meta means utf-8": (page(FRENCH, meta("utf-16")).encode(), "utf-8", FRENCH),
    "xml declaration": (
        ('<?xml version="1.0" encoding="windows-1251"?>\n' + page(RUSSIAN)).encode("cp1251"),
        "windows-1251",
        RUSSIAN,
    ),
    "declares utf-8, is windows-1252": (page(FRENCH, meta("utf-8")).encode("cp1252"), "windows-1252", FRENCH),
    "declares iso-8859-1, is utf-8": (page(FRENCH, meta("iso-8859-1")).encode(), "utf-8", FRENCH),
    "declares gb2312, is utf-8": (page(CHINESE, meta("gb2312")).encode(), "utf-8", CHINESE),
    "utf-8 with stray windows-1252 bytes": (
        b"<p>Caf\xe9 owner\xe2\x80\x99s \xe2\x80\x9cspecial\xe2\x80\x9d</p>",  # pasted text: a lone \xe9
        "utf-8",
        "Café owner’s “special”",
    ),
    "undeclared windows-1252": (page(FRENCH).encode("cp1252"), "windows-1252", FRENCH),
    "undeclared windows-1251": (page(RUSSIAN).encode("cp1251"), "windows-1251", RUSSIAN),
    "undeclared gbk": (page(CHINESE).encode("gbk"), "gbk", CHINESE),
    "undeclared windows-1250 is not taken for windows-1252": (
        page(POLISH).encode("cp1250"),
        "windows-1250",
        POLISH,
    ),
    "undeclared shift_jis": (page(JAPANESE).encode("cp932"), "shift_jis", JAPANESE),
    "unknown label is undeclared": (
        page(RUSSIAN, meta("x-no-such-charset")).encode("cp1251"),
        "windows-1251",
        RUSSIAN,
    ),
}


@pytest.mark.parametrize("data, name, words", CASES.values(), ids=CASES.keys())
def test_decode_html(data, name, words):
    text, encoding = decode_html(data)
    assert encoding == name
    assert words in text
    assert "\ufffd" not in text


def test_windows_1252_maps_every_byte():
    text, encoding = decode_html(b'<meta charset="latin1"><p>\x93quoted\x94 \x96 \x80 5, \x81</p>')
    assert encoding == "windows-1252"
    # 0x81, which Python's cp1252 leaves undefined, is a C1 control as in browsers, not U+FFFD.
    assert "“quoted” – € 5, \x81" in text


def test_any_bytes_decode():
    for data in (b"", b"\xff\xfe\xfe", bytes(range(256)) * 8, b"<meta charset=utf-8>\xc3\x28\xa0\xa1"):
        text, encoding = decode_html(data)
        assert isinstance(text, str) and encoding == encoding.lower()


# --- the broad benchmark set ------------------------------------------------------------------------

WORD = re.compile(r"[^\W\d_]{4,}")
# Decodings a page could plausibly want; a truth word that none of them shows is an artefact of the
# gold standard (CleanEval's truth is itself mojibake in places: "B├ędard", "PequeÃ±as"), not evidence.
REFERENCE_CODECS = ("utf-8", "cp1252", "cp1250", "cp1251", "gb18030", "cp932", "mac_roman")


@pytest.fixture(scope="module")
def broad_non_utf8() -> dict[str, tuple[bytes, str]]:
    if not BROAD.is_dir():
        pytest.skip(f"the shared benchmark set is not at {BROAD}")
    truth = json.loads((BROAD / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for path in sorted((BROAD / "html").glob("*.html.gz")):
        data = gzip.decompress(path.read_bytes())
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pages[path.name.removesuffix(".html.gz")] = (
                data,
                truth[path.name.removesuffix(".html.gz")]["text"],
            )
    return pages


def evidence(data: bytes, truth: str) -> set[str]:
    """The truth's distinct words of 4+ letters with a non-ASCII letter that some decoding shows."""
    words = {w for w in WORD.findall(truth) if not w.isascii()}
    if not words:
        return words
    shown = "\n".join(html.unescape(data.decode(codec, "replace")) for codec in REFERENCE_CODECS)
    return {w for w in words if w in shown}


def misreadings(text: str, words: set[str]) -> list[str]:
    """Why ``text`` is not a correct decoding of a page showing ``words`` (empty when it reads right)."""
    problems = []
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if text.count("\ufffd") > 0.01 * non_ascii:
        problems.append(f"{text.count(chr(0xFFFD))} U+FFFD among {non_ascii} non-ASCII characters")
    found = html.unescape(text) if words else ""
    missing = sorted(w for w in words if w not in found)
    if len(missing) > 0.1 * len(words):
        problems.append(f"misses {len(missing)} of the truth's {len(words)} non-ASCII words: {missing[:5]}")
    return problems


def test_broad_set_pages_that_are_not_utf8(broad_non_utf8):
    decoded = {key: decode_html(data) for key, (data, _) in broad_non_utf8.items()}
    counts = collections.Counter(
        (declared_encoding(data[:PRESCAN_BYTES]) or "undeclared", decoded[key][1])
        for key, (data, _) in broad_non_utf8.items()
    )
    print(f"\n{len(broad_non_utf8)} pages are not UTF-8; (declared, decoded as): {dict(counts)}")
    words = {key: evidence(data, truth) for key, (data, truth) in broad_non_utf8.items()}
    failures = {key: misreadings(text, words[key]) for key, (text, _) in decoded.items()}
    assert not {key: why for key, why in failures.items() if why}
    # The check can fail: the same pages read as UTF-8 (with replacement) are caught, every one of them.
    as_utf8 = {
        key: misreadings(data.decode("utf-8", "replace"), words[key])
        for key, (data, _) in broad_non_utf8.items()
    }
    assert all(as_utf8.values())
    assert sum(any("misses" in why for why in problems) for problems in as_utf8.values()) >= 5
