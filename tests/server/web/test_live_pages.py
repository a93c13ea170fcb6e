"""Live view and Add to Dataset in a real browser: traces sent by the real OpenTelemetry SDK (OTLP/HTTP
exporter) and the real `logfire` SDK to the real server, both databases."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from evalset.server.services import traces
from tests.conftest import READ, WRITE, LiveServer
from tests.server.web.conftest import shot, sign_in
from tests.server.web.test_pages import api_dataset

TRACES = "project:write_traces"
QUESTION = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "count": {"type": "integer", "multipleOf": 2}},
    "required": ["question", "count"],
}


@contextmanager
def tracer(server: LiveServer, key: str, service: str = "support-bot") -> Iterator[Any]:
    """A tracer whose spans go to the server through the OpenTelemetry SDK's own OTLP/HTTP exporter."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{server.base_url}/v1/traces", headers={"Authorization": f"Bearer {key}"})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("tests.live")
    finally:
        provider.shutdown()


def send_question_trace(server: LiveServer, key: str, count: int = 3) -> tuple[str, str]:
    """A root span with two children; `call model` carries OpenInference input/output values. Returns
    (trace id, span id of `call model`)."""
    with tracer(server, key) as t, t.start_as_current_span("answer question", attributes={"user.id": "u-42"}) as root:
        with t.start_as_current_span("retrieve documents", attributes={"query": "capital of France"}):
            time.sleep(0.01)
        attributes = {
            "input.value": json.dumps({"question": "What is the capital of France?", "count": count}),
            "input.mime_type": "application/json",
            "output.value": json.dumps("Paris"),
            "output.mime_type": "application/json",
            "llm.model_name": "gpt-4o",
        }
        with t.start_as_current_span("call model", attributes=attributes) as span:
            time.sleep(0.02)
        trace_id = format(root.get_span_context().trace_id, "032x")
        return trace_id, format(span.get_span_context().span_id, "016x")


def stored(server: LiveServer, key: str, trace_id: str, spans: int) -> None:
    """Wait until the server's batch writer has stored the trace's spans (ingest is asynchronous)."""
    deadline = time.monotonic() + 30
    with server.client(key) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/v1/traces/{trace_id}/")
            if response.status_code == 200 and len(response.json()) >= spans:
                return
            time.sleep(0.1)
    raise AssertionError(f"trace {trace_id} not stored with {spans} spans in 30 s")


def test_live_view_then_add_a_span_to_a_dataset_fixing_a_field_error(page, live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    api_dataset(live_server, key, "qa", input_schema=QUESTION, output_schema={"type": "string"})
    trace_id, span_id = send_question_trace(live_server, key)
    stored(live_server, key, trace_id, 3)
    sign_in(page, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Live").click()
    page.get_by_role("heading", name="Live view").wait_for()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="answer question"))
    expect(row).to_contain_text("support-bot")
    expect(row.get_by_role("cell").nth(4)).to_have_text("3")  # spans
    shot(page, live_server, "live-view")
    page.get_by_role("link", name="answer question").click()
    page.get_by_role("heading", name="answer question", level=1).wait_for()
    names = page.get_by_role("table").first.locator("td.span-name a").all_inner_texts()
    assert names == ["answer question", "retrieve documents", "call model"]  # the tree, children by start
    page.get_by_role("link", name="call model").click()
    detail = page.get_by_role("region", name="call model")
    expect(detail.get_by_role("row", name=re.compile("input.value"))).to_contain_text('"count": 3')
    expect(detail).to_contain_text("support-bot")
    shot(page, live_server, "trace-page")
    assert page.url.endswith(f"/live/traces/{trace_id}?span={span_id}")

    detail.get_by_role("link", name="Add to dataset").click()
    page.get_by_role("heading", name="Add to dataset").wait_for()
    page.get_by_label("Dataset", exact=True).select_option("qa")
    page.get_by_role("button", name="Use this dataset").click()
    expect(page.get_by_label("Question")).to_have_value("What is the capital of France?")
    expect(page.get_by_label("Count")).to_have_value("3")
    expect(page.locator('[data-error-for="inputs/count"]')).to_contain_text("multiple of 2")  # before any edit
    expect(page.get_by_label("Count")).to_have_attribute("aria-invalid", "true")
    shot(page, live_server, "add-to-dataset-field-error")
    page.get_by_role("button", name="Save case to qa").click()  # the server refuses it too, nothing is lost
    page.get_by_role("alert").wait_for()
    expect(page.get_by_label("Question")).to_have_value("What is the capital of France?")
    with live_server.client(key) as client:
        assert client.get("/v1/datasets/qa/cases/").json() == []
    page.get_by_label("Count").fill("4")
    page.get_by_label("Count").press("Tab")  # a changed field asks the server to check the form, before saving
    expect(page.locator('[data-error-for="inputs/count"]')).to_be_empty()
    expect(page.get_by_label("Count")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Case name").fill("capital of France")
    page.get_by_label("Tags").fill("from-production")
    page.get_by_role("button", name="Save case to qa").click()

    page.get_by_text("added from span call model").wait_for()
    page.get_by_role("heading", name="capital of France").wait_for()
    source = page.get_by_role("link", name="Source trace")
    expect(source).to_have_attribute("href", f"/live/traces/{trace_id}?span={span_id}")
    snapshot = page.get_by_role("region", name="Source span: call model")
    expect(snapshot.get_by_role("row", name=re.compile("llm.model_name"))).to_contain_text("gpt-4o")
    expect(snapshot).to_contain_text("Started")
    shot(page, live_server, "case-from-span")
    with live_server.client(key) as client:
        (case,) = client.get("/v1/datasets/qa/cases/").json()
    assert case["inputs"] == {"question": "What is the capital of France?", "count": 4}
    assert case["expected_output"] == "Paris" and case["tags"] == ["from-production"]
    assert (case["source_trace_id"], case["source_span_id"]) == (trace_id, span_id)
    case_url = page.url
    source.click()
    expect(page.get_by_role("link", name="call model")).to_have_attribute("aria-current", "true")

    traces.expire_old_traces(live_server.db, retention=timedelta(0))  # the trace expires: the snapshot stays
    page.goto(case_url)
    page.get_by_role("region", name="Source span: call model").wait_for()
    assert page.get_by_role("link", name="Source trace").count() == 0
    expect(page.get_by_role("main")).to_contain_text("(not among the stored traces)")


def test_read_only_key_sees_traces_but_no_add_button(page, live_server: LiveServer) -> None:
    writer, project = live_server.new_key(READ, WRITE, TRACES)
    reader, _ = live_server.new_key(READ, project=project)
    trace_id, span_id = send_question_trace(live_server, writer)
    stored(live_server, writer, trace_id, 3)
    sign_in(page, reader)
    page.goto(f"/live/traces/{trace_id}?span={span_id}")
    page.get_by_role("region", name="call model").wait_for()
    assert page.get_by_role("link", name="Add to dataset").count() == 0
    assert page.get_by_role("button", name="Add selected spans to a dataset").count() == 0
    assert page.get_by_role("checkbox").count() == 0
    shot(page, live_server, "trace-page-read-only")
    response = page.goto(f"/live/traces/{trace_id}/add?span={span_id}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("main")).to_contain_text("project:write_datasets")


def test_long_values_errors_and_several_spans_added_at_once(page, live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    long_name = "summarise the customer's complaint about delivery " * 4
    with tracer(live_server, key, service="mail-triage") as t, t.start_as_current_span("triage inbox") as root:
        for n in (1, 2):
            with t.start_as_current_span(long_name.strip() + f" #{n}", attributes={"email": f"mail {n} " + "x" * 4000}):
                pass
        try:
            with t.start_as_current_span('<b>not bold</b> & "quoted"', attributes={"a": [1, {"b": None}]}):
                raise ValueError("the model answered in French")
        except ValueError:
            pass
        trace_id = format(root.get_span_context().trace_id, "032x")
    stored(live_server, key, trace_id, 4)
    sign_in(page, key)
    page.goto("/live")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="triage inbox"))
    expect(row).to_contain_text("error")
    page.get_by_role("link", name="triage inbox").click()
    escaped = page.get_by_role("link", name='<b>not bold</b> & "quoted"')  # shown as text, not markup
    escaped.click()
    detail = page.get_by_role("region", name='<b>not bold</b> & "quoted"')
    expect(detail).to_contain_text("Exception: ValueError")
    expect(detail).to_contain_text("the model answered in French")
    page.get_by_role("link", name=long_name.strip() + " #1").click()
    page.get_by_role("region", name=re.compile("#1$")).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot(page, live_server, "trace-page-long-values")

    page.get_by_role("checkbox", name=re.compile("#1$")).check()
    page.get_by_role("checkbox", name=re.compile("#2$")).check()
    page.get_by_role("button", name="Add selected spans to a dataset").click()
    page.get_by_label("New dataset name").fill("bad name!")
    page.get_by_role("button", name="Create dataset").click()  # the browser's pattern check stops it first
    assert page.get_by_label("New dataset name").evaluate("e => !e.validity.valid")
    shot(page, live_server, "add-to-dataset-no-dataset-yet")
    page.get_by_label("New dataset name").fill("triage")
    page.get_by_role("button", name="Create dataset").click()
    page.get_by_text("Dataset triage created.").wait_for()
    expect(page.get_by_label("Dataset", exact=True)).to_have_value("triage")
    page.get_by_label("JSON path for expected output").fill("$.nowhere")  # typing a path chooses it
    expect(
        page.get_by_role("group", name="Expected output").get_by_label("A JSON path into the attributes")
    ).to_be_checked()
    page.get_by_role("button", name="Apply mapping").click()
    expect(page.locator("#map-expected_output-error")).to_contain_text("leads nowhere")
    page.get_by_label("JSON path for expected output").fill("$.email")
    page.get_by_role("button", name="Apply mapping").click()
    expect(page.locator("#map-expected_output-error")).to_be_hidden()
    shot(page, live_server, "add-several-spans")
    page.get_by_label("Tags for every case").fill("triage, long")
    page.get_by_role("button", name="Add 2 cases to triage").click()
    page.get_by_text("Added 2 cases from spans.").wait_for()
    with live_server.client(key) as client:
        found = client.get("/v1/datasets/triage/cases/").json()
    assert sorted(c["expected_output"][:6] for c in found) == ["mail 1", "mail 2"]
    assert {c["source_trace_id"] for c in found} == {trace_id} and all(c["tags"] == ["triage", "long"] for c in found)

    # A proposal the schema's form cannot hold as it is opens in JSON editors, the problem marked.
    strict = {"type": "object", "properties": {"question": {"type": "string"}}, "additionalProperties": False}
    api_dataset(live_server, key, "strict", input_schema=strict)
    page.goto(f"/live/traces/{trace_id}")
    page.get_by_role("link", name='<b>not bold</b> & "quoted"').click()
    page.get_by_role("link", name="Add to dataset").click()
    page.get_by_label("Dataset", exact=True).select_option("strict")
    page.get_by_role("button", name="Use this dataset").click()
    inputs = page.get_by_label(re.compile(r"^Inputs"))
    assert json.loads(inputs.input_value()) == {"a": [1, {"b": None}]}  # nothing dropped
    expect(page.locator('[data-error-for="inputs"]')).to_contain_text("Additional properties are not allowed")
    expect(page.get_by_role("link", name="Edit with the form")).to_be_visible()
    shot(page, live_server, "add-to-dataset-json-fallback")
    inputs.fill('{"question": "Why French?"}')
    page.get_by_role("button", name="Save case to strict").click()
    page.get_by_role("region", name='Source span: <b>not bold</b> & "quoted"').wait_for()


OTEL_FROM_ENV = """
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider()  # the service name, endpoint and key come from OTEL_* variables
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
with provider.get_tracer("env").start_as_current_span("configured by the environment"):
    pass
provider.shutdown()
"""


def outside_pytest() -> dict[str, str]:
    """The environment of a program run by a person: `logfire` sends nothing by default under pytest."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_empty_project_explains_how_to_send_and_the_logfire_snippet_shows_up_live(
    page, live_server: LiveServer, tmp_path: Path
) -> None:
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    sign_in(page, key)
    page.goto("/live")
    page.get_by_role("heading", name="No traces yet").wait_for()
    snippets = page.locator("section.empty pre").all_inner_texts()
    assert f"base_url='{live_server.base_url}'" in snippets[0]
    assert f"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT='{live_server.base_url}/v1/traces'" in snippets[1]
    shot(page, live_server, "live-view-empty")
    # The page's own logfire snippet, run as it is with the key filled in: the trace appears without a reload.
    script = tmp_path / "snippet.py"
    script.write_text(snippets[0].replace("evalset_…", key))
    run = [sys.executable, str(script)]
    done = subprocess.run(run, text=True, capture_output=True, cwd=tmp_path, timeout=120, env=outside_pytest())
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    page.get_by_role("link", name="answer question").wait_for(timeout=30_000)
    expect(page.get_by_role("row").filter(has_text="answer question")).to_contain_text("ok")
    # The OpenTelemetry settings, as environment variables of a program using the SDK's exporter.
    env = outside_pytest()
    for line in snippets[1].splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'").replace("evalset_…", key)
    done = subprocess.run([sys.executable, "-c", OTEL_FROM_ENV], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="configured by the environment"))
    expect(row).to_contain_text("my-app", timeout=30_000)
    page.get_by_role("button", name="Pause live updates").click()
    expect(page.get_by_role("button", name="Resume live updates")).to_have_attribute("aria-pressed", "true")
    trace_id, _ = send_question_trace(live_server, key)
    stored(live_server, key, trace_id, 3)
    page.wait_for_timeout(4000)  # longer than the poll interval: paused, so nothing new
    assert page.get_by_role("link", name="call model").count() == 0
    assert page.get_by_role("link", name="answer question").count() == 1
    page.get_by_role("button", name="Resume live updates").click()
    expect(page.get_by_role("link", name="answer question")).to_have_count(2, timeout=15_000)
    page.get_by_label("Search spans").fill('name:"call model"')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="answer question")).to_have_count(1)
    assert "q=name" in page.url


LONG_JOB = """
import sys
import logfire

logfire.configure(token=sys.argv[1], advanced=logfire.AdvancedOptions(base_url=sys.argv[2]), console=False)
with logfire.span("nightly evaluation", suite="qa"):
    with logfire.span("load dataset"):
        pass
    logfire.force_flush()  # the finished child and the pending span of "nightly evaluation" go now
    print("started", flush=True)
    sys.stdin.readline()  # running until the test says so
"""


def test_a_running_logfire_span_shows_once_as_running_then_finishes_in_place(
    page, live_server: LiveServer, tmp_path: Path
) -> None:
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    script = tmp_path / "long_job.py"
    script.write_text(LONG_JOB)
    job = subprocess.Popen(
        [sys.executable, str(script), key, live_server.base_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=outside_pytest(),
    )
    try:
        assert job.stdout is not None and job.stdout.readline().strip() == "started", job.stderr
        sign_in(page, key)
        page.goto("/live")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name="nightly evaluation"))
        expect(row).to_contain_text("running", timeout=30_000)
        row.get_by_role("link", name="nightly evaluation").click()
        running = page.get_by_role("row").filter(has=page.get_by_role("link", name="nightly evaluation"))
        expect(running).to_contain_text("running")
        expect(page.get_by_role("link", name="nightly evaluation")).to_have_count(1)  # shown once
        assert page.locator("td.span-name a").all_inner_texts() == ["nightly evaluation", "load dataset"]
        expect(page.get_by_role("region", name="nightly evaluation")).to_contain_text("suite")
        assert page.get_by_role("link", name="Add to dataset").count() == 0  # not until it has ended
        shot(page, live_server, "trace-page-running")
        job.communicate("go\n", timeout=60)
        expect(running).not_to_contain_text("running", timeout=30_000)  # the page refreshed itself
        expect(page.get_by_role("link", name="nightly evaluation")).to_have_count(1)
        expect(page.get_by_role("link", name="Add to dataset")).to_be_visible()
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode == 0
