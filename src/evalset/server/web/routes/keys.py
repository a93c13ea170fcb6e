"""The API keys page, for a project's admins: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from evalset.server.domain.auth import ADMIN, KEY_PREFIX, SCOPES
from evalset.server.errors import InvalidInput
from evalset.server.routing import DeclaredRoute
from evalset.server.services import keys
from evalset.server.web.render import page, redirect
from evalset.server.web.session import PostedForm, Visitor, VisitorDep

router = APIRouter(route_class=DeclaredRoute)

SCOPE_TEXT = {
    "project:read_datasets": "Read datasets and cases",
    "project:write_datasets": "Create, change and delete datasets and cases",
    "project:write_traces": "Send traces (OpenTelemetry / logfire)",
    "project:admin": "Manage this project's API keys",
}


def _keys_page(visitor: Visitor, status: int = 200, **context: object) -> Response:
    rows = keys.list_keys(visitor.db, project_id=visitor.principal().project_id)
    return page(
        visitor,
        "keys.html",
        status,
        keys=rows[::-1],
        scopes=SCOPES,
        scope_text=SCOPE_TEXT,
        prefix=KEY_PREFIX,
        section="keys",
        **context,
    )


@router.get("/keys")
def keys_page(visitor: VisitorDep) -> Response:
    visitor.require(ADMIN)
    return _keys_page(visitor)


@router.post("/keys")
def create_key(visitor: VisitorDep, form: PostedForm) -> Response:
    """Create a key with the chosen scopes; the page shows the secret this once."""
    principal = visitor.require(ADMIN)
    scopes = [str(s) for s in form.getlist("scope")]
    name = str(form.get("name") or "").strip()[:200] or None
    try:
        if not scopes:
            raise InvalidInput("Choose at least one scope for the key.")
        project = keys.get_project(visitor.db, id=principal.project_id)
        secret, row = keys.create_key(visitor.db, project=project["name"], scopes=scopes, name=name)
    except InvalidInput as exc:
        return _keys_page(visitor, 422, error=exc.detail)
    return _keys_page(visitor, 201, new_secret=secret, new_key=row)


@router.post("/keys/{lookup}/revoke")
def revoke_key(visitor: VisitorDep, lookup: str, form: PostedForm) -> Response:
    principal = visitor.require(ADMIN)
    if not keys.revoke_key(visitor.db, key=lookup, project_id=principal.project_id):
        raise InvalidInput("No active key with that id in this project.")
    return redirect(visitor, "/keys", notice=f"Revoked key {KEY_PREFIX}{lookup}…; it stops working at once.")
