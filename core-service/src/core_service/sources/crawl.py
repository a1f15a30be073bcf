"""The parts of crawling that only read bytes: robots.txt, sitemaps, links, URL filters.

They run in the worker on bounded bodies: the sitemap through defusedxml (no entity expansion,
no external entities), links through the standard library's streaming HTML parser.
"""

import fnmatch
import io
import urllib.robotparser
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from core_service.documents.kinds import DocumentKind

__all__ = [
    "MAX_LINKS_PER_PAGE",
    "RobotsRules",
    "SitemapContent",
    "SitemapUnreadable",
    "UrlFilter",
    "links_of",
    "page_kind",
    "read_sitemap",
]

MAX_LINKS_PER_PAGE = 2_000
_PAGE_KINDS = {
    "text/html": DocumentKind.HTML,
    "application/xhtml+xml": DocumentKind.HTML,
    "application/pdf": DocumentKind.PDF,
    "text/plain": DocumentKind.TEXT,
    "text/markdown": DocumentKind.MARKDOWN,
}


def page_kind(content_type: str | None) -> DocumentKind | None:
    """The document kind of a page's ``Content-Type`` (html, pdf, text), or None: not indexed."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return _PAGE_KINDS.get(media_type)


class RobotsRules:
    """A site's robots.txt, read with the standard library's parser."""

    def __init__(self, text: str | None, *, user_agent: str) -> None:
        self._parser = urllib.robotparser.RobotFileParser()
        self._parser.parse((text or "").splitlines())
        self._agent = user_agent.split("/", 1)[0]

    @classmethod
    def disallow_all(cls, *, user_agent: str) -> "RobotsRules":
        """What a site that forbids reading its robots.txt (401/403) means."""
        return cls("User-agent: *\nDisallow: /", user_agent=user_agent)

    def allows(self, url: str) -> bool:
        """May our crawler fetch ``url``?"""
        return self._parser.can_fetch(self._agent, url)


@dataclass(frozen=True)
class UrlFilter:
    """Same site as the source, and the include/exclude globs (matched against the path)."""

    host: str
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()

    def accepts(self, url: str) -> bool:
        """Fetch ``url`` as a page of this source?"""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != self.host:
            return False
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        if self.include and not any(fnmatch.fnmatchcase(path, g) for g in self.include):
            return False
        return not any(fnmatch.fnmatchcase(path, glob) for glob in self.exclude)


def normalised(url: str) -> str:
    """``url`` without its fragment (one page, one document)."""
    return urldefrag(url)[0]


class _LinkCollector(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base":
            href = dict(attrs).get("href")
            self.base = urljoin(self.base, href) if href else self.base
        elif tag == "a" and len(self.links) < MAX_LINKS_PER_PAGE:
            href = dict(attrs).get("href")
            if href and not href.startswith(("javascript:", "mailto:", "#")):
                self.links.append(normalised(urljoin(self.base, href.strip())))


def links_of(html: bytes, *, base_url: str) -> list[str]:
    """The absolute targets of the page's ``<a href>`` links, first ones first, deduplicated."""
    collector = _LinkCollector(base_url)
    collector.feed(html.decode("utf-8", errors="replace"))
    collector.close()
    return list(dict.fromkeys(collector.links))


class SitemapUnreadable(Exception):
    """The sitemap is not a sitemap (not XML, or neither a urlset nor a sitemap index)."""


@dataclass(frozen=True)
class SitemapContent:
    """Page URLs a sitemap lists, and the sitemaps a sitemap index points to."""

    pages: list[str]
    sitemaps: list[str]


def read_sitemap(data: bytes, *, max_urls: int) -> SitemapContent:
    """The first ``max_urls`` ``<loc>`` entries; stops reading there, however big the file."""
    pages: list[str] = []
    sitemaps: list[str] = []
    try:
        for kind, loc in _locations(data):
            (sitemaps if kind == "sitemap" else pages).append(loc)
            if len(pages) + len(sitemaps) >= max_urls:
                break
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise SitemapUnreadable("the sitemap is not valid XML") from exc
    if not pages and not sitemaps:
        raise SitemapUnreadable("the sitemap lists no URLs")
    return SitemapContent(pages=pages, sitemaps=sitemaps)


def _locations(data: bytes) -> Iterator[tuple[str, str]]:
    """``("url" | "sitemap", loc)`` for each entry, parsed incrementally and forgotten."""
    root_seen = False
    container = "url"
    for event, element in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
        local = element.tag.rsplit("}", 1)[-1]
        if event == "start":
            if not root_seen and local not in ("urlset", "sitemapindex"):
                raise SitemapUnreadable("the XML is not a sitemap")
            root_seen = True
            container = local if local in ("url", "sitemap") else container
            continue
        if local == "loc" and element.text and element.text.strip():
            yield container, element.text.strip()
        if local in ("url", "sitemap"):
            element.clear()
