"""Authentication, scopes, project isolation and request limits over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import READ, TEST_BODY_LIMIT, WRITE, LiveServer
from tests.server.api.test_cases import add
from tests.server.api.test_datasets import create


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer nonsense", "Bearer evalset_000000000000_" + "x" * 43],
)
def test_bad_credentials_are_401(live_server: LiveServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    with live_server.client() as anonymous:
        for method, path in [("GET", "/v1/datasets/"), ("POST", "/v1/datasets/"), ("GET", "/v1/datasets/x/export/")]:
            response = anonymous.request(
                method, path, headers=headers, json={"name": "x"} if method == "POST" else None
            )
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == "application/json" and response.json()["detail"]


def test_right_lookup_wrong_secret_is_401(live_server: LiveServer, key: str) -> None:
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with live_server.client(forged) as client:
        assert client.get("/v1/datasets/").status_code == 401


def test_revoked_key_is_401(live_server: LiveServer) -> None:
    from evalset.server.services.keys import revoke_key

    key, _ = live_server.new_key()
    with live_server.client(key) as client:
        assert client.get("/v1/datasets/").status_code == 200
        assert revoke_key(live_server.db, key=key)
        response = client.get("/v1/datasets/")
        assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_scopes(live_server: LiveServer, make_client) -> None:
    writer = make_client(scopes=(WRITE,), project="scoped")
    reader = make_client(scopes=(READ,), project="scoped")
    both = make_client(scopes=(READ, WRITE), project="scoped")
    create(both, "shared")
    case = add(both, "shared", inputs={"q": 1})
    case_path = f"/v1/datasets/shared/cases/{case['id']}/"
    assert reader.get("/v1/datasets/").status_code == 200
    assert reader.get("/v1/datasets/shared/export/").status_code == 200
    for method, path, body in [
        ("POST", "/v1/datasets/", {"name": "nope"}),
        ("PATCH", "/v1/datasets/shared/", {"description": "x"}),
        ("DELETE", "/v1/datasets/shared/", None),
        ("POST", "/v1/datasets/shared/cases/", {"inputs": 1}),
        ("POST", "/v1/datasets/shared/import/", {"cases": []}),
        ("PATCH", case_path, {"tags": []}),
        ("DELETE", case_path, None),
    ]:
        response = reader.request(method, path, json=body)
        assert response.status_code == 403, (method, path)
        assert "project:write_datasets" in response.json()["detail"]
    for path in ("/v1/datasets/", "/v1/datasets/shared/", "/v1/datasets/shared/cases/", case_path):
        assert writer.get(path).status_code == 403
    assert both.get(case_path).json()["version"] == 1  # nothing changed


def test_projects_are_isolated_by_name_and_by_id(live_server: LiveServer, make_client) -> None:
    alice = make_client(scopes=(READ, WRITE))
    bob = make_client(scopes=(READ, WRITE))
    ds = create(alice, "private")
    case = add(alice, "private", inputs={"secret": True})
    assert bob.get("/v1/datasets/").json() == []
    for ref in ("private", ds["id"]):
        base = f"/v1/datasets/{ref}/"
        for method, path, body in [
            ("GET", base, None),
            ("PATCH", base, {"description": "pwned"}),
            ("DELETE", base, None),
            ("GET", base + "cases/", None),
            ("POST", base + "cases/", {"inputs": 1}),
            ("POST", base + "import/", {"cases": [{"inputs": 1}]}),
            ("GET", base + "export/", None),
            ("GET", f"{base}cases/{case['id']}/", None),
            ("PATCH", f"{base}cases/{case['id']}/", {"tags": ["pwned"]}),
            ("DELETE", f"{base}cases/{case['id']}/", None),
            ("GET", f"{base}cases/{case['id']}/history/", None),
        ]:
            response = bob.request(method, path, json=body)
            assert (response.status_code, response.json()) == (404, {"detail": "Dataset not found"}), (method, path)
    # the same name is free in bob's project, and the two never mix
    create(bob, "private")
    assert alice.get("/v1/datasets/private/").json()["id"] == ds["id"]
    assert alice.get("/v1/datasets/private/").json()["case_count"] == 1
    assert alice.get(f"/v1/datasets/private/cases/{case['id']}/").json()["tags"] == []


def test_body_over_the_limit_is_413(api: httpx.Client) -> None:
    create(api, "big")
    blob = "x" * (TEST_BODY_LIMIT + 10)
    response = api.post("/v1/datasets/big/cases/", json={"inputs": blob})
    assert response.status_code == 413 and "limit" in response.json()["detail"]

    def chunked():  # no Content-Length: the limit is enforced while reading
        for _ in range(5):
            yield b'{"inputs": "' + b"y" * (TEST_BODY_LIMIT // 4) + b'"}'

    streamed = api.post("/v1/datasets/big/cases/", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert api.get("/v1/datasets/big/").json()["case_count"] == 0
