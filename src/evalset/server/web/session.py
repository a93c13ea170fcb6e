"""Browser sessions: a signed cookie, CSRF tokens, and who the visitor is.

The cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) holds a signed JSON object: a CSRF token and,
once signed in, the id of the API key used (never the key) or the admin mark and the chosen project.
It is signed with a secret kept in the database (`server_settings`), so every server process on the
database accepts it. The key is looked up again on every request, so revoking it ends the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData
from starlette.responses import Response

from evalset.server.domain.auth import ADMIN, READ_DATASETS, WRITE_DATASETS, Principal
from evalset.server.errors import EvalsetError, Forbidden, Unauthorized
from evalset.server.services import keys
from evalset.server.storage import Database

__all__ = ["COOKIE", "Visitor", "VisitorDep", "PostedForm", "signer_for", "admin_fingerprint"]

COOKIE = "evalset_session"
MAX_AGE = 7 * 24 * 3600
"""A session lasts a week from sign-in (revoking its key ends it at once)."""


def signer_for(db: Database) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keys.server_secret(db, name="session_secret"), salt="evalset.session")


def admin_fingerprint(password: str) -> str:
    """What an admin session remembers of the password: changing the password ends admin sessions."""
    return hashlib.sha256(b"evalset-admin:" + password.encode()).hexdigest()[:32]


@dataclass
class Visitor:
    """The person behind a browser request: their session and, once signed in, their principal."""

    request: Request
    data: dict[str, Any]
    changed: bool = False
    _principal: Principal | None = field(default=None, repr=False)
    _project_name: str | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        return self.request.app.state.db

    @property
    def csrf(self) -> str:
        return self.data["csrf"]

    @property
    def signed_in(self) -> bool:
        return bool(self.data.get("key_id") or self.data.get("admin"))

    def principal(self) -> Principal:
        """Who is signed in, checked against the database now; Unauthorized (-> sign-in page) otherwise."""
        if self._principal is None:
            self._principal = self._resolve()
        return self._principal

    def _resolve(self) -> Principal:
        if self.data.get("key_id"):
            return keys.session_principal(self.db, key_id=self.data["key_id"])
        if self.data.get("admin"):
            password = self.request.app.state.settings.resolved_admin_password()
            if password is None or not hmac.compare_digest(self.data["admin"], admin_fingerprint(password)):
                raise Unauthorized("The admin password has changed; sign in again.")
            return keys.admin_principal(self.db, project_id=self.data["project_id"])
        raise Unauthorized("Sign in to continue.")

    @property
    def who(self) -> Principal | None:
        """The principal if the visitor is signed in and still valid, else None (for the layout)."""
        if not self.signed_in:
            return None
        try:
            return self.principal()
        except EvalsetError:
            return None

    @property
    def project_name(self) -> str:
        if self._project_name is None:
            self._project_name = str(keys.get_project(self.db, id=self.principal().project_id)["name"])
        return self._project_name

    def can(self, scope: str) -> bool:
        return scope in self.principal().scopes

    @property
    def can_read(self) -> bool:
        return self.can(READ_DATASETS)

    @property
    def can_write(self) -> bool:
        return self.can(WRITE_DATASETS)

    @property
    def can_admin(self) -> bool:
        return self.can(ADMIN)

    @property
    def is_admin_password(self) -> bool:
        return bool(self.data.get("admin"))

    def require(self, scope: str) -> Principal:
        principal = self.principal()
        if scope not in principal.scopes:
            raise Forbidden(f"Your sign-in lacks the {scope!r} scope, so this page or action is not available.")
        return principal

    def sign_in(self, **data: Any) -> None:
        """Start a new session (a new CSRF token too: a token seen before sign-in is not reused)."""
        self.data = {"csrf": secrets.token_urlsafe(24), **data}
        self._principal = None
        self.changed = True

    def sign_out(self) -> None:
        self.sign_in()

    def save(self, response: Response) -> Response:
        """Write the session cookie onto `response` if the session is new or changed."""
        if self.changed:
            signer: URLSafeTimedSerializer = self.request.app.state.web_signer
            response.set_cookie(
                COOKIE,
                signer.dumps(self.data),
                max_age=MAX_AGE,
                httponly=True,
                samesite="lax",
                secure=self.request.url.scheme == "https",
                path="/",
            )
        return response


async def _visitor(request: Request) -> Visitor:
    signer: URLSafeTimedSerializer = request.app.state.web_signer
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = signer.loads(raw, max_age=MAX_AGE)
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                return Visitor(request, data)
        except BadSignature:  # tampered, expired, or signed with another secret
            pass
    visitor = Visitor(request, {})
    visitor.sign_in()
    return visitor


VisitorDep = Annotated[Visitor, Depends(_visitor)]


async def _posted_form(request: Request, visitor: VisitorDep) -> FormData:
    """The posted form, once its CSRF token matches the session's (every form carries `csrf_token`)."""
    form = await request.form(max_files=4, max_fields=20000)
    token = form.get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(token, visitor.csrf):
        raise Forbidden(
            "This form was refused: its security token is missing or out of date (it may come from another "
            "site, or from before you signed in or out). Reload the page and try again."
        )
    return form


PostedForm = Annotated[FormData, Depends(_posted_form)]
