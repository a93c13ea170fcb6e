"""Cases and their tags: bulk writes, optimistic updates, filtered and streamed reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Select, bindparam, delete, distinct, func, literal, select, update
from typing_extensions import Unpack

from evalset.server.domain.cases import PUBLIC_FIELDS, search_text
from evalset.server.domain.names import canonical_uuid, looks_like_uuid
from evalset.server.storage._util import chunks, first_record, records
from evalset.server.storage.engine import (
    BULK_BATCH,
    STREAM_BATCH,
    Contention,
    bulk_insert,
    json_row,
    json_rows,
    json_text,
    rows_by_keys,
)
from evalset.server.storage.tables import case_tags, cases

__all__ = [
    "CASE_FIELDS",
    "get_case",
    "find_by_names",
    "name_exists",
    "insert_cases",
    "update_cases",
    "delete_case",
    "iter_cases",
    "iter_case_data",
    "filter_cases",
    "case_columns",
    "iter_export_json",
    "page_cases",
    "get_cases",
    "PREVIEW_CHARS",
]

CASE_FIELDS = PUBLIC_FIELDS
_WRITE_FIELDS = [
    *(f for f in CASE_FIELDS if f not in ("id", "dataset_id", "created_at", "created_by", "created_by_name")),
    "last_op",
]
_columns = [cases.c[f] for f in CASE_FIELDS]
_record_columns = [*_columns, cases.c.last_op, cases.c.seq]
"""A stored case with what history needs: the op behind its version and its position."""
_IN_DATASET = [cases.c.dataset_id == bindparam("_ds")]
AnySelect = Select[Unpack[tuple[Any, ...]]]


def get_case(conn: Connection, *, dataset_id: str, case_id: str) -> dict[str, Any] | None:
    if not looks_like_uuid(case_id):
        return None
    query = select(*_record_columns).where(cases.c.dataset_id == dataset_id, cases.c.id == canonical_uuid(case_id))
    return first_record(conn.execute(query))


def find_by_names(conn: Connection, *, dataset_id: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The existing cases of a dataset with these names, by name."""
    rows = rows_by_keys(
        conn, _record_columns, cases.c.name, names, where=_IN_DATASET, params={"_ds": dataset_id}, name="cases by name"
    )
    return {row["name"]: row for row in _as_records(rows)}


def name_exists(conn: Connection, *, dataset_id: str, name: str, other_than: str | None = None) -> bool:
    query = select(cases.c.id).where(cases.c.dataset_id == dataset_id, cases.c.name == name)
    if other_than is not None:
        query = query.where(cases.c.id != other_than)
    return conn.execute(query).first() is not None


def insert_cases(conn: Connection, *, rows: Sequence[dict[str, Any]], op: str = "create") -> None:
    """Insert complete case records and their tag index rows, `op` being what made them (create, restore);
    with `seq` in the records, they take back those places in the dataset (restores)."""
    if not rows:
        return
    fields = [*CASE_FIELDS, *(("seq",) if "seq" in rows[0] else ()), "search_text"]
    for part in chunks(rows, BULK_BATCH):  # copies with the search text, a batch at a time: bounded memory
        stored = [{**row, "search_text": search_text(row)} for row in part]  # the callers' records stay public
        bulk_insert(conn, cases, stored, columns=fields, constants={"last_op": op})
    _insert_tags(conn, rows)


def _insert_tags(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    tag_rows = [
        {"dataset_id": row["dataset_id"], "tag": tag, "case_id": row["id"]}
        for row in rows
        for tag in dict.fromkeys(row["tags"])
    ]
    bulk_insert(conn, case_tags, tag_rows)


def update_cases(conn: Connection, *, rows: Sequence[dict[str, Any]], expected_versions: Sequence[int]) -> None:
    """Write new states of existing cases, each only over the stored version it was made from.

    A case that moved on meanwhile raises Contention (the transaction is rolled back and the service
    runs again from what is stored now). Writers hold the dataset's row lock, so this is a safety net.
    """
    statement = (
        update(cases)
        .where(cases.c.id == bindparam("_id"), cases.c.version == bindparam("_expected"))
        .values({f: bindparam(f) for f in (*_WRITE_FIELDS, "search_text")})
    )
    written = 0
    for start in range(0, len(rows), BULK_BATCH):  # parameters a batch at a time: bounded memory
        params = [
            {**{f: row[f] for f in _WRITE_FIELDS}, "search_text": search_text(row), "_id": row["id"], "_expected": v}
            for row, v in zip(
                rows[start : start + BULK_BATCH], expected_versions[start : start + BULK_BATCH], strict=True
            )
        ]
        written += conn.execute(statement, params).rowcount
    if written != len(rows):
        raise Contention("a case was changed by another writer meanwhile")
    _replace_tags(conn, rows)


def _replace_tags(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    # One DELETE per case, by equality on the case_id index (an IN list can plan as a table scan on
    # PostgreSQL without statistics, see storage.engine.rows_by_keys); executemany pipelines them.
    statement = delete(case_tags).where(case_tags.c.case_id == bindparam("_case_id"))
    conn.execute(statement, [{"_case_id": row["id"]} for row in rows])
    _insert_tags(conn, rows)


def delete_case(conn: Connection, *, dataset_id: str, case_id: str) -> bool:
    result = conn.execute(delete(cases).where(cases.c.dataset_id == dataset_id, cases.c.id == case_id))
    return result.rowcount == 1


def filter_cases(
    query: AnySelect, *, dataset_id: str, tags: Sequence[str] | None, tags_match: Literal["any", "all"] = "any"
) -> AnySelect:
    """Restrict a select over `cases` to one dataset and, optionally, to tags (via the case_tags index)."""
    query = query.where(cases.c.dataset_id == dataset_id)
    wanted = list(dict.fromkeys(tags or []))
    if not wanted:
        return query
    tagged = select(case_tags.c.case_id).where(case_tags.c.dataset_id == dataset_id, case_tags.c.tag.in_(wanted))
    if tags_match == "all" and len(wanted) > 1:
        tagged = tagged.group_by(case_tags.c.case_id).having(func.count(distinct(case_tags.c.tag)) == len(wanted))
    return query.where(cases.c.id.in_(tagged))


def iter_cases(
    conn: Connection,
    *,
    dataset_id: str,
    tags: Sequence[str] | None = None,
    tags_match: Literal["any", "all"] = "any",
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[Any]:
    """Cases in creation order as the JSON the API returns (orjson fragments, built by the database), streamed."""
    query = filter_cases(select(json_row(conn, _columns)), dataset_id=dataset_id, tags=tags, tags_match=tags_match)
    return json_rows(conn, query.order_by(cases.c.seq).offset(offset or None).limit(limit))


def iter_case_data(conn: Connection, *, dataset_id: str) -> Iterator[dict[str, Any]]:
    """Every case's name and data fields as Python values, in creation order, streamed (for re-validation)."""
    fields = ("name", "inputs", "expected_output", "metadata")
    query = select(*(cases.c[f] for f in fields)).where(cases.c.dataset_id == dataset_id).order_by(cases.c.seq)
    result = conn.execute(query.execution_options(stream_results=True, yield_per=STREAM_BATCH))
    for row in result:
        yield dict(zip(fields, row, strict=True))


_EXPORT_COLUMNS = [cases.c[f] for f in ("name", "inputs", "metadata", "expected_output", "evaluators")]
_EXPORT_TAGGED_COLUMNS = [*_EXPORT_COLUMNS, cases.c.tags]


def iter_export_json(conn: Connection, *, dataset_id: str, include_tags: bool = False) -> Iterator[Any]:
    """Each case in its pydantic-evals export shape (orjson fragments built by the database), streamed;
    with `include_tags`, its tags too."""
    columns = _EXPORT_TAGGED_COLUMNS if include_tags else _EXPORT_COLUMNS
    query = select(json_row(conn, columns)).where(cases.c.dataset_id == dataset_id).order_by(cases.c.seq)
    return json_rows(conn, query)


def case_columns() -> list[Any]:
    """The columns of a case as clients see it, in PUBLIC_FIELDS order (for json_row)."""
    return list(_columns)


PREVIEW_CHARS = 300
"""How much of a case's inputs and expected output a page of cases shows (the start of their JSON)."""


def _preview(conn: Connection, column: Any) -> Any:
    return func.substr(json_text(conn, column), 1, PREVIEW_CHARS)


RARE_TAG_ENTRIES = 20_000
"""A tag filter matching at most this many (tag, case) entries is read from the tag index first;
a commoner one is checked case by case while walking the dataset in order (see page_cases)."""


def page_cases(
    conn: Connection,
    *,
    dataset_id: str,
    tags: Sequence[str] | None = None,
    search: str | None = None,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of a dataset's cases for the web UI, in creation order, by keyset: the `limit` cases after
    position `after` (or, with `before`, the `limit` cases just before it). Each row has previews of
    inputs and expected output instead of the full values. Returns the rows and whether more lie
    beyond them in the direction read. `search` is matched against `search_text` (see the domain rule).

    Keyset paging reads one index range of (dataset_id, seq) per page, however deep the page. A tag
    filter (any of `tags`) takes the cheaper of two plans, decided from the tag index's count: a rare
    tag's few cases are listed from the index; a common tag is checked per case while walking in order
    (it soon fills a page). Databases' planners pick badly here without fresh statistics.
    """
    # Positions first, then the rows: the previews (JSON rendered as text) are built for one page of
    # rows only, whatever plan the database picks for the filter (a sort of every match, say).
    found = _positions(
        conn, dataset_id=dataset_id, tags=tags, search=search, after=after, before=before, want=limit + 1
    )
    more = len(found) > limit
    page = sorted(found[:limit])
    if not page:
        return [], more
    rows = select(
        cases.c.id,
        cases.c.seq,
        cases.c.name,
        _preview(conn, cases.c.inputs).label("inputs_preview"),
        _preview(conn, cases.c.expected_output).label("expected_output_preview"),
        cases.c.tags,
        cases.c.updated_at,
        cases.c.updated_by_name,
        cases.c.version,
    ).where(cases.c.dataset_id == dataset_id, cases.c.seq.in_(page))
    return list(records(conn.execute(rows.order_by(cases.c.seq)))), more


def _positions(
    conn: Connection,
    *,
    dataset_id: str,
    tags: Sequence[str] | None,
    search: str | None,
    after: int | None,
    before: int | None,
    want: int,
) -> list[int]:
    """The positions of up to `want` cases of a page (see page_cases), nearest to `after`/`before` first."""
    query = select(cases.c.seq).where(cases.c.dataset_id == dataset_id)
    walk = bool(search)
    if search:
        query = query.where(cases.c.search_text.contains(search, autoescape=True))
    wanted = list(dict.fromkeys(tags or []))
    if wanted:
        tagged = (case_tags.c.dataset_id == dataset_id, case_tags.c.tag.in_(wanted))
        entries = conn.execute(select(func.count()).where(*tagged)).scalar() or 0
        if entries <= RARE_TAG_ENTRIES:
            seqs = select(cases.c.seq).join(case_tags, case_tags.c.case_id == cases.c.id).where(*tagged)
            if search:
                seqs = seqs.where(cases.c.search_text.contains(search, autoescape=True))
            return _keyset(sorted(set(conn.scalars(seqs))), after, before, want)
        # A probe of the tag index per case (a scalar subquery with LIMIT is never turned into a join, so
        # no plan can loop over every tagged case for each case, as PostgreSQL's did without statistics).
        probe = select(literal(1)).where(*tagged, case_tags.c.case_id == cases.c.id).limit(1).scalar_subquery()
        query = query.where(probe.is_not(None))
        walk = True
    if walk:
        return _walk(conn, query, dataset_id=dataset_id, after=after, before=before, want=want)
    if before is not None:
        return list(conn.scalars(query.where(cases.c.seq < before).order_by(cases.c.seq.desc()).limit(want)))
    if after is not None:
        query = query.where(cases.c.seq > after)
    return list(conn.scalars(query.order_by(cases.c.seq).limit(want)))


FIRST_STRETCH = 4096
"""Positions a filtered page reads first; each further stretch is twice as long (see _walk)."""


def _walk(conn: Connection, query: Any, *, dataset_id: str, after: int | None, before: int | None, want: int):
    """The first `want` positions matching `query` (a filtered select of cases.seq) after `after`, or the
    last ones before `before`, read in stretches of positions that double in length.

    Each stretch is an index range of (dataset_id, seq), so the plan is the same with or without the
    database's statistics (PostgreSQL, with none yet after a big import, would otherwise sort every match
    of a common word); a common word fills a page in the first stretch, a rare one costs a few queries."""
    mine = cases.c.dataset_id == dataset_id  # min and max apart: SQLite answers each from one index probe
    low = conn.execute(select(func.min(cases.c.seq)).where(mine)).scalar()
    high = conn.execute(select(func.max(cases.c.seq)).where(mine)).scalar()
    found: list[int] = []
    if low is None or high is None:
        return found
    stretch = FIRST_STRETCH
    if before is None:
        start = low - 1 if after is None else max(after, low - 1)
        while len(found) < want and start < high:
            end = start + stretch
            chunk = query.where(cases.c.seq > start, cases.c.seq <= end).order_by(cases.c.seq)
            found.extend(conn.scalars(chunk.limit(want - len(found))))
            start, stretch = end, stretch * 2
    else:
        end = min(before, high + 1)
        while len(found) < want and end > low:
            start = end - stretch
            chunk = query.where(cases.c.seq >= start, cases.c.seq < end).order_by(cases.c.seq.desc())
            found.extend(conn.scalars(chunk.limit(want - len(found))))
            end, stretch = start, stretch * 2
    return found


def _keyset(seqs: list[int], after: int | None, before: int | None, want: int) -> list[int]:
    """The first `want` of sorted positions after `after`, or the last `want` before `before` (nearest first)."""
    if before is not None:
        return [s for s in seqs if s < before][-want:][::-1]
    return [s for s in seqs if after is None or s > after][:want]


def get_cases(conn: Connection, *, dataset_id: str, case_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The stored records (as get_case) of those of `case_ids` that exist in the dataset, in dataset order."""
    wanted = [c for c in dict.fromkeys(case_ids) if looks_like_uuid(c)]
    rows = rows_by_keys(
        conn, _record_columns, cases.c.id, wanted, where=_IN_DATASET, params={"_ds": dataset_id}, name="cases by id"
    )
    return sorted(_as_records(rows), key=lambda row: row["seq"])


_record_keys = [c.key for c in _record_columns]


def _as_records(rows: Iterator[Any]) -> Iterator[dict[str, Any]]:
    return (dict(zip(_record_keys, row, strict=True)) for row in rows)
