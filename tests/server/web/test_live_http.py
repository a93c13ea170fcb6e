"""Live view and Add to Dataset over plain HTTP against the real server (both databases): the answers a
browser without JavaScript gets, fragments for the page's script, and refusals with what went wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import READ, WRITE, LiveServer
from tests.server.web.test_live_pages import TRACES, send_question_trace, stored, tracer
from tests.server.web.test_sessions import _sign_in


@pytest.fixture
def session(live_server: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in browser session (read, write, traces) of a fresh project, and its key."""
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        _sign_in(client, key)
        yield client, key


def csrf(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return token.group(1)


def test_pages_of_traces_and_the_fragment_the_script_polls(live_server: LiveServer, session) -> None:
    client, key = session
    sent = [send_question_trace(live_server, key)[0] for _ in range(3)]
    for trace_id in sent:
        stored(live_server, key, trace_id, 3)
    first = client.get("/live")
    assert first.status_code == 200 and 'data-poll="/live"' in first.text and "<html" in first.text
    assert re.findall(r'href="/live/traces/([0-9a-f]{32})"', first.text) == sent[::-1]  # newest first
    polled = client.get("/live", headers={"HX-Request": "true"})
    assert polled.text.lstrip().startswith('<div id="traces"') and "<html" not in polled.text
    searched = client.get("/live", params={"q": "name:nothing-has-this"})
    assert "No trace has a span matching this search" in searched.text
    assert client.get("/live", params={"cursor": "garbage"}).status_code == 422


def test_paging_back_through_older_traces(live_server: LiveServer, session) -> None:
    client, key = session
    with tracer(live_server, key) as t:
        sent = []
        for n in range(51):
            with t.start_as_current_span(f"job {n:02d}") as span:
                sent.append(format(span.get_span_context().trace_id, "032x"))
    stored(live_server, key, sent[-1], 1)
    first = client.get("/live")
    listed = re.findall(r'href="/live/traces/([0-9a-f]{32})"', first.text)
    older = re.search(r'href="(/live\?cursor=[^"]+)"', first.text)
    assert len(listed) == 50 and older, "a full page links to the older traces"
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert re.findall(r'href="/live/traces/([0-9a-f]{32})"', second.text) == [sent[0]]
    assert "data-poll" not in second.text and "Back to the newest" in second.text  # older pages stay still
    assert set(listed) | {sent[0]} == set(sent)


def test_trace_page_tree_unknown_span_and_other_projects(live_server: LiveServer, session) -> None:
    client, key = session
    trace_id, span_id = send_question_trace(live_server, key)
    stored(live_server, key, trace_id, 3)
    page = client.get(f"/live/traces/{trace_id}", params={"span": span_id})
    assert page.status_code == 200 and 'aria-current="true">call model</a>' in page.text
    missing = client.get(f"/live/traces/{trace_id}", params={"span": "ab" * 8})
    assert missing.status_code == 200 and "This trace has no span" in missing.text
    other_key, _ = live_server.new_key(READ, WRITE, TRACES)
    with httpx.Client(base_url=live_server.base_url) as other:
        _sign_in(other, other_key)
        assert other.get(f"/live/traces/{trace_id}").status_code == 404
        assert other.get(f"/live/traces/{trace_id}/add", params={"span": span_id}).status_code == 404
    assert client.get("/live/traces/not-a-trace-id").status_code == 404


def test_add_to_dataset_refusals_change_nothing(live_server: LiveServer, session) -> None:
    client, key = session
    trace_id, span_id = send_question_trace(live_server, key)
    stored(live_server, key, trace_id, 3)
    none_ticked = client.get(f"/live/traces/{trace_id}/add")
    assert none_ticked.status_code == 422 and "Tick at least one span" in none_ticked.text
    form = client.get(f"/live/traces/{trace_id}/add", params={"span": span_id})
    token = csrf(form)
    no_dataset = client.post(f"/live/traces/{trace_id}/add", data={"csrf_token": token, "span": span_id})
    assert no_dataset.status_code == 422 and "Choose the dataset" in no_dataset.text
    bad_name = client.post(
        f"/live/traces/{trace_id}/add/new-dataset", data={"csrf_token": token, "span": span_id, "new_dataset": "a b"}
    )
    assert bad_name.status_code == 422 and 'aria-invalid="true"' in bad_name.text
    forged = client.post(f"/live/traces/{trace_id}/add/new-dataset", data={"span": span_id, "new_dataset": "ok"})
    assert forged.status_code == 403
    with live_server.client(key) as api:
        assert api.get("/v1/datasets/").json() == []


def test_add_one_span_without_javascript(live_server: LiveServer, session) -> None:
    client, key = session
    trace_id, span_id = send_question_trace(live_server, key, count=2)
    stored(live_server, key, trace_id, 3)
    form = client.get(f"/live/traces/{trace_id}/add", params={"span": span_id})
    created = client.post(
        f"/live/traces/{trace_id}/add/new-dataset",
        data={"csrf_token": csrf(form), "span": span_id, "new_dataset": "plain", "metadata_from": "attributes"},
    )
    assert created.status_code == 303 and "dataset=plain" in created.headers["location"]
    assert "metadata_from=attributes" in created.headers["location"]  # the mapping is carried along
    page = client.get(created.headers["location"])
    assert "Dataset plain created." in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    inputs = re.search(r'<textarea id="f-inputs"[^>]*>([^<]*)</textarea>', page.text)
    assert inputs and "capital of France" in inputs.group(1)
    posted = {**fields, "inputs": '{"question": "Q?", "count": 2}', "metadata": '{"edited": true}', "name": "plain-1"}
    saved = client.post(f"/live/traces/{trace_id}/add", data=posted)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/datasets/plain/cases/")
    case_page = client.get(saved.headers["location"])
    assert f'href="/live/traces/{trace_id}?span={span_id}">Source trace</a>' in case_page.text
    with live_server.client(key) as api:
        (case,) = api.get("/v1/datasets/plain/cases/").json()
    assert case["inputs"] == {"question": "Q?", "count": 2} and case["metadata"] == {"edited": True}
    assert case["source_span"]["name"] == "call model" and case["source_span_id"] == span_id


def test_live_pages_need_the_datasets_read_scope_as_the_api_does(live_server: LiveServer) -> None:
    admin_only, _ = live_server.new_key("project:admin")
    with httpx.Client(base_url=live_server.base_url) as client:
        assert _sign_in(client, admin_only).status_code == 303  # it may sign in, to manage keys
        assert 'href="/live"' not in client.get("/keys").text  # no link to it either
        refused = client.get("/live")
        assert refused.status_code == 403 and "project:read_datasets" in refused.text


def test_an_unknown_page_says_where_the_pages_are(live_server: LiveServer, session) -> None:
    client, _ = session
    for path in ("/datasets", "/login"):
        page = client.get(path)
        assert page.status_code == 404 and "<html" in page.text
        assert f"There is no page at {path}." in page.text and "Not Found" not in page.text
