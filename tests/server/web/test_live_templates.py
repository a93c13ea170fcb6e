"""Live view template branches that need more data than a UI test can send quickly: a search that
stopped at its window of traces."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from evalset.server.domain.traces import TraceSummary
from evalset.server.services.traces import TracePage
from evalset.server.web.render import environment

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=timezone.utc)


def render(page: TracePage, q: str, cursor: str | None = None) -> str:
    visitor = SimpleNamespace(who=None, can_admin=False)
    context = {"visitor": visitor, "p": page, "q": q, "cursor": cursor, "live": cursor is None}
    return environment().get_template("live.html").render(poll_url="/live", first_url="/live", base_url="", **context)


def summary(name: str) -> TraceSummary:
    return TraceSummary(
        trace_id="ab" * 16,
        name=name,
        service_name="api",
        start_time=NOW,
        end_time=NOW + timedelta(seconds=1),
        span_count=2,
        has_error=False,
        running=False,
    )


def test_a_search_that_stopped_at_its_window_says_so_and_offers_to_search_on() -> None:
    stopped = TracePage(traces=[], next_cursor="123-" + "cd" * 16, searched_to=NOW)
    html = render(stopped, "name:rare")
    assert "No trace has a span matching this search among the traces that started since 2026-11-22 07:00:00" in html
    assert 'href="/live?q=name%3Arare&amp;cursor=123-' in html and "Search older traces" in html
    found = render(TracePage(traces=[summary("rare one")], next_cursor="1-" + "cd" * 16, searched_to=NOW), "rare")
    assert "These are all the matches among the traces" in found
    assert "rare one" in found


def test_a_full_page_offers_older_traces_and_the_end_says_so() -> None:
    full = render(TracePage(traces=[summary("one")], next_cursor="9-" + "ef" * 16), "")
    assert "Older traces" in full and "Search older" not in full and "No traces yet" not in full
    end = render(TracePage(traces=[], next_cursor=None), "", cursor="9-" + "ef" * 16)
    assert "No older traces." in end and "No traces yet" not in end
    empty = render(TracePage(traces=[], next_cursor=None), "")
    assert "No traces yet" in empty and "data-poll" in empty
