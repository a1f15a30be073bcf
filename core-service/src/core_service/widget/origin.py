"""Whether a request comes from the hosted chat page of this very service.

The hosted page (``/embed``) runs on the core's own origin, so its calls carry that origin, not
the embedding site's. The browser vouches for it: ``Sec-Fetch-Site: same-origin`` cannot be set
by a script, and the ``Origin`` it sends names this host. Which sites may show the page at all
is enforced by the page's ``frame-ancestors`` (the key's allowed origins).
"""

from urllib.parse import urlsplit

from fastapi import Request

__all__ = ["from_hosted_page"]


def from_hosted_page(request: Request) -> bool:
    """True for a browser's same-origin request from a page of this service.

    Browsers send no ``Origin`` on a same-origin GET; when one is sent, it must name this host.
    """
    if request.headers.get("sec-fetch-site") != "same-origin":
        return False
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    return origin is None or urlsplit(origin).netloc.lower() == host.lower()
