"""Case pages: Add case, the case page (edit with its version), validation round-trips, delete,
history with restore, and bulk tag/untag/delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from evalset.server.domain.auth import WRITE_DATASETS
from evalset.server.errors import Conflict, InvalidInput, PreconditionFailed, SpanNotFound, TraceNotFound
from evalset.server.routing import DeclaredRoute
from evalset.server.services import cases, datasets, history, traces
from evalset.server.web.caseform import CaseForm, apply_action, build_form, parse_tags, read_form
from evalset.server.web.fromspan import snapshot_span
from evalset.server.web.render import fragment, page, redirect, wants_fragment
from evalset.server.web.routes.datasets import multi
from evalset.server.web.session import PostedForm, Visitor, VisitorDep

router = APIRouter(route_class=DeclaredRoute)
CASES = "/datasets/{ds}/cases"


def _form_page(visitor: Visitor, dataset: dict, form: CaseForm, status: int = 200, **context: Any) -> Response:
    if context.get("case"):
        context.update(_source(visitor, context["case"]))
    return page(visitor, "case.html", status, dataset=dataset, form=form, section="datasets", **context)


@router.get(CASES + "/new")
def new_case_form(visitor: VisitorDep, ds: str, mode: str = "form") -> Response:
    dataset = datasets.get_dataset(visitor.db, visitor.require(WRITE_DATASETS), ds)
    return _form_page(visitor, dataset, build_form(dataset, mode=_mode(mode)))


@router.post(CASES + "/new")
def add_case(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    data, shape, errors = read_form(dataset, multi(form), mode=_mode(str(form.get("mode"))))
    if form.get("_action"):
        apply_action(shape, str(form.get("_action")))
        return _form_page(visitor, dataset, shape)
    try:
        if errors:
            raise InvalidInput("Some fields need fixing: see the messages beside them.")
        (case,) = cases.create_cases(visitor.db, principal, dataset["id"], [data], single=True)
    except (InvalidInput, Conflict) as exc:
        _show_errors(shape, errors, exc)
        return _form_page(visitor, dataset, shape, exc.status_code, error=exc.detail)
    label = case["name"] or "Case"
    return redirect(visitor, f"/datasets/{dataset['name']}", notice=f"{label} added.")


@router.post(CASES + "/validate")
def validate(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    """Check a form without saving it (the page's script asks as fields change): errors by field."""
    dataset = datasets.get_dataset(visitor.db, visitor.principal(), ds)
    data, shape, errors = read_form(dataset, multi(form), mode=_mode(str(form.get("mode"))))
    shape.with_errors(errors, cases.check_case(dataset, data))
    return fragment(visitor, "case.html", "validation", dataset=dataset, form=shape)


@router.get(CASES + "/{case_id}")
def case_page(visitor: VisitorDep, ds: str, case_id: str, mode: str = "form") -> Response:
    principal = visitor.principal()
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    case = cases.get_case(visitor.db, principal, dataset["id"], case_id)
    return _form_page(visitor, dataset, build_form(dataset, case, mode=_mode(mode)), case=case)


@router.post(CASES + "/{case_id}")
def save_case(visitor: VisitorDep, ds: str, case_id: str, form: PostedForm) -> Response:
    """Save an edit made at the version the form carries; a newer version is reported, nothing is lost."""
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    data, shape, errors = read_form(dataset, multi(form), mode=_mode(str(form.get("mode"))))
    current = cases.get_case(visitor.db, principal, dataset["id"], case_id)
    if form.get("_action"):
        apply_action(shape, str(form.get("_action")))
        return _form_page(visitor, dataset, shape, case=current)
    data.setdefault("expected_output", None)  # emptied in the form: cleared
    data.setdefault("metadata", None)
    try:
        if errors:
            raise InvalidInput("Some fields need fixing: see the messages beside them.")
        saved = cases.update_case(visitor.db, principal, dataset["id"], case_id, data, if_match=shape.version)
    except PreconditionFailed as exc:
        shape.version = current["version"]  # saving again now overwrites, knowingly
        return _form_page(visitor, dataset, shape, 409, case=current, conflict=exc.detail)
    except (InvalidInput, Conflict) as exc:
        _show_errors(shape, errors, exc)
        return _form_page(visitor, dataset, shape, exc.status_code, case=current, error=exc.detail)
    return redirect(
        visitor, f"/datasets/{dataset['name']}/cases/{case_id}", notice=f"Saved as version {saved['version']}."
    )


@router.post(CASES + "/{case_id}/delete")
def delete_case(visitor: VisitorDep, ds: str, case_id: str, form: PostedForm) -> Response:
    """Delete a case; from the page's script, an empty answer (the script removes the row at once)."""
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    cases.delete_case(visitor.db, principal, dataset["id"], case_id)
    if wants_fragment(visitor.request):
        return visitor.save(Response(status_code=200))
    return redirect(visitor, f"/datasets/{dataset['name']}", notice="Case deleted.")


@router.get(CASES + "/{case_id}/history")
def case_history(visitor: VisitorDep, ds: str, case_id: str) -> Response:
    principal = visitor.principal()
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    revisions = history.case_history(visitor.db, principal, dataset["id"], case_id)
    return page(visitor, "case_history.html", dataset=dataset, case_id=case_id, revisions=_with_changes(revisions))


@router.post(CASES + "/{case_id}/restore")
def restore(visitor: VisitorDep, ds: str, case_id: str, form: PostedForm) -> Response:
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    version, current = int(str(form.get("version"))), str(form.get("current") or "")
    restored = cases.restore_version(
        visitor.db, principal, dataset["id"], case_id, version=version, if_match=int(current) if current else None
    )
    return redirect(
        visitor,
        f"/datasets/{dataset['name']}/cases/{case_id}",
        notice=f"Restored version {version} as version {restored['version']}.",
    )


@router.post("/datasets/{ds}/bulk")
def bulk(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    """Tag, untag or delete the selected cases, in one transaction."""
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    ids = [str(v) for v in form.getlist("case_id")]
    action, tags = str(form.get("action") or ""), parse_tags(str(form.get("tag") or ""))
    if not ids:
        raise InvalidInput("Select at least one case first.")
    if action == "delete":
        count = cases.delete_cases(visitor.db, principal, dataset["id"], ids)
        notice = f"Deleted {count} case{'s' if count != 1 else ''}."
    elif action in ("tag", "untag") and tags:
        change = {"add": tags} if action == "tag" else {"remove": tags}
        count = cases.retag_cases(visitor.db, principal, dataset["id"], ids, **change)
        notice = f"{'Tagged' if action == 'tag' else 'Untagged'} {count} case{'s' if count != 1 else ''}."
    else:
        raise InvalidInput("Type a tag, then choose Add tag or Remove tag.")
    return redirect(visitor, f"/datasets/{dataset['name']}", notice=notice)


def _show_errors(shape: CaseForm, errors: dict[str, str], exc: InvalidInput | Conflict) -> None:
    if isinstance(exc, Conflict):  # the case name is taken
        errors["name"] = exc.detail
    shape.with_errors(errors, getattr(exc, "errors", []))


def _source(visitor: Visitor, case: dict) -> dict[str, object]:
    """The case's source span: a link to it in the Live view while its trace is stored, and the snapshot."""
    trace_id, span_id = case.get("source_trace_id"), case.get("source_span_id")
    link = None
    if trace_id:
        try:
            traces.get_span(visitor.db, visitor.principal(), trace_id, span_id or "")
            link = f"/live/traces/{trace_id}?span={span_id}"
        except SpanNotFound:
            link = f"/live/traces/{trace_id}"
        except TraceNotFound:
            link = None
    return {"source_link": link, "snapshot": snapshot_span(case.get("source_span"))}


def _mode(mode: str) -> str:
    return "json" if mode == "json" else "form"


def _with_changes(revisions: list[dict]) -> list[dict]:
    """Each revision with the fields it changed compared with the one before, newest first."""
    shown, before = [], None
    for revision in revisions:
        state = revision["state"]
        fields = ("name", "inputs", "expected_output", "metadata", "tags", "evaluators")
        changed = [f for f in fields if before is None or before.get(f) != state.get(f)]
        shown.append({**revision, "changed": changed})
        before = state
    return shown[::-1]
