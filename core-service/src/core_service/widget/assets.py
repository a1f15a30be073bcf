"""The widget's static files, read once and served with validators and caching headers."""

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

__all__ = ["Asset", "asset", "embed_template"]

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, type and a strong validator (its content's digest)."""

    body: bytes
    media_type: str
    etag: str

    @property
    def version(self) -> str:
        """A short content digest: a new release gets new asset URLs, so old copies never serve."""
        return self.etag.strip('"')[:12]


@cache
def asset(name: str) -> Asset:
    """The packaged file ``static/<name>``."""
    body = resources.files(__package__).joinpath("static", name).read_bytes()
    suffix = name[name.rfind(".") :]
    return Asset(body=body, media_type=_TYPES[suffix], etag=f'"{hashlib.sha256(body).hexdigest()}"')


@cache
def embed_template() -> Template:
    """The hosted page, with ``$placeholders`` the router fills in (HTML-escaped)."""
    return Template(asset("embed.html").body.decode())
