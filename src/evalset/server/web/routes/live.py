"""Live view pages: recent traces (searched, paged, refreshed in place) and a trace as a tree of spans."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from evalset.server.domain.auth import READ_DATASETS
from evalset.server.routing import DeclaredRoute
from evalset.server.services import traces
from evalset.server.web.render import fragment, page, wants_fragment
from evalset.server.web.routes.datasets import base_url
from evalset.server.web.session import VisitorDep
from evalset.server.web.spantree import build_tree, span_label

router = APIRouter(route_class=DeclaredRoute)
PAGE_SIZE = 50
MAX_ROWS = 2000
"""Most spans a trace page lists (a bigger trace lists the first ones in tree order; the API has them all)."""


@router.get("/live")
def live_page(visitor: VisitorDep, q: str = "", cursor: str | None = None) -> Response:
    """Recent traces, newest first; the first page refreshes itself (the script polls its block)."""
    principal = visitor.require(READ_DATASETS)  # as the API's GET /v1/traces/
    found = traces.list_traces(visitor.db, principal, search=q, cursor=cursor or None, limit=PAGE_SIZE)
    first_url = "/live" + ("?" + urlencode({"q": q}) if q else "")
    context = {
        "p": found,
        "q": q,
        "cursor": cursor,
        "live": not cursor,
        "poll_url": first_url,
        "first_url": first_url,
        "section": "live",
        "base_url": base_url(visitor),
    }
    if wants_fragment(visitor.request):
        return fragment(visitor, "live.html", "traces", **context)
    return page(visitor, "live.html", **context)


@router.get("/live/traces/{trace_id}")
def trace_page(visitor: VisitorDep, trace_id: str, span: str | None = None) -> Response:
    """A trace's spans as a tree with waterfall bars, and the chosen span's details (the root's at first)."""
    spans = traces.get_trace(visitor.db, visitor.require(READ_DATASETS), trace_id)
    tree = build_tree(spans)
    selected = tree.find(span) if span else (tree.rows[0] if tree.rows else None)
    missing = span if span and selected is None else None
    title = span_label(tree.roots[0].span) if tree.roots else "Trace"
    context = {"trace_id": trace_id, "tree": tree, "selected": selected, "missing": missing, "title": title}
    context["max_rows"] = MAX_ROWS
    if wants_fragment(visitor.request):  # a running trace's page polls its block while spans arrive
        return fragment(visitor, "trace.html", "trace", **context)
    return page(visitor, "trace.html", section="live", **context)
