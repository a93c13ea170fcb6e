"""Rendering pages and fragments: one Jinja2 environment (autoescaped), a page or one of its blocks.

A fragment is a block of the page's own template (jinja2-fragments), sent when the request comes from
the page's script (`HX-Request: true`, htmx's header), so a page and its partial update never drift.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from evalset.server.web.charts import number, percent, seconds
from evalset.server.web.session import Visitor
from evalset.server.web.spantree import format_duration, span_label

__all__ = ["environment", "page", "fragment", "redirect", "wants_fragment", "NAV"]

TEMPLATES = Path(__file__).parent / "templates"

NAV: tuple[tuple[str, str, str], ...] = (
    ("datasets", "Datasets", "/"),
    ("live", "Live", "/live"),
    ("evals", "Evals", "/evals"),
)
"""The main navigation: (section id, visible text, path)."""


def _ago(value: datetime | str | None) -> str:
    """'3 minutes ago' style text for a timestamp (the exact time goes in a title attribute)."""
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = (datetime.now(timezone.utc) - value).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def _exact(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _field_id(name: str) -> str:
    """An HTML id for a form field name (a JSON pointer path, which may hold any character)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if safe != name:
        safe += "-" + hashlib.sha1(name.encode()).hexdigest()[:6]
    return "f-" + safe


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _compact(value: Any, size: int = 160) -> str:
    """A value as one line of JSON (a string as it is), cut to `size` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= size else text[: size - 1] + "…"


def _signed(value: float | None, unit: str = "") -> str:
    """A change with its sign: '+0.25', '−12.5 pp' (percentage points for rates)."""
    if value is None:
        return ""
    if unit == "pp":
        text = f"{abs(value) * 100:.1f}".removesuffix(".0") + " pp"
    elif unit == "s":
        text = seconds(abs(value))
    else:
        text = number(abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def _readable(value: Any) -> str:
    """Any attribute value as indented JSON (bytes and other non-JSON values as their text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=_as_text)


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def _json_text(value: Any) -> Any:
    """A string holding a JSON object or array, parsed (to show it indented); None for anything else."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")) or len(value) > 1_000_000:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _exact_ms(value: datetime | None) -> str:
    """A span time to the millisecond (UTC)."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _reject_keys(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ago=_ago, exact=_exact, pretty=_pretty, urlencode=urlencode, fid=_field_id)
    env.filters.update(compact=_compact, signed=_signed, number=number, percent=percent, seconds=seconds)
    env.filters.update(readable=_readable, exact_ms=_exact_ms, duration=format_duration, reject_keys=_reject_keys)
    env.filters.update(json_text=_json_text, span_label=span_label)
    env.globals["nav"] = NAV
    return env


def wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _context(visitor: Visitor, context: dict[str, Any]) -> dict[str, Any]:
    return {"visitor": visitor, "request": visitor.request, "csrf_token": visitor.csrf, **context}


def page(visitor: Visitor, template: str, status_code: int = 200, **context: Any) -> Response:
    """The whole page (with the notice a redirect left in the session, shown once)."""
    if "notice" not in context and "notice" in visitor.data:
        context["notice"] = visitor.data.pop("notice")
        visitor.changed = True
    html = environment().get_template(template).render(_context(visitor, context))
    return visitor.save(HTMLResponse(html, status_code=status_code))


def fragment(visitor: Visitor, template: str, block: str, status_code: int = 200, **context: Any) -> Response:
    """One block of a page's template."""
    html = render_block(environment(), template, block, _context(visitor, context))
    return visitor.save(HTMLResponse(html, status_code=status_code))


def redirect(visitor: Visitor, path: str, *, notice: str | None = None, **query: Any) -> Response:
    """303 See Other to `path` (after a form post) with `query`; `notice` is shown once on the next page."""
    if notice:
        visitor.data["notice"] = notice
        visitor.changed = True
    query = {k: v for k, v in query.items() if v is not None}
    target = path + ("?" + urlencode(query) if query else "")
    return visitor.save(RedirectResponse(target, status_code=303))
