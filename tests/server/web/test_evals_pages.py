"""The Evals pages in a real browser against the real server, both databases: the Evals list and a
dataset's Experiments tab, an experiment (summary, charts, cases, one case), filters, Compare, the link
`logfire` prints, Delete, and what a read-only key sees. Experiments are made through the real API
from real pydantic-evals reports (tests/evals_scenario.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import READ, WRITE, LiveServer
from tests.evals_scenario import calculate, calculate_v2, report_json, run_locally
from tests.server.api.test_experiments import push
from tests.server.web.conftest import shot, sign_in


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    """Real pydantic-evals reports (run once): v1 of the task, and v2 (fixes '3*3', breaks '2+2'). In a
    thread of their own: Playwright's sync API keeps an event loop running in the test thread."""

    def run() -> dict[str, Any]:
        return {"v1": report_json(run_locally(calculate)), "v2": report_json(run_locally(calculate_v2, name="v2"))}

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def upload(api: httpx.Client, report: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = api.post("/v1/experiments/", json={"report": report, **extra})
    assert response.status_code in (200, 201), response.text
    return response.json()


def no_sideways_scroll(page: Any) -> None:
    """Long names and values wrap or clip: the page never scrolls sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_empty_states_show_the_sdk_snippet(page, live_server: LiveServer, key: str, api: httpx.Client) -> None:
    push(api, "arith")
    sign_in(page, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evals").click()
    page.get_by_role("heading", name="No experiments yet").wait_for()
    assert "client.evaluate('arith', my_task)" in page.locator("pre").inner_text()
    shot(page, live_server, "evals-empty")
    page.goto("/datasets/arith")
    page.evaluate("window.notReloaded = true")  # the dataset page's search swaps its cases block in place
    page.get_by_label("Search cases").fill("judge")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("navigation", name="Dataset sections").get_by_role("link", name="Experiments").click()
    page.get_by_role("heading", name="No experiments yet").wait_for()
    assert "client.evaluate('arith', my_task)" in page.locator("pre").inner_text()
    expect(page.get_by_role("link", name="Experiments")).to_have_attribute("aria-current", "page")
    shot(page, live_server, "dataset-experiments-empty")


def test_experiment_page_summary_charts_filters_and_a_case(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    hosted = push(api, "arith")
    report = reports["v1"]
    experiment = upload(api, report, task_name="calculate", dataset="arith")
    sign_in(page, key)
    page.goto("/datasets/arith/experiments")
    runs = page.get_by_role("table", name="Experiments of arith")
    expect(runs.get_by_role("row")).to_have_count(2)
    expect(runs.get_by_role("row").nth(1)).to_contain_text("calculate")
    runs.get_by_role("link", name=report["name"]).click()
    page.get_by_role("heading", name=report["name"], exact=True).wait_for()

    results = [*report["cases"], *report["failures"]]
    cards = page.locator(".stat")
    expect(cards.filter(has_text="Cases run")).to_contain_text(str(len(results)))
    expect(cards.filter(has_text="Task errors")).to_contain_text(str(len(report["failures"])))
    passing = [
        case["assertions"]["EqualsExpected"]["value"]
        for case in report["cases"]
        if "EqualsExpected" in case["assertions"]
    ]
    name = f"Assertion EqualsExpected: {sum(passing)} of {len(passing)} passed, {len(passing) - sum(passing)} failed"
    expect(page.get_by_role("img", name=name)).to_be_visible()
    closeness = [case["scores"]["Closeness"]["value"] for case in report["cases"] if "Closeness" in case["scores"]]
    expect(
        page.get_by_role("img", name=re.compile(rf"^Score Closeness: histogram of {len(closeness)} values"))
    ).to_be_visible()
    parity = Counter(case["labels"]["Parity"]["value"] for case in report["cases"])
    words = ", ".join(f"{value} {count}" for value, count in parity.most_common())
    expect(page.get_by_role("img", name=f"Label Parity: {words}")).to_be_visible()
    picky = page.locator("figure").filter(has_text="Picky")
    expect(picky).to_contain_text("1 evaluator failure")
    no_sideways_scroll(page)
    shot(page, live_server, "experiment")

    table = page.get_by_role("table", name="Cases")
    expect(table.get_by_role("row")).to_have_count(len(results) + 1)
    page.evaluate("window.notReloaded = true")  # filters swap the table in place (a fragment), no reload
    page.get_by_label("Show").select_option(label="Task errors")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").nth(1)).to_contain_text("crash")
    assert "show=error" in page.url
    page.get_by_label("Show").select_option(label="All results")
    page.get_by_label("Search case names").fill("judge")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").nth(1)).to_contain_text("judge-crash")
    assert page.evaluate("window.notReloaded") is True
    shot(page, live_server, "experiment-filtered")

    page.goto(experiment["web_path"] + "?show=failed")
    page.get_by_role("table", name="Cases").get_by_role("link", name="wrong", exact=True).click()
    page.get_by_role("heading", name="wrong", exact=True).wait_for()
    wrong = next(case for case in report["cases"] if case["name"] == "wrong")
    assert page.get_by_role("heading", name="Inputs").locator("xpath=..").locator("pre").inner_text() == '"3*3"'
    evaluations = page.get_by_role("table", name="Evaluator results")
    expect(evaluations.get_by_role("row", name=re.compile("^EqualsExpected"))).to_contain_text("✗ fail")
    expect(evaluations.get_by_role("row", name=re.compile("^Parity"))).to_contain_text(
        wrong["labels"]["Parity"]["reason"]
    )
    dataset_case = page.get_by_role("link", name="Dataset case", exact=True)
    assert dataset_case.get_attribute("href").endswith(f"/cases/{hosted['wrong']['id']}")
    expect(page.get_by_text("version 1: the same inputs")).to_be_visible()
    shot(page, live_server, "experiment-case")
    dataset_case.click()
    page.get_by_role("heading", name="wrong").wait_for()

    page.go_back()
    page.goto(experiment["web_path"] + "?q=crash&show=error")
    page.get_by_role("table", name="Cases").get_by_role("link", name="crash").click()
    error = page.get_by_role("alert").filter(has_text="Task error")
    expect(error).to_contain_text("ValueError")
    expect(error).to_contain_text("cannot calculate 'boom'")
    shot(page, live_server, "experiment-case-error")

    page.goto(experiment["web_path"] + "?q=judge")
    page.get_by_role("table", name="Cases").get_by_role("link", name="judge-crash").click()
    failures = page.get_by_role("region", name="Evaluator failures")
    expect(failures).to_contain_text("Picky raised: RuntimeError: the judge is unavailable")
    failures.get_by_text("Traceback of Picky").click()
    expect(failures.locator("pre")).to_contain_text("RuntimeError")
    shot(page, live_server, "experiment-case-evaluator-failure")


def test_dataset_state_export_links_reproduce_what_ran(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    push(api, "arith")
    experiment = upload(api, reports["v1"], dataset="arith")
    api.post("/v1/datasets/arith/cases/", json={"name": "later", "inputs": "1+2"}).raise_for_status()
    sign_in(page, key)
    page.goto(experiment["web_path"])
    with page.expect_download() as download:
        page.get_by_role("link", name="JSON as of then").click()
    exported = json.loads(Path(download.value.path()).read_text())
    names = [case["name"] for case in exported["cases"]]
    assert "later" not in names and "gone" in names
    assert download.value.suggested_filename.startswith("arith-as-of-")
    now = api.get("/v1/datasets/arith/export/").json()
    assert "later" in [case["name"] for case in now["cases"]]


def test_compare_groups_regressed_first_with_fail_to_pass_cells(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    push(api, "arith")
    upload(api, reports["v1"], dataset="arith")
    candidate = upload(api, reports["v2"], dataset="arith")
    sign_in(page, key)
    page.goto(candidate["web_path"])
    page.get_by_role("link", name="Compare with a baseline").click()
    expect(page.get_by_label("Baseline")).to_have_value(re.compile("."))
    assert page.get_by_label("Candidate").input_value() == candidate["id"]
    page.get_by_role("button", name="Compare").click()

    regressed = page.get_by_role("region", name=re.compile("^Regressed"))
    improved = page.get_by_role("region", name=re.compile("^Improved"))
    expect(regressed.get_by_role("row", name=re.compile("^add"))).to_contain_text("Pass → Fail")
    expect(improved.get_by_role("row", name=re.compile("^wrong"))).to_contain_text("Fail → Pass")
    expect(page.locator(".outcome-regressed.stat")).to_contain_text("1")
    headings = page.locator(".outcome-group h3").all_inner_texts()
    assert headings[0].startswith("Regressed") and headings[1].startswith("Improved")
    no_sideways_scroll(page)
    shot(page, live_server, "compare")

    page.get_by_label("Primary metric").select_option(label="Score Closeness")
    page.get_by_label("Better is").select_option("lower")
    page.get_by_role("button", name="Compare").click()
    expect(
        page.get_by_role("region", name=re.compile("^Improved")).get_by_role("row", name=re.compile("^add"))
    ).to_be_visible()
    expect(
        page.get_by_role("region", name=re.compile("^Regressed")).get_by_role("row", name=re.compile("^wrong"))
    ).to_be_visible()
    assert "primary=score%3ACloseness" in page.url and "direction=lower" in page.url
    response = page.goto(page.url.replace("score%3ACloseness", "score%3Anope"))
    assert response is not None and response.status == 422
    expect(page.get_by_role("alert")).to_contain_text("neither experiment has 'score:nope'; choose one of assertions")


def test_the_link_logfire_prints_opens_the_experiment(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    push(api, "arith")
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    experiment = upload(api, {**reports["v1"], "trace_id": trace_id, "span_id": span_id})
    sign_in(page, key)
    page.goto(f"/evals/compare?experiment={trace_id}-{span_id}")
    page.get_by_role("heading", name=reports["v1"]["name"], exact=True).wait_for()
    assert page.url.endswith(experiment["web_path"])
    trace = page.get_by_role("link", name="Trace in the Live view")
    assert trace.get_attribute("href") == f"/live/traces/{trace_id}?span={span_id}"
    response = page.goto(f"/evals/compare?experiment={trace_id}-{'0' * 16}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("No experiment of this project has the trace and span ids")
    shot(page, live_server, "compare-link-unknown")
    response = page.goto("/evals/experiments/" + "1" * 8 + "-1111-1111-1111-" + "1" * 12)
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("Experiment not found")


def test_read_only_key_sees_no_write_buttons_and_delete_asks_first(
    page, new_page, live_server: LiveServer, api: httpx.Client, reports: dict[str, Any]
) -> None:
    writer, project = live_server.new_key(READ, WRITE)
    reader, _ = live_server.new_key(READ, project=project)
    with live_server.client(writer) as client:
        push(client, "arith")
        experiment = upload(client, reports["v1"], dataset="arith")
    sign_in(page, reader)
    page.goto(experiment["web_path"])
    page.get_by_role("heading", name=reports["v1"]["name"], exact=True).wait_for()
    expect(page.get_by_role("link", name="Delete experiment")).to_have_count(0)
    shot(page, live_server, "experiment-read-only")
    response = page.goto(experiment["web_path"] + "/delete")
    assert response is not None and response.status == 403

    other = new_page()
    sign_in(other, writer)
    other.goto(experiment["web_path"])
    other.get_by_role("link", name="Delete experiment").click()
    other.get_by_role("heading", name=re.compile("^Delete experiment")).wait_for()
    shot(other, live_server, "experiment-delete")
    other.get_by_role("button", name="Delete this experiment").click()
    other.get_by_text(f"Deleted experiment {reports['v1']['name']}").wait_for()
    other.get_by_role("heading", name="No experiments yet").wait_for()
    with live_server.client(writer) as client:
        assert client.get(f"/v1/experiments/{experiment['id']}/").status_code == 404


def test_evals_list_filters_by_dataset_and_pages_long_names_stay_inside(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    push(api, "arith")
    push(api, "other-" + "x" * 120)
    long_name = "<b>not bold</b> a very long experiment name " * 8  # markup in a name is shown as text
    report = {**reports["v1"], "name": long_name}
    report["cases"] = [dict(case) for case in report["cases"]]
    report["cases"][0] = {**report["cases"][0], "name": "case-" + "y" * 300, "output": "z" * 5000}
    for _ in range(26):
        upload(api, reports["v1"], dataset="arith")
    last = upload(api, report, dataset="other-" + "x" * 120, task_name="t" * 300)
    sign_in(page, key)
    page.goto("/evals")
    table = page.get_by_role("table", name="Experiments")
    expect(table.get_by_role("row")).to_have_count(26)  # the header and a page of 25
    expect(page.get_by_role("navigation", name="Pages of experiments")).to_contain_text("Page 1 of 2 (27 in all)")
    no_sideways_scroll(page)
    shot(page, live_server, "evals-list")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Next →").click()
    expect(table.get_by_role("row")).to_have_count(3)
    assert "page=2" in page.url and page.evaluate("window.notReloaded") is True
    page.get_by_label("Dataset").select_option("arith")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table", name="Experiments of arith").get_by_role("row")).to_have_count(26)
    page.get_by_label("Dataset").select_option("other-" + "x" * 120)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=long_name.strip()).click()
    page.get_by_role("heading", name=long_name.strip()).wait_for()
    assert page.url.endswith(last["web_path"])
    assert page.locator("main b").count() == 0
    no_sideways_scroll(page)
    shot(page, live_server, "experiment-long-values")
    page.get_by_role("link", name="case-" + "y" * 300).click()
    page.get_by_role("heading", name="Inputs").wait_for()
    no_sideways_scroll(page)
    shot(page, live_server, "experiment-case-long-values")


def test_a_running_experiment_from_telemetry_links_its_cases_to_their_traces(
    page, live_server: LiveServer, key: str, api: httpx.Client, reports: dict[str, Any]
) -> None:
    """The telemetry path records experiments as spans arrive (services.experiments.record, as its
    decoder will): the page says the run is going on, and each case links to its span in the Live view."""
    from datetime import datetime, timezone

    from evalset.server.domain.experiments import ExperimentFacts, result_from_report_case
    from evalset.server.services.experiments import record

    push(api, "arith")
    project_id = upload(api, reports["v1"], dataset="arith")["project_id"]
    trace_id, case_span = "1" * 32, "2" * 16
    case = {**reports["v1"]["cases"][0], "trace_id": trace_id, "span_id": case_span}
    started = datetime.now(timezone.utc)  # after the push: the run saw the dataset
    facts = ExperimentFacts(
        trace_id=trace_id,
        span_id="3" * 16,
        name="live run",
        task_name="calculate",
        dataset_name="arith",
        dataset_as_of=started,
        as_of_source="run_start",
        started_at=started,
        n_cases=6,
    )
    experiment, _ = record(live_server.db, project_id, facts, [result_from_report_case(case)])
    sign_in(page, key)
    page.goto("/evals")
    row = page.get_by_role("row", name=re.compile("^live run"))
    expect(row).to_contain_text("running")
    row.get_by_role("link", name="live run").click()
    expect(page.get_by_role("status").filter(has_text="This run has not ended yet")).to_be_visible()
    expect(page.get_by_text("the start of the run, by the client's clock")).to_be_visible()
    shot(page, live_server, "experiment-running")
    page.get_by_role("table", name="Cases").get_by_role("link", name=case["name"]).click()
    trace = page.get_by_role("link", name="Trace in the Live view")
    assert trace.get_attribute("href") == f"/live/traces/{trace_id}?span={case_span}"
    expect(page.get_by_role("link", name="Dataset case")).to_be_visible()
