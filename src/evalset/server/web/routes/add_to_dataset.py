"""Add to Dataset from the Live view: pick (or create) a dataset, choose how each field is taken from the
span, edit the proposed case in the schema-driven case form, save it with its source span. Several ticked
spans are added in one action with the same mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from evalset.server.domain.auth import WRITE_DATASETS, Principal
from evalset.server.domain.names import name_problem
from evalset.server.domain.spans import SpanRecord
from evalset.server.errors import Conflict, InvalidInput
from evalset.server.routing import DeclaredRoute
from evalset.server.services import cases, datasets, traces
from evalset.server.web.caseform import DATA_FIELDS, CaseForm, apply_action, build_form, parse_tags, read_form
from evalset.server.web.fromspan import FieldChoice, fits_form, mapping_params, read_mapping
from evalset.server.web.render import page, redirect
from evalset.server.web.routes.datasets import multi
from evalset.server.web.session import PostedForm, Visitor, VisitorDep
from evalset.server.web.wizard import check_name

router = APIRouter(route_class=DeclaredRoute)
ADD = "/live/traces/{trace_id}/add"
MAX_SPANS = 100


def _service_mapping(mapping: Mapping[str, FieldChoice]) -> dict[str, str]:
    """The page's choices in the service's terms: auto, attributes, none, or a JSON path."""
    words = {"proposal": "auto", "attributes": "attributes", "none": "none", "path": "none"}
    return {name: c.path if c.source == "path" and c.path else words[c.source] for name, c in mapping.items()}


def _spans(visitor: Visitor, principal: Principal, trace_id: str, ids: Sequence[str]) -> list[SpanRecord]:
    ids = list(dict.fromkeys(i for i in ids if i))
    if not ids:
        raise InvalidInput("Tick at least one span in the trace's list, then choose “Add selected spans to a dataset”.")
    if len(ids) > MAX_SPANS:
        raise InvalidInput(f"Add at most {MAX_SPANS} spans at a time ({len(ids)} were ticked).")
    return [traces.get_span(visitor.db, principal, trace_id, span_id) for span_id in ids]


def _proposals(spans: list[SpanRecord], mapping: dict[str, FieldChoice]) -> tuple[list[dict], dict[str, str]]:
    """Per span: the rule and the mapped values; and per field, why its path could not be followed
    (that field is then left empty, the others still come from the span)."""
    errors: dict[str, str] = {}
    wanted = _service_mapping(mapping)
    for name in DATA_FIELDS:
        if mapping[name].source == "path" and not mapping[name].path:
            errors[name] = "Type a JSON path into the span's attributes (it starts with $), or choose another option."
        for span in spans:
            try:
                traces.propose_from_span(span, {name: wanted[name]})
            except InvalidInput as exc:
                errors.setdefault(name, exc.errors[0]["message"] if exc.errors else exc.detail)
    usable = {name: ("none" if name in errors else how) for name, how in wanted.items()}
    found = []
    for span in spans:
        proposal, values = traces.propose_from_span(span, usable)
        found.append(
            {"span": span, "rule": proposal.rule, "sources": proposal.sources, "values": values, "name": proposal.name}
        )
    return found, errors


def _context(
    visitor: Visitor, principal: Principal, trace_id: str, spans: list[SpanRecord], params: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Everything the page shows before its case form: spans, datasets, the chosen one, the mapping."""
    mapping = read_mapping(params)
    chosen_name = (params.get("dataset") or [""])[-1]
    chosen = datasets.get_dataset(visitor.db, principal, chosen_name) if chosen_name else None
    proposals, mapping_errors = _proposals(spans, mapping)
    carried = [("span", s.span_id) for s in spans] + list(mapping_params(mapping).items())
    return {
        "trace_id": trace_id,
        "spans": spans,
        "datasets": datasets.search_datasets(visitor.db, principal, None),
        "dataset": chosen,
        "mapping": mapping,
        "mapping_errors": mapping_errors,
        "proposals": proposals,
        "carried": carried,
        "carried_with_dataset": carried + ([("dataset", chosen["name"])] if chosen else []),
        "section": "live",
        "new_dataset_name": "",
    }


def _case_form(dataset: dict, proposal: dict, mode: str | None) -> CaseForm:
    """The proposal in the case form (JSON editors when the form would lose part of it), checked."""
    case = {**proposal["values"], "name": proposal.get("name") or "", "tags": []}
    mode = mode if mode in ("form", "json") else ("form" if fits_form(dataset, case) else "json")
    form = build_form(dataset, case, mode=mode)
    return form.with_errors({}, cases.check_case(dataset, {k: case[k] for k in DATA_FIELDS}))


def _previews(dataset: dict, proposals: list[dict]) -> list[dict]:
    return [{**p, "violations": cases.check_case(dataset, dict(p["values"]))} for p in proposals]


@router.get(ADD)
def add_page(visitor: VisitorDep, trace_id: str, mode: str = "") -> Response:
    principal = visitor.require(WRITE_DATASETS)
    params = _query(visitor)
    spans = _spans(visitor, principal, trace_id, params.get("span", []))
    context = _context(visitor, principal, trace_id, spans, params)
    dataset = context["dataset"]
    if dataset is not None and len(spans) == 1:
        context["form"] = _case_form(dataset, context["proposals"][0], mode)
    elif dataset is not None:
        context["previews"] = _previews(dataset, context["proposals"])
    return page(visitor, "add_to_dataset.html", **context)


@router.post(ADD)
def add_cases(visitor: VisitorDep, trace_id: str, form: PostedForm) -> Response:
    """Save: one span's case as edited in the form, or one case per ticked span by the mapping."""
    principal = visitor.require(WRITE_DATASETS)
    params = multi(form)
    spans = _spans(visitor, principal, trace_id, params.get("span", []))
    context = _context(visitor, principal, trace_id, spans, params)
    dataset = context["dataset"]
    if dataset is None:
        raise InvalidInput("Choose the dataset to add the case to.")
    if len(spans) > 1:
        return _add_many(visitor, principal, context, parse_tags(str(form.get("tags") or "")))
    data, shape, errors = read_form(dataset, params, mode="json" if form.get("mode") == "json" else "form")
    context["form"] = shape
    if form.get("_action"):
        apply_action(shape, str(form.get("_action")))
        return page(visitor, "add_to_dataset.html", **context)
    overrides = {name: data.get(name) for name in ("name", "tags", *DATA_FIELDS)}
    try:
        if errors:
            raise InvalidInput("Some fields need fixing: see the messages beside them.")
        ref = traces.SpanRef(trace_id=trace_id, span_id=spans[0].span_id, overrides=overrides)
        (case,) = traces.create_cases_from_spans(visitor.db, principal, dataset["id"], [ref])
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, Conflict):
            errors["name"] = exc.detail
        shape.with_errors(errors, getattr(exc, "errors", []))
        return page(visitor, "add_to_dataset.html", exc.status_code, error=exc.detail, **context)
    label = f"Case “{case['name']}”" if case["name"] else "Case"
    return redirect(
        visitor, f"/datasets/{dataset['name']}/cases/{case['id']}", notice=f"{label} added from span {spans[0].name}."
    )


def _add_many(visitor: Visitor, principal: Principal, context: dict[str, Any], tags: list[str]) -> Response:
    dataset, spans = context["dataset"], context["spans"]
    context["previews"] = _previews(dataset, context["proposals"])
    context["tags"] = ", ".join(tags)
    if context["mapping_errors"]:
        return page(visitor, "add_to_dataset.html", 422, error="Fix the field mapping first.", **context)
    refs = [traces.SpanRef(trace_id=s.trace_id, span_id=s.span_id, overrides={"tags": tags}) for s in spans]
    try:
        created = traces.create_cases_from_spans(
            visitor.db, principal, dataset["id"], refs, mapping=_service_mapping(context["mapping"])
        )
    except (InvalidInput, Conflict) as exc:
        return page(visitor, "add_to_dataset.html", exc.status_code, error=exc.detail, **context)
    count = len(created)
    return redirect(
        visitor, f"/datasets/{dataset['name']}", notice=f"Added {count} case{'s' if count != 1 else ''} from spans."
    )


@router.post(ADD + "/new-dataset")
def create_dataset(visitor: VisitorDep, trace_id: str, form: PostedForm) -> Response:
    """A dataset with just a name (schemas can be added on its Edit page), then back to the form."""
    principal = visitor.require(WRITE_DATASETS)
    params = multi(form)
    spans = _spans(visitor, principal, trace_id, params.get("span", []))
    name = str(form.get("new_dataset") or "").strip()
    try:
        problem = check_name(name) or name_problem(name)  # the New dataset page's words; UUIDs refused too
        if problem:
            raise InvalidInput(problem[0].upper() + problem[1:])
        created = datasets.create_dataset(visitor.db, principal, {"name": name})
    except (InvalidInput, Conflict) as exc:
        context = _context(visitor, principal, trace_id, spans, {k: v for k, v in params.items() if k != "dataset"})
        context.update(new_dataset_name=name, new_dataset_error=exc.detail)
        return page(visitor, "add_to_dataset.html", exc.status_code, **context)
    query = [("span", s.span_id) for s in spans] + list(mapping_params(read_mapping(params)).items())
    target = f"/live/traces/{trace_id}/add?{urlencode([*query, ('dataset', created['name'])])}"
    return redirect(visitor, target, notice=f"Dataset {created['name']} created.")


def _query(visitor: Visitor) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in visitor.request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    return found
