"""URL canonicalization: each rule, each rejection reason, and properties over arbitrary strings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion.transforms.urls import InvalidURL, canonicalize, host_of


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTPS://News.Example.COM/Path", "https://news.example.com/Path"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://www.com/a", "https://www.com/a"),  # 'www' is the domain itself here
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?gclid=1&fbclid=2&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?z=1&a=2&a=1", "https://example.com/a?a=1&a=2&z=1"),
        ("https://example.com/a?flag&x=", "https://example.com/a?flag&x="),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/../../x", "https://example.com/x"),
        ("https://example.com//a///b/", "https://example.com/a/b"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/%7euser/%e2%82%ac", "https://example.com/~user/%E2%82%AC"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("http://example.com/a", "http://example.com/a"),  # http and https stay distinct
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        ("https://example.com/a?q=a%2Fb", "https://example.com/a?q=a%2Fb"),
    ],
)
def test_canonical_forms(url, expected):
    assert canonicalize(url) == expected
    assert canonicalize(expected) == expected


def test_www_can_be_kept():
    assert canonicalize("https://www.example.com/", strip_www=False) == "https://www.example.com/"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("", "empty-url"),
        ("   ", "empty-url"),
        ("javascript:alert(1)", "not-http"),
        ("mailto:a@example.com", "not-http"),
        ("ftp://example.com/x", "not-http"),
        ("data:text/html,hi", "not-http"),
        ("/relative/path", "not-http"),
        ("https:///nohost", "no-host"),
        ("https://example.com:99999/", "malformed-url"),
        ("https://exa mple.com/", "malformed-url"),
        ("https://example.com/\x00", "malformed-url"),
        ("https://" + "a" * 5000 + ".com/", "url-too-long"),
    ],
)
def test_rejections(url, reason):
    with pytest.raises(InvalidURL) as caught:
        canonicalize(url)
    assert caught.value.reason == reason


def test_non_string_is_rejected():
    with pytest.raises(InvalidURL):
        canonicalize(None)  # type: ignore[arg-type]


def test_host_of():
    assert host_of("https://example.com:8443/a") == "example.com"
    assert host_of("https://[2001:db8::1]/a") == "[2001:db8::1]"


URLISH = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    st.text(min_size=0, max_size=20),
    st.text(max_size=30).map(lambda s: "/" + s),
    st.text(max_size=30).map(lambda s: "?" + s),
    st.text(max_size=10).map(lambda s: "#" + s),
)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | URLISH)
def test_never_raises_anything_else_and_is_idempotent(url):
    try:
        once = canonicalize(url)
    except InvalidURL as exc:
        assert exc.reason in {"empty-url", "not-http", "no-host", "url-too-long", "malformed-url"}
        return
    assert canonicalize(once) == once


# -- hosts: one rule for ingest and url-normalization -----------------------------------------------------

TRICKY_HOSTS = [  # URL -> its canonical form, or the reason ingest rejects it
    ("http://[::1]/", "http://[::1]/"),
    ("http://[::1]:8080/a", "http://[::1]:8080/a"),
    ("https://[2001:DB8:0:0:0:0:0:1]:443/a", "https://[2001:db8::1]/a"),
    ("http://user:pw@[::1]:80/", "http://[::1]/"),
    ("http://[fe80::1%25eth0]/", "malformed-url"),  # a zone names an interface of one machine
    ("http://[fe80::1%eth0]/", "malformed-url"),
    ("http://[v1.x]/", "malformed-url"),  # IPvFuture
    ("http://[::1]]/", "malformed-url"),
    ("http://[::1]x/", "malformed-url"),
    ("http://[1:2:3:4:5:6:7:8:9]/", "malformed-url"),
    ("http://127.0.0.1/", "http://127.0.0.1/"),
    ("http://10.0.0.7:8080/x", "http://10.0.0.7:8080/x"),
    ("http://127.1/", "malformed-url"),  # browsers read these as other spellings of an address
    ("http://0x7f.0.0.1/", "malformed-url"),
    ("http://010.0.0.1/", "malformed-url"),
    ("http://256.1.1.1/", "malformed-url"),
    ("http://1.2.3.4.5/", "malformed-url"),
    ("http://b\u00fccher.example/a", "http://xn--bcher-kva.example/a"),
    ("http://B\u00dcCHER.example/a", "http://xn--bcher-kva.example/a"),
    ("http://XN--BCHER-KVA.example/a", "http://xn--bcher-kva.example/a"),
    ("http://www.b\u00fccher.example/", "http://xn--bcher-kva.example/"),
    ("http://\uff41\uff42\uff43\uff0eexample/", "http://abc.example/"),  # fullwidth letters and dot
    ("http://xn--zzzz.example/", "malformed-url"),  # punycode that does not decode
    ("http://xn--.example/", "malformed-url"),
    ("http://" + "\u00e9" * 70 + ".example/", "malformed-url"),  # label over 63 characters
    ("http://" + "a" * 64 + ".example/", "malformed-url"),
    ("http://" + "a." * 130 + "example/", "malformed-url"),  # host over 253 characters
    ("http://example.com./a", "http://example.com/a"),
    ("http://example.com../a", "malformed-url"),
    ("http://a..b.example/", "malformed-url"),
    ("http://-a.example/", "malformed-url"),
    ("http://a_b.example/", "http://a_b.example/"),
    ("HTTP://NEWS.Example.COM:80/A", "http://news.example.com/A"),
    ("http://%65xample.com/", "malformed-url"),
    ("http://example.com:65536/", "malformed-url"),
    ("https://example.com/" + "\u20ac" * 1000, "url-too-long"),  # too long once percent-encoded
]


@pytest.mark.parametrize("url, expected", TRICKY_HOSTS)
def test_tricky_hosts_are_canonical_or_rejected_at_ingest(url, expected):
    """What ingest accepts is what url-normalization can canonicalize and its contract accepts."""
    import json

    from medallion.core import contracts
    from steps.ingest import Rejected, validate_line

    record = {"url": url, "html": "<p>x</p>", "timestamp": "2026-11-23T08:00:00Z"}
    if "://" not in expected:
        with pytest.raises(Rejected) as caught:
            validate_line(json.dumps(record).encode(), "2026-11-23")
        assert caught.value.reason == "invalid-url" and f"({expected})" in caught.value.detail
        return
    validate_line(json.dumps(record).encode(), "2026-11-23")
    assert contracts.contract("raw").check(record) is None
    assert canonicalize(url) == expected and canonicalize(expected) == expected
    silver = contracts.contract("url-normalization", ("url", "source_url", "host"))
    assert silver.check({"url": expected, "source_url": url, "host": host_of(expected)}) is None


HOSTISH = st.builds(
    lambda scheme, host, port: f"{scheme}://{host}{port}/p",
    st.sampled_from(["http", "https"]),
    st.one_of(
        st.text(st.sampled_from("abcXYZ019-_.:[]%\u00fc\u00df\uff0e"), max_size=20),
        st.ip_addresses().map(lambda ip: f"[{ip.exploded}]" if ip.version == 6 else str(ip)),
        st.from_regex(r"\A\[[0-9a-fA-F:.]{2,20}\]\Z"),
    ),
    st.sampled_from(["", ":80", ":8080", ":", ":99999"]),
)


@settings(max_examples=500, deadline=None)
@given(HOSTISH)
def test_every_accepted_host_passes_the_silver_contract(url):
    from medallion.core import contracts

    try:
        once = canonicalize(url)
    except InvalidURL:
        return
    silver = contracts.contract("url-normalization", ("url", "host"))
    assert silver.check({"url": once, "host": host_of(once)}) is None, once
    assert canonicalize(once) == once
