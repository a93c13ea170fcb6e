"""Upload a CSV or JSONL file of cases: preview with a column mapping, every row checked, then import
all of them in one transaction (nothing is written if any row fails)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from evalset.server.domain.auth import WRITE_DATASETS
from evalset.server.errors import Conflict, InvalidInput, Violation
from evalset.server.routing import DeclaredRoute
from evalset.server.services import cases, datasets
from evalset.server.web import upload
from evalset.server.web.render import page, redirect
from evalset.server.web.session import PostedForm, Visitor, VisitorDep

router = APIRouter(route_class=DeclaredRoute)
PATH = "/datasets/{ds}/upload"
SHOWN_ERRORS = 100


@router.get(PATH)
def upload_form(visitor: VisitorDep, ds: str) -> Response:
    dataset = datasets.get_dataset(visitor.db, visitor.require(WRITE_DATASETS), ds)
    return page(visitor, "upload.html", dataset=dataset, section="datasets")


@router.post(PATH)
async def upload_step(visitor: VisitorDep, ds: str, form: PostedForm) -> Response:
    """A new file (preview), a changed mapping (preview again) or `go=import` (write, if every row passes)."""
    from anyio import to_thread

    file = form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        content, filename = (await file.read()).decode("utf-8", errors="replace"), file.filename
    else:
        content, filename = str(form.get("content") or ""), str(form.get("filename") or "")
    return await to_thread.run_sync(_step, visitor, ds, form, content, filename)


def _step(visitor: Visitor, ds: str, form: PostedForm, content: str, filename: str) -> Response:
    principal = visitor.require(WRITE_DATASETS)
    dataset = datasets.get_dataset(visitor.db, principal, ds)
    context: dict = {"dataset": dataset, "section": "datasets", "content": content, "filename": filename}
    try:
        rows, columns = upload.parse_rows(content, filename)
    except ValueError as exc:
        return page(visitor, "upload.html", 422, error=str(exc), **context)
    mapping = upload.default_mapping(dataset, columns)
    mapping.update({c: str(form.get(f"map:{c}")) for c in columns if form.get(f"map:{c}")})
    built = upload.build_cases(dataset, rows, mapping)
    problems = _check(dataset, built)
    if str(form.get("go")) == "import" and not problems:
        try:
            cases.import_cases(visitor.db, principal, dataset["id"], built, on_conflict="error")
            return redirect(visitor, f"/datasets/{dataset['name']}", notice=f"Imported {len(built):,} cases.")
        except (InvalidInput, Conflict) as exc:
            context["error"] = exc.detail
            problems = list(getattr(exc, "errors", []))
    context.update(
        columns=columns,
        mapping=mapping,
        targets=upload.targets(dataset, columns),
        samples={c: next((r[c] for r in rows if r.get(c) not in (None, "")), "") for c in columns},
        preview=built[:5],
        count=len(built),
        problems=problems[:SHOWN_ERRORS],
        problem_count=len(problems),
        bad_rows=len({p["case_index"] for p in problems}),
    )
    return page(visitor, "upload.html", 422 if problems else 200, **context)


def _check(dataset: dict, built: list[dict]) -> list[Violation]:
    """Everything wrong with the rows (row = case_index + 1): missing inputs, schema violations, names twice."""
    problems: list[Violation] = []
    seen: dict[str, int] = {}
    for index, case in enumerate(built):
        if "inputs" not in case:
            problems.append(
                Violation(
                    case_index=index,
                    case_name=case.get("name"),
                    field="inputs",
                    pointer="",
                    message="no column is mapped to inputs (or the cell is empty)",
                )
            )
        problems.extend(Violation(**{**v, "case_index": index}) for v in cases.check_case(dataset, case))
        name = case.get("name")
        if name is not None and name in seen:
            problems.append(
                Violation(
                    case_index=index,
                    case_name=name,
                    field="name",
                    pointer="",
                    message=f"the same case name as row {seen[name] + 1}",
                )
            )
        elif name is not None:
            seen[name] = index
    return problems
