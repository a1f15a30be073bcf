"""Why a fetch was refused or failed: a refused URL is the client's mistake (422), a failed
fetch is the remote site's state, recorded on whatever asked for it."""

from core_service.errors import AppError

__all__ = ["FetchFailed", "UrlNotAllowed"]


class UrlNotAllowed(AppError):
    """The URL's scheme, port or addresses are outside what the service may reach."""

    code = "UrlNotAllowed"
    status_code = 422
    detail = "This URL cannot be fetched: only public http(s) addresses are allowed."


class FetchFailed(Exception):
    """The remote site did not give a usable answer (unreachable, too slow, too big, loops)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
