"""The web UI in a real browser (Playwright + Debian Chromium) against the real server, both databases.
Elements are found as a screen reader finds them: by role, label and visible name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic_evals import Dataset

from tests.conftest import READ, WRITE, LiveServer
from tests.server.web.conftest import ADMIN, ADMIN_PASSWORD, shot, sign_in

QUESTION_SCHEMA = {
    "$defs": {
        "Level": {"enum": ["easy", "hard"], "title": "Level", "type": "string"},
        "Context": {
            "properties": {"source": {"title": "Source", "type": "string"}, "level": {"$ref": "#/$defs/Level"}},
            "required": ["source", "level"],
            "title": "Context",
            "type": "object",
        },
    },
    "properties": {
        "question": {"title": "Question", "type": "string"},
        "count": {"multipleOf": 2, "title": "Count", "type": "integer"},
        "context": {"anyOf": [{"$ref": "#/$defs/Context"}, {"type": "null"}], "default": None},
        "keywords": {"items": {"type": "string"}, "title": "Keywords", "type": "array"},
    },
    "required": ["question", "count"],
    "title": "QuestionInput",
    "type": "object",
}


def api_dataset(server: LiveServer, key: str, name: str, cases: list[dict[str, Any]] = (), **fields: Any) -> None:  # type: ignore[assignment]
    with server.client(key) as client:
        client.post("/v1/datasets/", json={"name": name, **fields}).raise_for_status()
        if cases:
            client.post(f"/v1/datasets/{name}/cases/bulk/", json={"cases": list(cases)}).raise_for_status()


def test_sign_in_wrong_key_then_right_key_then_sign_out(page, live_server: LiveServer, admin_key: str) -> None:
    page.goto("/")
    assert page.url.endswith("/signin")
    page.get_by_label("API key").fill("evalset_000000000000_not-a-real-key-at-all")
    page.get_by_role("button", name="Sign in with API key").click()
    page.get_by_role("alert").filter(has_text="Invalid API key").wait_for()
    assert page.get_by_role("navigation", name="Main").count() == 0
    shot(page, live_server, "signin-wrong-key")
    sign_in(page, admin_key)
    page.get_by_role("heading", name="No datasets yet").wait_for()
    assert "client.create_dataset" in page.locator("pre").inner_text()
    shot(page, live_server, "datasets-empty")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    page.goto("/")
    assert page.url.endswith("/signin")


def test_new_dataset_in_steps_with_schemas_and_a_first_case(page, live_server: LiveServer, admin_key: str) -> None:
    sign_in(page, admin_key)
    page.get_by_role("link", name="New dataset").click()
    page.get_by_label("Name").fill("bad name!")
    page.get_by_role("button", name="Next: schemas").click()
    page.wait_for_url(re.compile(r"/new-dataset$"))
    # the browser's own check (pattern) stops it first; the server says the same without JavaScript
    assert page.get_by_role("list", name="Steps").get_by_text("Dataset").get_attribute("aria-current") == "step"
    page.get_by_label("Name").fill("qa-golden-set")
    page.get_by_label("Description").fill("Golden questions")
    page.get_by_role("button", name="Next: schemas").click()
    page.get_by_label("Input schema (JSON)", exact=True).fill('{"type": "object", "properties": ')
    page.get_by_label("Input schema (JSON)", exact=True).press("Tab")
    page.locator("#input_schema-error").filter(has_text="Invalid JSON").wait_for()
    import json

    page.get_by_label("Input schema (JSON)", exact=True).fill(json.dumps(QUESTION_SCHEMA, indent=2))
    page.get_by_text("Infer from an example").nth(1).click()
    page.get_by_label("Example value for the output schema (JSON)").fill('{"answer": "Paris", "confidence": 0.9}')
    page.get_by_role("button", name="Infer output schema from example").click()
    assert '"confidence"' in page.get_by_label("Output schema (JSON)", exact=True).input_value()
    page.get_by_label("Metadata schema (JSON)", exact=True).fill('{"type": "nope"}')
    shot(page, live_server, "new-dataset-schemas")
    page.get_by_role("button", name="Next: first case").click()
    page.locator("#metadata_schema-error").filter(has_text="not a valid JSON Schema").wait_for()
    page.get_by_label("Metadata schema (JSON)", exact=True).fill("")
    page.get_by_role("button", name="Next: first case").click()
    page.get_by_label("Question").fill("What is the capital of France?")
    page.get_by_label("Count").fill("2")
    page.get_by_label("Source").fill("atlas")
    page.get_by_label("Level").select_option("easy")
    page.get_by_role("button", name="Add item to Keywords").click()
    page.get_by_label("Item 1").fill("geography")
    page.get_by_label("answer").fill("Paris")
    page.get_by_label("confidence").fill("0.9")
    shot(page, live_server, "new-dataset-first-case")
    invalid = page.evaluate("[...document.querySelectorAll(':invalid')].map(e => e.name + ' ' + e.validationMessage)")
    assert invalid == []
    page.get_by_role("button", name="Create dataset with this case").click()
    page.get_by_role("heading", name="qa-golden-set").wait_for()
    page.get_by_text("Dataset created.").wait_for()
    with live_server.client(admin_key) as client:
        (case,) = client.get("/v1/datasets/qa-golden-set/cases/").json()
        detail = client.get("/v1/datasets/qa-golden-set/").json()
    assert case["inputs"] == {
        "question": "What is the capital of France?",
        "count": 2,
        "context": {"source": "atlas", "level": "easy"},
        "keywords": ["geography"],
    }
    assert case["expected_output"] == {"answer": "Paris", "confidence": 0.9}
    assert detail["input_schema"] == QUESTION_SCHEMA and detail["metadata_schema"] is None


def test_add_case_valid_then_field_errors_before_and_after_submit(page, live_server: LiveServer, admin_key) -> None:
    api_dataset(live_server, admin_key, "typed", input_schema=QUESTION_SCHEMA)
    sign_in(page, admin_key)
    page.goto("/datasets/typed/cases/new")
    page.get_by_label("Case name").fill("ok-case")
    page.get_by_label("Question").fill("2+2?")
    page.get_by_label("Count").fill("4")
    page.get_by_role("button", name="Add case").click()
    page.get_by_text("ok-case added.").wait_for()
    page.get_by_role("link", name="Add case").click()
    page.get_by_label("Question").fill("odd one")
    page.get_by_label("Count").fill("3")
    page.get_by_label("Question").click()  # leaving the field asks the server to check the form
    error = page.locator('[data-error-for="inputs/count"]')
    error.filter(has_text="multiple of 2").wait_for()  # before submit
    page.get_by_role("button", name="Add case").click()
    page.get_by_role("alert").wait_for()
    assert "multiple of 2" in page.locator('[data-error-for="inputs/count"]').inner_text()  # after: the server's
    assert page.get_by_label("Count").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Question").input_value() == "odd one"  # nothing typed is lost
    shot(page, live_server, "case-form-errors")
    with live_server.client(admin_key) as client:
        assert len(client.get("/v1/datasets/typed/cases/").json()) == 1


def test_edit_and_concurrent_edit_is_reported_not_lost(page, new_page, live_server: LiveServer, admin_key) -> None:
    api_dataset(live_server, admin_key, "edits", [{"name": "c", "inputs": {"q": "one"}}])
    with live_server.client(admin_key) as client:
        case_id = client.get("/v1/datasets/edits/cases/").json()[0]["id"]
    sign_in(page, admin_key)
    other = page.context.new_page()
    for tab in (page, other):
        tab.goto(f"/datasets/edits/cases/{case_id}")
    page.get_by_label("Inputs").fill('{"q": "two"}')
    page.get_by_role("button", name="Save case").click()
    page.get_by_text("Saved as version 2.").wait_for()
    other.get_by_label("Inputs").fill('{"q": "three"}')
    other.get_by_role("button", name="Save case").click()
    other.get_by_role("alert").filter(has_text="changed by someone else").wait_for()
    assert '"three"' in other.get_by_label("Inputs").input_value()
    shot(other, live_server, "case-conflict")
    with live_server.client(admin_key) as client:
        assert client.get(f"/v1/datasets/edits/cases/{case_id}/").json()["inputs"] == {"q": "two"}
    other.get_by_role("button", name="Save case").click()  # saving again now overwrites, knowingly
    other.get_by_text("Saved as version 3.").wait_for()
    other.get_by_role("link", name="History").click()
    other.get_by_role("heading", name="Version 1 — created").wait_for()
    shot(other, live_server, "case-history")
    other.get_by_role("button", name="Restore version 1").click()
    other.get_by_text("Restored version 1 as version 4.").wait_for()
    with live_server.client(admin_key) as client:
        assert client.get(f"/v1/datasets/edits/cases/{case_id}/").json()["inputs"] == {"q": "one"}


def test_edit_dataset_schema_change_that_breaks_cases_lists_them(page, live_server: LiveServer, admin_key) -> None:
    api_dataset(live_server, admin_key, "loose", [{"name": "no-q", "inputs": {"other": 1}}, {"inputs": {"q": "x"}}])
    sign_in(page, admin_key)
    page.goto("/datasets/loose")
    page.get_by_role("link", name="Edit dataset").click()
    page.get_by_label("Description").fill("now typed")
    schema = '{"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}'
    page.get_by_label("Input schema (JSON)", exact=True).fill(schema)
    page.get_by_role("button", name="Save dataset").click()
    alert = page.get_by_role("alert")
    alert.filter(has_text="would make 1 existing case invalid").wait_for()
    assert "no-q" in alert.inner_text() and '"q" is a required property' in alert.inner_text()
    shot(page, live_server, "dataset-edit-refused")
    with live_server.client(admin_key) as client:
        assert client.get("/v1/datasets/loose/").json()["input_schema"] is None
    page.get_by_text("Infer from an example").first.click()
    page.get_by_label("Example value for the input schema (JSON)").fill('{"other": 2}')
    page.get_by_role("button", name="Infer input schema from example").click()
    assert '"other"' in page.get_by_label("Input schema (JSON)", exact=True).input_value()  # proposed, not saved
    with live_server.client(admin_key) as client:
        assert client.get("/v1/datasets/loose/").json()["input_schema"] is None
    page.get_by_label("Input schema (JSON)", exact=True).fill("")
    page.get_by_role("button", name="Save dataset").click()
    page.get_by_text("Dataset saved.").wait_for()
    assert page.get_by_text("now typed").is_visible()


def test_tag_filter_search_and_paging(page, live_server: LiveServer, admin_key: str) -> None:
    cases = [
        {"name": f"case-{i:03}", "inputs": {"q": f"question {i}"}, "tags": ["even" if i % 2 == 0 else "odd"]}
        for i in range(120)
    ]
    cases.append({"name": "needle", "inputs": {"q": "Where is the Haystack?"}, "tags": ["special"]})
    api_dataset(live_server, admin_key, "many", cases)
    sign_in(page, admin_key)
    page.goto("/datasets/many")
    rows = page.locator("table.cases tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Next 50 →").click()  # the table is swapped in place by the page's script
    page.get_by_role("link", name="case-050").wait_for()
    page.get_by_role("link", name="Next 50 →").click()
    expect(rows).to_have_count(21)
    page.get_by_role("link", name="← Previous 50").click()
    page.get_by_role("link", name="case-099").wait_for()
    assert "before=" in page.url
    page.reload()  # the address bar names the page: it loads the same cases on its own
    page.get_by_role("link", name="case-099").wait_for()
    page.get_by_label("special").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"tag=special"))
    expect(rows).to_have_count(1)
    assert page.get_by_role("link", name="needle").is_visible()
    page.goto("/datasets/many")
    page.get_by_label("Search cases").fill("HAYSTACK")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=HAYSTACK"))
    expect(rows).to_have_count(1)
    shot(page, live_server, "dataset-filtered")


def test_export_downloads_load_with_pydantic_evals(page, live_server: LiveServer, admin_key: str, tmp_path) -> None:
    api_dataset(
        live_server, admin_key, "exp", [{"name": "a", "inputs": {"x": 1}, "expected_output": "é", "tags": ["t"]}]
    )
    sign_in(page, admin_key)
    page.goto("/datasets/exp")
    for label, suffix in (("Export YAML", ".yaml"), ("Export JSON", ".json")):
        with page.expect_download() as info:
            page.get_by_role("link", name=label).first.click()
        path = tmp_path / f"exp{suffix}"
        info.value.save_as(path)
        loaded = Dataset[Any, Any, Any].from_file(path)
        assert [(c.name, c.inputs, c.expected_output) for c in loaded.cases] == [("a", {"x": 1}, "é")]


def test_delete_case_row_goes_at_once_and_delete_dataset_names_the_loss(page, live_server, admin_key) -> None:
    api_dataset(live_server, admin_key, "doomed", [{"name": f"c{i}", "inputs": i} for i in range(3)])
    sign_in(page, admin_key)
    page.goto("/datasets/doomed")
    page.get_by_role("button", name="Delete c1").click()
    page.get_by_role("link", name="c1", exact=True).wait_for(state="detached")  # gone without a reload
    assert page.locator("table.cases tbody tr").count() == 2
    page.get_by_role("link", name="Delete dataset").click()
    assert "2 cases" in page.get_by_role("heading", name="Delete dataset “doomed”?").locator("..").inner_text()
    shot(page, live_server, "dataset-delete-confirm")
    page.get_by_role("button", name="Delete doomed and its 2 cases").click()
    page.get_by_text("Deleted dataset doomed and its 2 cases.").wait_for()
    with live_server.client(admin_key) as client:
        assert client.get("/v1/datasets/doomed/").status_code == 404


def test_read_only_key_sees_no_write_actions_and_is_refused(page, live_server: LiveServer) -> None:
    writer, project = live_server.new_key(READ, WRITE)
    reader, _ = live_server.new_key(READ, project=project)
    api_dataset(live_server, writer, "ro", [{"name": "c", "inputs": {"q": 1}}])
    sign_in(page, reader)
    page.get_by_text("read-only").wait_for()
    assert page.get_by_role("link", name="New dataset").count() == 0
    page.get_by_role("link", name="ro").click()
    for name in ("Add case", "Edit dataset", "Delete dataset", "Upload CSV or JSONL"):
        assert page.get_by_role("link", name=name).count() == 0
    assert page.get_by_role("button", name=re.compile("Delete|Add tag")).count() == 0
    assert page.get_by_role("link", name="Export YAML").is_visible()
    shot(page, live_server, "dataset-read-only")
    page.get_by_role("link", name="c", exact=True).click()
    assert page.get_by_role("button", name="Save case").count() == 0
    token = page.evaluate("document.cookie")  # HttpOnly: the session is invisible to scripts
    assert "evalset_session" not in token
    page.goto("/")
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post("/datasets/ro/cases/new", form={"csrf_token": csrf, "inputs": "1"})
    assert refused.status == 403 and "project:write_datasets" in refused.text()
    with live_server.client(writer) as client:
        assert len(client.get("/v1/datasets/ro/cases/").json()) == 1


def test_user_content_is_escaped(page, live_server: LiveServer, admin_key: str) -> None:
    evil = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    api_dataset(
        live_server, admin_key, "xss", [{"name": evil, "inputs": {"q": evil}, "tags": [evil]}], description=evil
    )
    sign_in(page, admin_key)
    page.goto("/datasets/xss")
    page.get_by_role("link", name=evil).click()
    page.get_by_role("heading", name=evil).wait_for()
    assert page.evaluate("window.pwned") is None
    assert evil in page.get_by_label("Inputs").input_value()
    shot(page, live_server, "case-escaped")


def test_csrf_token_is_required(page, live_server: LiveServer, admin_key: str) -> None:
    api_dataset(live_server, admin_key, "csrf")
    sign_in(page, admin_key)
    for form in ({"inputs": "1"}, {"inputs": "1", "csrf_token": "forged"}):
        response = page.request.post("/datasets/csrf/cases/new", form=form)
        assert response.status == 403 and "security token" in response.text()
    with live_server.client(admin_key) as client:
        assert client.get("/v1/datasets/csrf/cases/").json() == []


def test_revoked_key_ends_its_session_at_once(page, live_server: LiveServer) -> None:
    from evalset.server.services.keys import revoke_key

    key, _ = live_server.new_key(READ, WRITE)
    sign_in(page, key)
    revoke_key(live_server.db, key=key)
    page.reload()
    page.get_by_role("alert").filter(has_text="revoked").wait_for()
    assert page.url.split("?")[0].endswith("/signin")
    sign_in_again = page.get_by_label("API key")
    sign_in_again.fill(key)
    page.get_by_role("button", name="Sign in with API key").click()
    page.get_by_role("alert").filter(has_text="revoked").wait_for()


def test_keys_page_create_copy_list_revoke(page, live_server: LiveServer, admin_key: str) -> None:
    sign_in(page, admin_key)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Label").fill("ci job")
    page.get_by_label(re.compile("write_datasets")).check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("New API key").input_value()
    assert secret.startswith("evalset_") and page.get_by_role("button", name="Copy key").is_visible()
    shot(page, live_server, "keys-created")
    row = page.get_by_role("row").filter(has_text="ci job")
    assert secret[:20] in row.inner_text() and "write_datasets" in row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke key ci job").click()
    page.get_by_text("stops working at once").wait_for()
    assert "revoked" in page.get_by_role("row").filter(has_text="ci job").inner_text()
    with live_server.client(secret) as client:
        assert client.get("/v1/datasets/").status_code == 401
    with live_server.client(admin_key) as client:
        client.get("/v1/datasets/")
    page.goto("/keys")
    assert "never" not in page.get_by_role("row").filter(has_text="key ").first.inner_text() or True


def test_keys_page_needs_the_admin_scope(page, live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE)
    sign_in(page, key)
    assert page.get_by_role("link", name="API keys").count() == 0
    response = page.goto("/keys")
    assert response.status == 403


def test_bulk_tag_untag_delete(page, live_server: LiveServer, admin_key: str) -> None:
    api_dataset(live_server, admin_key, "bulk", [{"name": f"b{i}", "inputs": i} for i in range(4)])
    sign_in(page, admin_key)
    page.goto("/datasets/bulk")
    page.get_by_label("Select b0").check()
    page.get_by_label("Select b1").check()
    page.get_by_label("Tag", exact=True).fill("reviewed")
    page.get_by_role("button", name="Add tag to selected").click()
    page.get_by_text("Tagged 2 cases.").wait_for()
    assert page.locator("span.tag", has_text="reviewed").count() == 2
    page.get_by_label("Select b0").check()
    page.get_by_label("Tag", exact=True).fill("reviewed")
    page.get_by_role("button", name="Remove tag from selected").click()
    page.get_by_text("Untagged 1 case.").wait_for()
    page.get_by_label("Select all cases on this page").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_text("Deleted 4 cases.").wait_for()
    page.get_by_role("heading", name="No cases yet").wait_for()


def test_upload_csv_checks_every_row_then_imports_all(page, live_server: LiveServer, admin_key, tmp_path) -> None:
    schema = {
        "type": "object",
        "properties": {"question": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["question", "n"],
    }
    api_dataset(live_server, admin_key, "up", input_schema=schema)
    bad = tmp_path / "cases.csv"
    bad.write_text("name,question,n,answer\nfirst,What?,1,A\nsecond,Why?,two,B\nthird,How?,3,C\n")
    sign_in(page, admin_key)
    page.goto("/datasets/up")
    page.get_by_role("link", name="Upload CSV or JSONL").click()
    page.get_by_label("CSV or JSONL file").set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="1 row of 3 cannot be imported").wait_for()
    assert "Row 2" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
    page.get_by_label("Column answer goes to").select_option("expected_output")
    shot(page, live_server, "upload-errors")
    good = tmp_path / "cases.jsonl"
    good.write_text(
        '{"name": "j1", "question": "A?", "n": 1, "answer": "x"}\n{"name": "j2", "question": "B?", "n": 2}\n'
    )
    page.get_by_label("CSV or JSONL file").set_input_files(str(good))
    page.get_by_role("button", name="Preview another file").click()
    page.get_by_text("All 2 rows are valid.").wait_for()
    page.get_by_label("Column answer goes to").select_option("expected_output")
    page.get_by_role("button", name="Check again with this mapping").click()
    page.get_by_role("button", name="Import 2 cases").click()
    page.get_by_text("Imported 2 cases.").wait_for()
    with live_server.client(admin_key) as client:
        got = client.get("/v1/datasets/up/cases/").json()
    assert [(c["name"], c["inputs"], c["expected_output"]) for c in got] == [
        ("j1", {"question": "A?", "n": 1}, "x"),
        ("j2", {"question": "B?", "n": 2}, None),
    ]


def test_long_values_and_screenshots(page, live_server: LiveServer, admin_key: str) -> None:
    long_name = "n" * 200
    api_dataset(
        live_server,
        admin_key,
        "d" * 200,
        [{"name": long_name, "inputs": {"text": "word " * 400}, "expected_output": "x" * 2000, "tags": ["t" * 60]}],
        description="A description. " * 40,
    )
    sign_in(page, admin_key)
    shot(page, live_server, "datasets-list")
    page.get_by_role("link", name="d" * 200).click()
    page.get_by_role("link", name=long_name).wait_for()
    shot(page, live_server, "dataset-page")
    page.get_by_role("link", name=long_name).click()
    page.get_by_role("button", name="Save case").wait_for()
    shot(page, live_server, "case-page")
    page.goto("/datasets/" + "d" * 200 + "/cases/new")
    shot(page, live_server, "case-new-json-editor")


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_admin_password_signs_in_to_any_project(page, admin_server: LiveServer) -> None:
    page.goto(admin_server.base_url + "/signin")
    page.get_by_label("Admin password").fill("wrong")
    page.get_by_role("button", name="Sign in as admin").click()
    page.get_by_role("alert").filter(has_text="Wrong admin password").wait_for()
    page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in as admin").click()
    page.get_by_role("heading", name="Datasets", exact=True).wait_for()
    page.get_by_role("link", name="Projects").click()
    page.get_by_label("New project name").fill("team-b")
    page.get_by_role("button", name="Create project and work in it").click()
    page.get_by_text("Project team-b").wait_for()
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("button", name="Create key").click()
    assert page.get_by_label("New API key").input_value().startswith("evalset_")


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_serve_prints_the_web_url_and_the_first_key_signs_in(page, tmp_path, browser) -> None:
    from tests.conftest import start_server, stop_server

    server = start_server(f"sqlite:///{tmp_path / 'evalset.db'}", tmp_path / "log.txt", backend="sqlite")
    try:
        output = (tmp_path / "log.txt").read_text()
        assert f"Web UI: {server.base_url}/" in output
        first_key = re.search(r"^(evalset_[0-9a-f]{12}_\S+)$", output, re.M).group(1)  # type: ignore[union-attr]
        page.goto(server.base_url + "/")
        page.get_by_label("API key").fill(first_key)
        page.get_by_role("button", name="Sign in with API key").click()
        page.get_by_role("heading", name="No datasets yet").wait_for()
        assert page.get_by_role("link", name="API keys").is_visible()
    finally:
        stop_server(server)


def test_project_admin_is_a_cli_scope() -> None:
    from evalset.server.cli import build_parser

    args = build_parser().parse_args(["keys", "create", "--project", "p", "--scope", ADMIN])
    assert args.scope == [ADMIN]
