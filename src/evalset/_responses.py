# pyright: strict
"""Reading responses: status to exception, JSON body to validated typed records. No I/O."""

from __future__ import annotations

import warnings
from typing import Any, TypeVar, cast

import httpx
from pydantic import TypeAdapter, ValidationError

from evalset.errors import (
    CaseNotFoundError,
    DatasetApiError,
    DatasetNotFoundError,
    ExperimentNotFoundError,
    VersionConflictError,
)
from evalset.types import ApiErrorItem

__all__ = ["Target", "check", "validated"]

T = TypeVar("T")

_HINTS = {
    401: "Check the API key: pass api_key= or set EVALSET_API_KEY (`evalset keys create` makes one).",
    403: "The key lacks a scope: reading needs project:read_datasets, writing project:write_datasets.",
    413: "The request body is over the server's limit: send fewer cases at a time (chunk_size=).",
}


class Target:
    """What a request is about, to name it in errors: a dataset, maybe one of its cases, or an experiment."""

    __slots__ = ("dataset", "case", "experiment")

    def __init__(self, dataset: str | None = None, case: str | None = None, experiment: str | None = None) -> None:
        self.dataset = dataset
        self.case = case
        self.experiment = experiment


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def check(response: httpx.Response, target: Target) -> Any:
    """The JSON body of a successful response (None for 204); the matching exception otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return response.json() if response.content and status != 204 else None
    body = _body(response)
    detail: Any = cast(dict[str, Any], body).get("detail", body) if isinstance(body, dict) else body
    detail = detail or response.reason_phrase
    if status == 404:
        _raise_not_found(detail, body, target)
    if status == 412:
        current = cast(dict[str, Any], body).get("current_version") if isinstance(body, dict) else None
        raise VersionConflictError(detail, current_version=current if isinstance(current, int) else None, body=body)
    errors = cast(dict[str, Any], body).get("errors") if isinstance(body, dict) else None
    raise DatasetApiError(
        status,
        detail,
        errors=cast(list[ApiErrorItem], errors) if isinstance(errors, list) else None,
        body=body,
        hint=_HINTS.get(status) or _redirect_hint(response),
    )


def _redirect_hint(response: httpx.Response) -> str | None:
    if response.is_redirect:
        location = response.headers.get("location", "?")
        return f"The server redirected to {location}: point base_url at the evalset server itself."
    return None


def _raise_not_found(detail: Any, body: Any, target: Target) -> None:
    if target.experiment is not None and isinstance(detail, str) and "experiment" in detail.lower():
        raise ExperimentNotFoundError(detail, experiment=target.experiment, body=body)
    if target.case is not None and isinstance(detail, str) and "case" in detail.lower():
        raise CaseNotFoundError(detail, dataset=target.dataset, case=target.case, body=body)
    if target.dataset is not None:
        raise DatasetNotFoundError(detail, dataset=target.dataset, body=body)
    raise DatasetApiError(
        404, detail, body=body, hint="Is base_url the root of an evalset server (without /v1)?"
    )  # no dataset in the path: the route itself is missing


def validated(adapter: TypeAdapter[T], data: Any) -> T:
    """Coerce a response into its typed record (UUIDs, datetimes); warn and return it raw if it does not fit.

    A server newer than this SDK must not break it outright, so a mismatch is a warning, not an error.
    """
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        summary = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        warnings.warn(
            f"evalset response did not match the expected shape and is returned unvalidated ({summary}). "
            "The server may be newer than this SDK: upgrade evalset.",
            UserWarning,
            stacklevel=4,
        )
        return cast(T, data)
