"""URL canonicalization: one spelling per page, so duplicates under URL variants are found.

Pure and stdlib only. ``canonicalize`` never raises anything but ``InvalidURL`` and is idempotent.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "gclid",
        "gclsrc",
        "dclid",
        "fbclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "ref_src",
        "spm",
        "scid",
        "srsltid",
        "cmpid",
        "ncid",
        "sr_share",
        "ocid",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "matomo_", "hmb_", "vero_", "__s")

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 unreserved characters never need percent-encoding; decoding them makes equal URLs equal text.
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PERCENT_RE = re.compile(r"%([0-9A-Fa-f]{2})")
HOST_RE = re.compile(r"^[a-z0-9.\-_]+$")
IPV6_RE = re.compile(r"^\[[0-9a-f:.]+\]$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Characters kept as they are in a path or query component: reserved delimiters and '%' of an escape.
PATH_SAFE = "/:@!$&'()*+,;=%-._~"
QUERY_SAFE = "/:@!$'()*+,;?%-._~"


class InvalidURL(ValueError):
    """The URL cannot be canonicalized; ``reason`` is a machine-readable slug."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason


def _normalize_escapes(text: str) -> str:
    """Uppercase percent-escapes and decode those of unreserved characters."""

    def fix(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in UNRESERVED else "%" + match.group(1).upper()

    return PERCENT_RE.sub(fix, text)


def _encode(component: str, safe: str) -> str:
    # Lone '%' not followed by two hex digits must itself be encoded.
    component = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", component)
    return _normalize_escapes(quote(component, safe=safe, errors="surrogatepass"))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, with runs of slashes collapsed."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        elif segment == "" and not last:
            continue  # '//' collapses to '/'
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _host(netloc_host: str, strip_www: bool) -> str:
    host = netloc_host.strip().rstrip(".").lower()
    if not host:
        raise InvalidURL("no-host", "the URL has no host")
    if host.startswith("["):
        if not IPV6_RE.match(host):
            raise InvalidURL("malformed-url", f"invalid IPv6 host {host!r}")
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidURL("malformed-url", f"host {netloc_host!r} is not a valid domain name") from exc
    if not HOST_RE.match(host) or ".." in host or host.startswith((".", "-")):
        raise InvalidURL("malformed-url", f"host {netloc_host!r} has characters a host cannot have")
    if strip_www and host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _query(query: str) -> str:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        if _is_tracking(unquote(name)):
            continue
        pairs.append((_encode(name, QUERY_SAFE), eq, _encode(value, QUERY_SAFE + "=")))
    pairs.sort()
    return "&".join(f"{name}{eq}{value}" for name, eq, value in pairs)


def canonicalize(url: str, *, strip_www: bool = True, max_length: int = 4096) -> str:
    """The canonical form of an absolute http(s) URL (see the module docstring); raises ``InvalidURL``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidURL("empty-url", "the URL is empty")
    if len(url) > max_length:
        raise InvalidURL("url-too-long", f"the URL has {len(url):,} characters; the limit is {max_length:,}")
    text = url.strip()
    if CONTROL_RE.search(text):
        raise InvalidURL("malformed-url", "the URL contains control characters")
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise InvalidURL("not-http", f"scheme {parts.scheme or '(none)'!r} is not http or https")
        port = parts.port
        hostname = parts.hostname or ""
    except InvalidURL:
        raise
    except ValueError as exc:
        raise InvalidURL("malformed-url", f"cannot parse the URL: {exc}") from exc
    if "[" in parts.netloc and not hostname:
        raise InvalidURL("malformed-url", "invalid bracketed host")
    host = _host(f"[{hostname}]" if ":" in hostname else hostname, strip_www)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_encode(parts.path or "/", PATH_SAFE))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, _query(parts.query), ""))


def host_of(canonical_url: str) -> str:
    """The host of a canonical URL (no port)."""
    netloc = urlsplit(canonical_url).netloc
    if netloc.startswith("["):
        return netloc.split("]")[0] + "]"
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
