"""Routes built when first needed, so that start-up does only what the first request needs.

- `DeclaredRoute`: FastAPI analyses a route (its dependencies, its parameter, body and response models:
  pydantic schemas and validators) when it is declared, and again, with the prefix and dependencies of
  the including router, in every router that includes it, when that router first matches a request.
  Requests and the OpenAPI document use the second analysis only, and every evalset route is declared
  on a router that is included (`api.v1`, `web.routes`), so the first was wasted: about 70 routes
  analysed at import. A `DeclaredRoute` skips it. Should anything ask the declared route itself for an
  analysed attribute (a router used on its own, another FastAPI version), it is analysed then, in full,
  exactly as an `APIRoute`.
- `LazyRoutes`: a group of routes (the web UI's pages) whose modules are imported and routes made when a
  request first reaches the group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, NoMatchFound, get_name
from starlette.types import Receive, Scope, Send

__all__ = ["DeclaredRoute", "LazyRoutes"]

_analysing = threading.Lock()


class DeclaredRoute(APIRoute):
    """An `APIRoute` analysed on first use of what the analysis produces (see the module's docstring).

    Holds at once only what an including router reads to analyse its own copy: the options as declared
    (`response_model` not yet inferred from the return annotation, `description` not yet taken from the
    docstring: the including router infers and takes them the same way), with the list and dict options
    as lists and dicts, `name` and `methods` as `APIRoute` computes them.
    """

    def __init__(self, path: str, endpoint: Any, **options: Any) -> None:
        if options.get("form_limits") is not None:  # validated by APIRoute, at once
            super().__init__(path, endpoint, **options)
            return
        self.__dict__["_declared"] = (path, endpoint, options)
        self.path = path
        self.endpoint = endpoint
        for option, default in _DEFAULTS.items():
            setattr(self, option, options.get(option, default))
        self.tags = list(self.tags or [])
        self.dependencies = list(self.dependencies or [])
        self.responses = dict(self.responses or {})
        self.name = get_name(endpoint) if self.name is None else self.name
        self.methods = {method.upper() for method in (self.methods or ["GET"])}
        self.stream_item_type = None
        self.form_limits = {}

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set above: the analysed ones (dependant, body_field, app, ...).
        declared = self.__dict__.get("_declared")
        if declared is None or name.startswith("__"):
            raise AttributeError(name)
        with _analysing:
            if "_declared" in self.__dict__:
                path, endpoint, options = declared
                APIRoute.__init__(self, path, endpoint, **options)
                del self.__dict__["_declared"]
        return object.__getattribute__(self, name)


def _declared_defaults() -> dict[str, Any]:
    import inspect

    parameters = inspect.signature(APIRoute.__init__).parameters
    return {
        name: parameter.default
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "form_limits"
    }


_DEFAULTS = _declared_defaults()
"""APIRoute's keyword options and their defaults (`Default(JSONResponse)`, ...), as its signature gives them."""


class LazyRoutes(BaseRoute):
    """A group of routes that `build()` makes when a request first reaches the group's place among the app's
    routes (or when `routes` is first read): what only they need is not imported before. Matches, handles and
    names URLs exactly as its routes would in its place."""

    _SELECTED = "evalset.lazy_route"
    """Scope key: the route of the group that `matches` chose, for `handle`."""

    def __init__(self, build: Callable[[], list[BaseRoute]]) -> None:
        self._build = build
        self._routes: list[BaseRoute] | None = None
        self._lock = threading.Lock()

    @property
    def routes(self) -> list[BaseRoute]:
        return self.make()

    def make(self) -> list[BaseRoute]:
        """The routes, made now if they were not yet."""
        if self._routes is None:
            with self._lock:
                if self._routes is None:
                    self._routes = self._build()
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, self._SELECTED: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], self._SELECTED: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._SELECTED not in scope:  # handled without being matched first: match now
            match, child_scope = self.matches(scope)
            if match is Match.NONE:
                raise RuntimeError("LazyRoutes.handle called for a request none of its routes matches")
            scope.update(child_scope)
        route: BaseRoute = scope.pop(self._SELECTED)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)
