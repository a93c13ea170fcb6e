"""The web UI at `/`: server-rendered pages over the same services as the JSON API.

```
web/
  session.py     signed session cookie, CSRF, the Visitor (who is signed in, what they may do)
  render.py      the Jinja2 environment; a page, or one block of it as a fragment
  caseform.py    the case form component: JSON Schema -> fields, form -> JSON, errors -> fields
  upload.py      CSV / JSONL upload: columns, mapping, every row checked before anything is written
  spantree.py    a trace's spans as a tree: nesting, running spans, durations, waterfall bars
  fromspan.py    Add to Dataset: the per-field mapping choices, whether a proposal fits the case form
  routes/        thin page routes (auth, datasets, cases, upload, keys, live, add_to_dataset)
  templates/     base.html (layout and navigation), one template per page, _macros.html components
  static/        style.css (one stylesheet on CSS custom properties), app.js (small enhancements)
```
Every page works without JavaScript; app.js adds in-place updates (fragments), live validation,
select-all and copy buttons, and the Live view's refresh (polling a block of the page, pausable).
A new section adds its routes and an entry to `render.NAV`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

__all__ = ["install_web"]

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    """Mount the static files, the pages and the page renderer of errors on `app`. The pages' routes are made,
    and their modules imported, when a request first reaches them (`LazyRoutes`, after the API's routes) or
    an error page is first rendered: an API-only process never loads them."""
    from evalset.server.routing import LazyRoutes

    app.state.render_error = render_error
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.web_pages = LazyRoutes(lambda: _page_routes(app))
    app.router.routes.append(app.state.web_pages)


def _page_routes(app: FastAPI) -> list[BaseRoute]:
    """The pages' routes, made by FastAPI's own inclusion of their routers (then taken out of the app's list,
    where LazyRoutes holds them), with the session signer they need."""
    from fastapi import Depends

    from evalset.server.api.inputs import check_text
    from evalset.server.web import routes
    from evalset.server.web.session import signer_for

    app.state.web_signer = signer_for(app.state.db)
    first, lifespan = len(app.router.routes), app.router.lifespan_context
    for router in routes.ROUTERS:  # pages meet the API's rule for unstorable text in paths and queries
        app.include_router(router, include_in_schema=False, dependencies=[Depends(check_text)])
    made = app.router.routes[first:]
    del app.router.routes[first:]
    app.router.lifespan_context = lifespan  # the app has started: its lifespan is not for the pages to wrap
    return made


async def render_error(request: Request, error: Any) -> Response:
    """A domain error on a browser route: sign-in for 401, else an error page (or its fragment)."""
    from evalset.server.errors import Unauthorized
    from evalset.server.web.render import fragment, page, redirect, wants_fragment
    from evalset.server.web.session import _visitor

    request.app.state.web_pages.make()  # the session signer is made with the pages (an error may come first)
    visitor = await _visitor(request)
    if isinstance(error, Unauthorized):
        signed_in = visitor.signed_in
        visitor.sign_out()
        if signed_in or request.url.path != "/":
            visitor.data["notice"] = error.detail
        response = redirect(visitor, "/signin", next=_next(request))
        if wants_fragment(request):
            response.headers["HX-Redirect"] = response.headers["location"]
        return response
    context = {"error": error, "status": error.status_code, "errors": getattr(error, "errors", [])}
    if wants_fragment(request):
        return fragment(visitor, "error.html", "error", status_code=error.status_code, **context)
    return page(visitor, "error.html", status_code=error.status_code, **context)


def _next(request: Request) -> str | None:
    if request.method != "GET" or request.url.path in ("/", "/signin"):
        return None
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")
