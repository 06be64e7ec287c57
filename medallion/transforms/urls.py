"""URL canonicalization: one spelling per page, so duplicates under URL variants are found.

Pure and stdlib only. ``canonicalize`` never raises anything but ``InvalidURL`` and is idempotent. A host is
a domain name (lowercase; international names to punycode, IDNA 2003 as the stdlib has it; one trailing dot
dropped), a dotted-quad IPv4 address, or a bracketed IPv6 address (compressed, lowercase; no zone). Ingest
accepts exactly the URLs this canonicalizes, so url-normalization never meets one it cannot.
"""

from __future__ import annotations

import ipaddress
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
BRACKETED_RE = re.compile(r"^\[[^\[\]]+\](:[0-9]*)?$")  # '[' address ']' then at most a port
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


def _ip_host(hostport: str, hostname: str) -> str:
    """A bracketed IPv6 literal in its one spelling: lowercase, compressed (``[2001:db8::1]``)."""
    if not BRACKETED_RE.match(hostport):
        raise InvalidURL("malformed-url", f"invalid bracketed host {hostport!r}")
    if "%" in hostname:
        raise InvalidURL("malformed-url", f"IPv6 host {hostname!r} has a zone: it names a local interface")
    try:
        return f"[{ipaddress.IPv6Address(hostname)}]"
    except ValueError as exc:
        raise InvalidURL("malformed-url", f"[{hostname}] is not an IPv6 address") from exc


def _host(hostname: str, strip_www: bool) -> str:
    """A domain name (lowercase, IDNA to punycode, one trailing dot dropped) or a dotted-quad IPv4 address."""
    host = hostname.strip().lower()
    host = host[:-1] if host.endswith(".") else host
    if not host:
        raise InvalidURL("no-host", "the URL has no host")
    try:
        # The stdlib codec (IDNA 2003) maps a Unicode host to punycode and decoding an xn-- label checks
        # that it round-trips, so a host that is not a valid international domain name fails here.
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
        if "xn--" in host:
            host.encode("ascii").decode("idna")
    except UnicodeError as exc:
        raise InvalidURL("malformed-url", f"host {hostname!r} is not a valid domain name") from exc
    labels = host.split(".")
    if not HOST_RE.match(host) or len(host) > 253 or any(not 0 < len(x) <= 63 for x in labels):
        raise InvalidURL("malformed-url", f"host {hostname!r} is not a valid domain name")
    if any(label.startswith("-") for label in labels):
        raise InvalidURL("malformed-url", f"host {hostname!r} has a label that starts with '-'")
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # A numeric last label is an IPv4 address: only the dotted quad, as browsers read 127.1 or 0x7f.1
        # as other spellings of an address, and 010 as octal.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError as exc:
            raise InvalidURL("malformed-url", f"host {hostname!r} is not a dotted-quad IPv4 address") from exc
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
    hostport = parts.netloc.rpartition("@")[2]
    host = _ip_host(hostport, hostname) if hostport.startswith("[") else _host(hostname, strip_www)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_encode(parts.path or "/", PATH_SAFE))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    canonical = urlunsplit((scheme, netloc, path, _query(parts.query), ""))
    if len(canonical) > max_length:  # percent-encoding can lengthen a URL; the limit holds for both
        raise InvalidURL(
            "url-too-long",
            f"the canonical URL has {len(canonical):,} characters; the limit is {max_length:,}",
        )
    return canonical


def host_of(canonical_url: str) -> str:
    """The host of a canonical URL (no port)."""
    netloc = urlsplit(canonical_url).netloc
    if netloc.startswith("["):
        return netloc.split("]")[0] + "]"
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
