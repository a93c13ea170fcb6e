"""Sign-in (API key or admin password), sign-out, and the admin's choice of project."""

from __future__ import annotations

import hmac

from fastapi import APIRouter
from fastapi.responses import Response

from evalset.server.domain.auth import ADMIN, READ_DATASETS
from evalset.server.errors import EvalsetError, InvalidInput
from evalset.server.routing import DeclaredRoute
from evalset.server.services import keys
from evalset.server.web.render import page, redirect
from evalset.server.web.session import PostedForm, Visitor, VisitorDep, admin_fingerprint

router = APIRouter(route_class=DeclaredRoute)


def _safe_next(target: object) -> str:
    """Only a path on this site (never `//host` or a full URL) is followed after sign-in."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _signin_page(visitor: Visitor, *, error: str = "", next_path: str = "/", status: int = 200) -> Response:
    notice = visitor.data.pop("notice", "")
    if notice:
        visitor.changed = True
    admin = visitor.request.app.state.settings.resolved_admin_password() is not None
    return page(visitor, "signin.html", status_code=status, error=error or notice, next=next_path, admin_enabled=admin)


@router.get("/signin")
def signin_form(visitor: VisitorDep, next: str = "/") -> Response:
    return _signin_page(visitor, next_path=_safe_next(next))


@router.post("/signin")
def signin(visitor: VisitorDep, form: PostedForm) -> Response:
    """Sign in with an API key (its project and scopes decide what is shown) or the admin password."""
    next_path = _safe_next(form.get("next"))
    try:
        if "password" in form:
            _admin_sign_in(visitor, str(form.get("password") or ""))
        else:
            key = str(form.get("api_key") or "").strip()
            principal = keys.authenticate(visitor.db, f"Bearer {key}")
            if READ_DATASETS not in principal.scopes and ADMIN not in principal.scopes:
                raise InvalidInput("This API key can neither read datasets nor manage keys, so it cannot sign in.")
            visitor.sign_in(key_id=principal.key_id)
    except EvalsetError as exc:
        return _signin_page(visitor, error=exc.detail, next_path=next_path, status=exc.status_code)
    return redirect(visitor, next_path)


def _admin_sign_in(visitor: Visitor, password: str) -> None:
    expected = visitor.request.app.state.settings.resolved_admin_password()
    if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
        raise InvalidInput("Wrong admin password.")
    projects = keys.list_projects(visitor.db)
    project = next((p for p in projects if p["name"] == "default"), projects[0] if projects else None)
    if project is None:
        project = keys.ensure_project(visitor.db, name="default")
    visitor.sign_in(admin=admin_fingerprint(expected), project_id=project["id"])


@router.post("/signout")
def signout(visitor: VisitorDep, form: PostedForm) -> Response:
    visitor.sign_out()
    visitor.data["notice"] = "You are signed out."
    return redirect(visitor, "/signin")


@router.get("/projects")
def projects_page(visitor: VisitorDep) -> Response:
    """The admin's projects: work in one, or create one."""
    _require_admin_password(visitor)
    return page(visitor, "projects.html", projects=keys.list_projects(visitor.db), section="projects")


@router.post("/projects")
def choose_project(visitor: VisitorDep, form: PostedForm) -> Response:
    _require_admin_password(visitor)
    name = str(form.get("name") or "").strip()
    if name:
        project = keys.ensure_project(visitor.db, name=name)
    else:
        project = keys.get_project(visitor.db, id=str(form.get("project_id") or ""))
    visitor.data["project_id"] = project["id"]
    visitor.changed = True
    return redirect(visitor, "/")


def _require_admin_password(visitor: Visitor) -> None:
    visitor.principal()
    if not visitor.is_admin_password:
        from evalset.server.errors import Forbidden

        raise Forbidden("Only the admin password's sessions choose projects; an API key belongs to one project.")
