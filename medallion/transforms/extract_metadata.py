"""Page metadata for main-content extraction: title, description, language and charset from the head, and
the article's headline chosen among ``<title>``, og:title and ``<h1>``.
"""

from __future__ import annotations

import re

from medallion.transforms.extract_parsing import attribute, collapse_spaces

CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
TITLE_SEPARATORS = re.compile(r"\s+(?:[|–—·•:»/\\]|-{1,2})\s+")


def head_metadata(root) -> tuple[str, str, str, str, str]:
    """(html title, og/twitter title, description, language, charset) from the head."""
    html_title = og_title = description = og_description = charset = ""
    for el in root.iter("title", "meta"):
        if el.tag == "title":
            html_title = html_title or collapse_spaces(el.text)
            continue
        name = (attribute(el, "name") or attribute(el, "property") or attribute(el, "itemprop")).lower()
        content = collapse_spaces(attribute(el, "content"))
        if name in ("og:title", "twitter:title", "headline") and not og_title:
            og_title = content
        elif name == "description" and not description:
            description = content
        elif name in ("og:description", "twitter:description") and not og_description:
            og_description = content
        if attribute(el, "charset") and not charset:
            charset = attribute(el, "charset").strip().lower()
        elif attribute(el, "http-equiv").lower() == "content-type" and not charset:
            match = CHARSET.search(attribute(el, "content"))
            charset = match.group(1).lower() if match else ""
    language = attribute(root, "lang") or attribute(root, "xml:lang")
    if not language:
        for el in root.iter("meta"):
            if attribute(el, "http-equiv").lower() == "content-language":
                language = attribute(el, "content")
                break
    language = re.split(r"[-_,;\s]", language.strip().lower(), maxsplit=1)[0] if language.strip() else ""
    return html_title, og_title, description or og_description, language, charset


def headline(root, html_title: str, og_title: str) -> str:
    """The article headline: og:title or an <h1> that agrees with <title>, else <title> without its suffix."""
    h1s = [collapse_spaces("".join(h.itertext())) for h in root.iter("h1")]
    h1s = [h for h in h1s if h]
    folded = html_title.casefold()
    for h1 in h1s:
        if h1.casefold() in folded or (og_title and h1.casefold() == og_title.casefold()):
            return h1
    if og_title and (og_title.casefold() in folded or not html_title):
        return og_title
    if html_title:
        parts = TITLE_SEPARATORS.split(html_title)
        if len(parts) > 1:
            # The site name is the short side; the headline is the longest part.
            return max(parts, key=len).strip()
        return html_title
    return og_title or (h1s[0] if h1s else "")
