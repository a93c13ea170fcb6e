"""`DeclaredRoute` and `LazyRoutes`: routes built when first needed, answering as FastAPI's own would."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import BaseRoute

from evalset.server.routing import DeclaredRoute, LazyRoutes


class Item(BaseModel):
    id: int
    label: str


calls: list[str] = []


def tag_call() -> None:
    calls.append("dependency")


def read_item(item_id: int, label: Annotated[str, Query(max_length=5)] = "x") -> Item:
    """Read one item.\f Not documented: FastAPI cuts the description at a form feed."""
    return Item(id=item_id, label=label)


def test_a_declared_route_analysed_on_use_equals_an_api_route() -> None:
    options = {"methods": ["get"], "dependencies": [Depends(tag_call)], "responses": {404: {"description": "no"}}}
    declared = DeclaredRoute("/items/{item_id}", read_item, **options)  # type: ignore[arg-type]
    assert "_declared" in declared.__dict__  # nothing analysed yet
    plain = APIRoute("/items/{item_id}", read_item, **options)  # type: ignore[arg-type]
    assert [p.name for p in declared.dependant.path_params] == ["item_id"]  # analysed now, in full
    assert "_declared" not in declared.__dict__
    for name in ("name", "methods", "unique_id", "description", "response_model", "tags", "path_format"):
        assert getattr(declared, name) == getattr(plain, name), name
    assert declared.response_field is not None and plain.response_field is not None
    assert declared.response_field.field_info.annotation is plain.response_field.field_info.annotation is Item


def test_an_included_declared_route_is_analysed_once_by_the_including_router() -> None:
    router = APIRouter(route_class=DeclaredRoute, tags=["items"])
    router.get("/items/{item_id}", dependencies=[Depends(tag_call)])(read_item)
    app = FastAPI()
    app.include_router(router, prefix="/v9")
    (declared,) = router.routes
    with TestClient(app) as client:
        calls.clear()
        assert client.get("/v9/items/3?label=ab").json() == {"id": 3, "label": "ab"}
        assert calls == ["dependency"]
        assert client.get("/v9/items/3?label=toolong").status_code == 422
        assert client.get("/v9/items/nope").status_code == 422
        operation = client.get("/openapi.json").json()["paths"]["/v9/items/{item_id}"]["get"]
    assert operation["tags"] == ["items"]
    assert operation["description"] == "Read one item."
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Item"}
    assert "_declared" in declared.__dict__  # the including router's analysis served every request


def test_lazy_routes_are_made_on_the_first_request_that_reaches_them() -> None:
    made: list[int] = []

    def build() -> list[BaseRoute]:
        made.append(1)
        pages = APIRouter()
        pages.get("/pages/{n}", name="page")(lambda n: {"page": n})
        pages.post("/only-post")(lambda: {"posted": True})
        scratch = FastAPI()
        scratch.include_router(pages)
        return scratch.router.routes[len(FastAPI().router.routes) :]

    app = FastAPI()
    app.get("/api")(lambda: {"api": True})
    app.router.routes.append(LazyRoutes(build))
    with TestClient(app) as client:
        assert client.get("/api").json() == {"api": True}
        assert made == []  # the API's answer made no page
        assert client.get("/pages/7").json() == {"page": "7"}
        assert client.get("/only-post").status_code == 405  # a partial match: the method is wrong
        assert client.post("/only-post").json() == {"posted": True}
        assert client.get("/nowhere").status_code == 404
    assert made == [1]
    assert app.url_path_for("page", n="2") == "/pages/2"
