"""The Evals pages for experiments recorded from telemetry, in a real browser, both databases: push a dataset,
run `Dataset.evaluate` with the real `logfire` SDK sending to the real server (tests/telemetry_run.py, in a
subprocess), then open the experiment, follow a failed case to its span in the Live view and to its dataset
case, and compare with a second run whose outcomes differ (`calculate_v2`: fixes '3*3', breaks '2+2')."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from playwright.sync_api import expect

from tests.conftest import READ, WRITE, LiveServer
from tests.e2e.test_telemetry_loop import _complete  # pyright: ignore[reportPrivateUsage]
from tests.otel_records import run_scenario
from tests.server.api.test_experiments import push
from tests.server.web.conftest import shot, sign_in

TRACES = "project:write_traces"


def evaluate(server: LiveServer, key: str, version: str = "v1") -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the scenario with `logfire` sending to the server; (its report as JSON, the stored experiment once
    complete)."""
    report = run_scenario("send", server.base_url, key, version)["report"]
    with server.client(key) as api:
        return report, _complete(api, report["trace_id"])


def passed_by_case(report: dict[str, Any]) -> set[str]:
    """Dataset cases whose every run passed EqualsExpected."""
    runs = [(c["source_case_name"], c["assertions"]["EqualsExpected"]["value"]) for c in report["cases"]]
    return {name for name, _ in runs} - {name for name, value in runs if not value}


def failed_by_case(report: dict[str, Any]) -> set[str]:
    """Dataset cases none of whose runs passed EqualsExpected."""
    runs = [(c["source_case_name"], c["assertions"]["EqualsExpected"]["value"]) for c in report["cases"]]
    return {name for name, _ in runs} - {name for name, value in runs if value}


def test_a_telemetry_experiment_its_failed_case_trace_and_a_comparison(page, live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE, TRACES)
    with live_server.client(key) as api:
        hosted = push(api, "arith")
    report, experiment = evaluate(live_server, key)
    assert experiment["source"] == "telemetry"

    sign_in(page, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evals").click()
    runs = page.get_by_role("table", name="Experiments")
    runs.get_by_role("link", name=report["name"], exact=True).click()
    page.get_by_role("heading", name=report["name"], exact=True).wait_for()
    assert page.url.endswith(experiment["web_path"])

    results = [*report["cases"], *report["failures"]]
    cards = page.locator(".stat")
    expect(cards.filter(has_text="Cases run")).to_contain_text(str(len(results)))
    expect(cards.filter(has_text="Task errors")).to_contain_text(str(len(report["failures"])))
    passing = [case["assertions"]["EqualsExpected"]["value"] for case in report["cases"]]
    chart = f"Assertion EqualsExpected: {sum(passing)} of {len(passing)} passed, {len(passing) - sum(passing)} failed"
    expect(page.get_by_role("img", name=chart)).to_be_visible()
    closeness = [case["scores"]["Closeness"]["value"] for case in report["cases"] if "Closeness" in case["scores"]]
    histogram = re.compile(rf"^Score Closeness: histogram of {len(closeness)} values")
    expect(page.get_by_role("img", name=histogram)).to_be_visible()
    parity = Counter(case["labels"]["Parity"]["value"] for case in report["cases"])
    words = ", ".join(f"{value} {count}" for value, count in parity.most_common())
    expect(page.get_by_role("img", name=f"Label Parity: {words}")).to_be_visible()
    shot(page, live_server, "telemetry-experiment")

    failed = next(case for case in report["cases"] if not case["assertions"]["EqualsExpected"]["value"])
    page.get_by_label("Show").select_option(label="Failed")
    page.get_by_role("button", name="Filter").click()
    table = page.get_by_role("table", name="Cases")
    # failed: an assertion false or an evaluator raised
    failing = [
        c for c in report["cases"] if c["evaluator_failures"] or not all(a["value"] for a in c["assertions"].values())
    ]
    expect(table.get_by_role("row")).to_have_count(1 + len(failing))
    table.get_by_role("link", name=failed["name"], exact=True).click()
    page.get_by_role("heading", name=failed["name"], exact=True).wait_for()
    evaluations = page.get_by_role("table", name="Evaluator results")
    expect(evaluations.get_by_role("row", name=re.compile("^EqualsExpected"))).to_contain_text("✗ fail")
    trace = page.get_by_role("link", name="Trace in the Live view")
    expect(trace).to_have_attribute("href", f"/live/traces/{failed['trace_id']}?span={failed['span_id']}")
    shot(page, live_server, "telemetry-experiment-case")
    case_url = page.url

    trace.click()  # the case's span, chosen, in the run's trace
    page.get_by_role("heading", name=f"evaluate {report['name']}", level=1).wait_for()  # logfire's message
    assert page.url.endswith(f"/live/traces/{failed['trace_id']}?span={failed['span_id']}")
    label = f"case: {failed['name']}"  # the span's `logfire.msg`, not its template name `case: {case_name}`
    expect(page.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "true")
    detail = page.get_by_role("region", name=label, exact=True)
    expect(detail.get_by_role("heading", level=2)).to_have_text(label)
    expect(detail).to_contain_text(failed["span_id"])
    expect(detail.get_by_role("row", name=re.compile("^case_name"))).to_contain_text(failed["name"])
    shot(page, live_server, "telemetry-case-trace")

    page.goto("/live")  # the recent traces list the run by logfire's message too
    expect(page.get_by_role("link", name=f"evaluate {report['name']}", exact=True)).to_be_visible()

    page.goto(case_url)
    dataset_case = page.get_by_role("link", name="Dataset case", exact=True)
    expect(dataset_case).to_have_attribute("href", re.compile(f"/cases/{hosted[failed['source_case_name']]['id']}$"))
    dataset_case.click()
    page.get_by_role("heading", name=failed["source_case_name"], exact=True).wait_for()

    candidate_report, candidate = evaluate(live_server, key, "v2")
    page.goto("/evals")
    page.get_by_role("table", name="Experiments").get_by_role("link", name=candidate_report["name"]).click()
    page.get_by_role("link", name="Compare with a baseline").click()
    page.get_by_label("Baseline").select_option(experiment["id"])
    assert page.get_by_label("Candidate").input_value() == candidate["id"]
    page.get_by_role("button", name="Compare").click()
    regressed = page.get_by_role("region", name=re.compile("^Regressed"))
    regressed.wait_for()
    headings = page.locator(".outcome-group h3").all_inner_texts()
    assert headings[0].startswith("Regressed"), headings  # regressed first
    broken = passed_by_case(report) & failed_by_case(candidate_report)  # 'add': EqualsExpected Pass → Fail
    assert broken == {"add"}
    expect(regressed.get_by_role("row").filter(has_text="Pass → Fail")).to_have_count(len(broken))
    row = regressed.get_by_role("row", name=re.compile(r"^add \(2 runs\)"))  # the repeats, as one case
    expect(row).to_contain_text("Pass → Fail")
    improved = page.get_by_role("region", name=re.compile("^Improved"))
    expect(improved.get_by_role("row", name=re.compile(r"^wrong \(2 runs\)"))).to_contain_text("Fail → Pass")
    shot(page, live_server, "telemetry-compare")
