"""Dataset pages: the list, New dataset (Dataset -> Schemas -> First case), the dataset page, Edit,
Delete, and Export downloads."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from evalset.server.domain.auth import WRITE_DATASETS
from evalset.server.errors import Conflict, InvalidInput
from evalset.server.routing import DeclaredRoute
from evalset.server.services import cases, datasets, export
from evalset.server.web.caseform import apply_action, build_form, read_form
from evalset.server.web.render import fragment, page, redirect, wants_fragment
from evalset.server.web.session import PostedForm, Visitor, VisitorDep
from evalset.server.web.wizard import SCHEMA_INPUTS, DatasetDraft, infer_into

router = APIRouter(route_class=DeclaredRoute)
PAGE_SIZE = 50


def base_url(visitor: Visitor) -> str:
    return str(visitor.request.base_url).rstrip("/")


@router.get("/")
def list_page(visitor: VisitorDep, q: str = "") -> Response:
    found = datasets.search_datasets(visitor.db, visitor.principal(), q.strip() or None)
    return page(visitor, "datasets.html", datasets=found, q=q, section="datasets", base_url=base_url(visitor))


# --- New dataset, in steps -------------------------------------------------------------------------


@router.get("/new-dataset")
def new_dataset_form(visitor: VisitorDep) -> Response:
    visitor.require(WRITE_DATASETS)
    return page(visitor, "dataset_new.html", step=1, draft=DatasetDraft(), **_WIZARD)


@router.post("/new-dataset")
def new_dataset_step(visitor: VisitorDep, form: PostedForm) -> Response:
    """Each step posts everything typed so far; `go` says where to: to:<step>, next, infer:<schema>,
    create (with the first case when on step 3) or create-empty."""
    principal = visitor.require(WRITE_DATASETS)
    draft, go, step = DatasetDraft(form), str(form.get("go") or "next"), int(str(form.get("step") or 1))
    action = str(form.get("_action") or "")
    if action and step == 3:  # an array's Add/Remove button in the first case
        _, shape, _ = read_form(draft.fields(), _case_fields(form))
        apply_action(shape, action)
        return page(visitor, "dataset_new.html", step=3, draft=draft, case_form=shape, **_WIZARD)
    if go.startswith("infer:"):
        infer_into(draft, go.split(":", 1)[1])
        step = 2
    elif go.startswith("to:"):
        step = int(go[3:]) if go[3:] in ("1", "2") else 1
    elif step == 1:
        if draft.check_name() and not datasets.name_available(visitor.db, principal, draft.values["name"]):
            draft.errors["name"] = f"A dataset named {draft.values['name']!r} already exists; choose another name."
        step = 1 if draft.errors else 2
    else:
        fields = draft.fields()
        if draft.errors:
            step = 2
        elif go == "next" and step == 2:
            step = 3
        else:
            return _create(visitor, draft, fields, form, with_case=step == 3 and go == "create")
    case_form = build_form(draft.fields()) if step == 3 else None
    return page(visitor, "dataset_new.html", step=step, draft=draft, case_form=case_form, **_WIZARD)


_WIZARD = {"section": "datasets", "schema_inputs": SCHEMA_INPUTS}


def _create(visitor: Visitor, draft: DatasetDraft, fields: dict, form: PostedForm, *, with_case: bool) -> Response:
    first: list[dict] = []
    errors: dict[str, str] = {}
    shape = None
    if with_case:
        data, shape, errors = read_form(fields, _case_fields(form))
        first = [data]
    try:
        if errors:
            raise InvalidInput("The first case has problems: see the marked fields.")
        created = datasets.create_dataset(visitor.db, visitor.principal(), fields, first_cases=first)
    except (InvalidInput, Conflict) as exc:
        if shape is None:
            draft.errors["form"] = exc.detail
            return page(visitor, "dataset_new.html", exc.status_code, step=2, draft=draft, **_WIZARD)
        shape.with_errors(errors, getattr(exc, "errors", []))
        return page(
            visitor,
            "dataset_new.html",
            exc.status_code,
            step=3,
            draft=draft,
            case_form=shape,
            error=exc.detail,
            **_WIZARD,
        )
    return redirect(visitor, f"/datasets/{created['name']}", notice="Dataset created.")


def _case_fields(form: PostedForm) -> dict[str, list[str]]:
    """The first case's fields (its name is posted as `name_case`: `name` is the dataset's)."""
    fields = multi(form)
    fields["name"] = fields.pop("name_case", [""])
    return fields


def multi(form: PostedForm) -> dict[str, list[str]]:
    """A posted form as {name: [values]} (text values only)."""
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


# --- the dataset page ------------------------------------------------------------------------------


@router.get("/datasets/{ds}")
def dataset_page(
    visitor: VisitorDep,
    ds: str,
    q: str = "",
    tag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    after: int | None = None,
    before: int | None = None,
) -> Response:
    """The cases table (keyset pages of PAGE_SIZE), tag filter, search, and the dataset's actions."""
    result = cases.page_cases(
        visitor.db, visitor.principal(), ds, tags=tag, search=q, after=after, before=before, limit=PAGE_SIZE
    )
    context = {"p": result, "q": q, "tags": tag, "section": "datasets", "base_url": base_url(visitor)}
    context["page_size"] = PAGE_SIZE
    if wants_fragment(visitor.request):
        return fragment(visitor, "dataset.html", "cases", **context)
    return page(visitor, "dataset.html", **context)


@router.get("/datasets/{ds}/export.{fmt}")
def export_file(visitor: VisitorDep, ds: str, fmt: str, as_of: datetime | None = None) -> Response:
    """Download the dataset as pydantic-evals YAML or JSON (what `Dataset.from_file` loads); with `as_of`,
    exactly as it was at that moment (the state an experiment ran on)."""
    if fmt not in ("json", "yaml"):
        raise InvalidInput("Export as .json or .yaml.")
    dataset = datasets.get_dataset(visitor.db, visitor.principal(), ds)
    chunks = export.open_export(visitor.db, visitor.principal(), dataset["id"], as_of=as_of)
    stem = dataset["name"] + (as_of.astimezone(timezone.utc).strftime("-as-of-%Y%m%dT%H%M%SZ") if as_of else "")
    headers = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
    if fmt == "json":
        return StreamingResponse(chunks, media_type="application/json", headers=headers)
    from evalset._yaml_writer import dump_document  # PyYAML only when a YAML file is asked for

    text = dump_document(orjson.loads(b"".join(chunks)))
    return Response(text, media_type="application/yaml", headers=headers)


# --- Edit and Delete -------------------------------------------------------------------------------


@router.get("/datasets/{ds}/edit")
def edit_form(visitor: VisitorDep, ds: str) -> Response:
    dataset = datasets.get_dataset(visitor.db, visitor.require(WRITE_DATASETS), ds)
    return page(visitor, "dataset_edit.html", dataset=dataset, draft=DatasetDraft(dataset=dataset), **_WIZARD)


@router.post("/datasets/{ds}/edit")
def edit(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    """Save every field; a schema change that existing cases violate is refused with the list of them."""
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    draft, go = DatasetDraft(form), str(form.get("go") or "save")
    violations: list = []
    if go.startswith("infer:"):
        infer_into(draft, go.split(":", 1)[1])
    elif draft.check_name() and not draft.errors:
        fields = draft.fields()
        try:
            if not draft.errors:
                updated = datasets.update_dataset(visitor.db, principal, dataset["id"], fields)
                return redirect(visitor, f"/datasets/{updated['name']}", notice="Dataset saved.")
        except (InvalidInput, Conflict) as exc:
            violations = getattr(exc, "errors", [])
            broken = {v["case_index"] for v in violations if v["case_index"] is not None}
            draft.errors["form"] = (
                f"Not saved: the new schemas would make {len(broken)} existing case{'s' if len(broken) != 1 else ''} "
                "invalid (listed below). Fix or delete those cases first, then change the schemas."
                if broken
                else exc.detail
            )
    status = 422 if draft.errors else 200
    return page(visitor, "dataset_edit.html", status, dataset=dataset, draft=draft, violations=violations, **_WIZARD)


@router.get("/datasets/{ds}/delete")
def delete_form(visitor: VisitorDep, ds: str) -> Response:
    dataset = datasets.get_dataset(visitor.db, visitor.require(WRITE_DATASETS), ds)
    return page(visitor, "dataset_delete.html", dataset=dataset, section="datasets")


@router.post("/datasets/{ds}/delete")
def delete(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    datasets.delete_dataset(visitor.db, principal, dataset["id"])
    return redirect(visitor, "/", notice=f"Deleted dataset {dataset['name']} and its {dataset['case_count']:,} cases.")
