"""URL canonicalization: each rule, each rejection reason, and properties over arbitrary strings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion.urls import InvalidURL, canonicalize, host_of


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
