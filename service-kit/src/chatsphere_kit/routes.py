"""What the app's routes say about a request, read through FastAPI's public route listing.

``fastapi.routing.iter_route_contexts`` lists every route with its full path (an included
router's prefix included), which ``route.path`` of an included route lacks.
"""

import re
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope

__all__ = ["RouteTable", "app_route_table", "route_table"]


@dataclass(frozen=True, slots=True)
class _RouteEntry:
    template: str
    pattern: re.Pattern[str]
    parameters: int
    methods: frozenset[str]


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Every HTTP route of an app with its full path template, built once per app."""

    entries: tuple[_RouteEntry, ...]
    templates: dict[int, str]

    def template_of(self, scope: Scope) -> str | None:
        """The full template of the route the router chose for ``scope`` (None if none)."""
        route = scope.get("route")
        return None if route is None else self.templates.get(id(route))

    def template_for(self, method: str, path: str) -> str | None:
        """The template of the route that answers ``method`` at ``path`` (None if none)."""
        matching = [e for e in self.entries if method in e.methods and e.pattern.match(path)]
        best = min(matching, key=lambda entry: entry.parameters, default=None)
        return None if best is None else best.template

    def allowed_methods(self, path: str) -> list[str]:
        """Every method a route answers at ``path``; a literal segment beats a parameter.

        At ``/documents/text`` only the ``text`` route's methods count, not those of
        ``/documents/{document_id}``.
        """
        matching = [entry for entry in self.entries if entry.pattern.match(path)]
        fewest = min((entry.parameters for entry in matching), default=0)
        methods = {m for entry in matching if entry.parameters == fewest for m in entry.methods}
        return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def route_table(routes: list[BaseRoute]) -> RouteTable:
    """The table of ``routes`` (an app's ``routes``); build it after every router is included."""
    entries: list[_RouteEntry] = []
    templates: dict[int, str] = {}
    for context in iter_route_contexts(routes):
        template, methods = context.path_format, context.methods
        if template is None or methods is None:
            continue
        templates[id(context.original_route)] = template
        pattern = context.path_regex
        entries.append(
            _RouteEntry(template, pattern, len(context.param_convertors), frozenset(methods))
        )
    return RouteTable(entries=tuple(entries), templates=templates)


def app_route_table(scope: Scope) -> RouteTable:
    """The route table of the app serving ``scope``, built on first use (its routes are fixed)."""
    state = scope["app"].state
    table: RouteTable | None = getattr(state, "route_table", None)
    if table is None:
        table = route_table(scope["app"].routes)
        state.route_table = table
    return table
