"""The auditor API (scope audit:read) and a resident's disclosure report; thin routes over repository.py."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.audit import export, proofs
from gateway.audit import repository as repo
from gateway.audit.archives import archived_disclosures
from gateway.audit.events import DISCLOSURE_FIELDS, format_time
from gateway.audit.examples import ok_examples
from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.auth.tokens import Principal
from gateway.context import RecordDep
from gateway.deps import CursorQuery, LimitQuery, ReadDep, SettingsDep
from gateway.errors import Conflict, Forbidden, InsufficientScope, InvalidCursor, NotFound, ValidationFailed
from gateway.openapi import combine, link, links, problem_responses
from gateway.pagination import decode_cursor, encode_cursor, page_body
from gateway.policy.throttle import RecordQuota
from gateway.routing import ACTION_PROBLEMS, ITEM_PROBLEMS, api_router, operation
from schemas.time import as_utc

router = api_router(prefix="/v1/audit", tags=["audit"], dependencies=[require_scope(Scope.AUDIT_READ)])
disclosures_router = api_router(prefix="/v1/residents", tags=["residents"])

_AUTH = problem_responses(Forbidden, ValidationFailed)
_PAGE = problem_responses(InvalidCursor, Forbidden, ValidationFailed)  # lists: a foreign cursor is 400
Seq = Annotated[int, Path(ge=1, le=2**62, description="Sequence number of the event.")]


async def event_filter(
    since: Annotated[
        dt.datetime | None, Query(description="Events at or after this time (RFC 3339).")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="Events before this time (RFC 3339).")] = None,
    client: Annotated[str | None, Query(max_length=128, description="Client id.")] = None,
    department: Annotated[str | None, Query(max_length=128, description="Department.")] = None,
    resident: Annotated[
        str | None, Query(max_length=64, description="Only events that disclosed this record id.")
    ] = None,
    purpose: Annotated[str | None, Query(max_length=256, description="Declared purpose.")] = None,
    decision: Annotated[
        str | None, Query(pattern=r"^(allow|deny|not-found|error)$", description="Decision.")
    ] = None,
    status: Annotated[int | None, Query(ge=100, le=599, description="HTTP status.")] = None,
    kind: Annotated[
        str | None, Query(pattern=r"^(access|token|admin|audit)$", description="Event kind.")
    ] = None,
) -> repo.EventFilter:
    """Collect the auditor's filter from the query string."""
    return repo.EventFilter(
        since=since,
        until=until,
        client=client,
        department=department,
        resident=resident,
        purpose=purpose,
        decision=decision,
        status=status,
        kind=kind,
    )


FilterDep = Annotated[repo.EventFilter, Depends(event_filter)]


def _json(body: bytes | str) -> Response:
    return Response(body, media_type="application/json")


def _note_query(record: Any, flt: repo.EventFilter) -> None:
    # An auditor looking up a resident's events sees that person's data: it goes in their history too.
    record.resource = "audit_event"
    if flt.resident:
        record.disclose("audit_event", [flt.resident])


@router.get(
    "/events",
    **operation(
        "List audit events",
        responses=combine(
            {
                **_PAGE,
                **links(
                    200,
                    GetEvent=link(
                        "get",
                        "/v1/audit/events/{seq}",
                        {"seq": "$response.body#/items/0/seq"},
                        "The newest event of the page.",
                    ),
                    GetEventProof=link(
                        "get",
                        "/v1/audit/events/{seq}/proof",
                        {"seq": "$response.body#/items/0/seq"},
                        "Its inclusion proof.",
                    ),
                ),
            },
            ok_examples("get", "/v1/audit/events"),
        ),
    ),
)
async def list_events(
    db: ReadDep, record: RecordDep, flt: FilterDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Response:
    """List events newest first, each exactly as hashed (canonical JSON); follow `next`."""
    key = decode_cursor(cursor, arity=1)
    _note_query(record, flt)
    rows = await repo.list_bodies(db, flt, after=int(key[0]) if key else None, limit=limit)
    nxt = encode_cursor([rows[-1][0]]) if len(rows) == limit else None
    return _json(page_body([b.decode() for _, b in rows], next_cursor=nxt))


@router.get(
    "/events/export",
    **operation(
        "Export audit events (CSV or JSON Lines)",
        responses=combine(
            {200: {"content": {"text/csv": {}, "application/jsonl": {}}}, **_AUTH},
            ok_examples("get", "/v1/audit/events/export"),
        ),
    ),
)
async def export_events(
    request: Request,
    principal: PrincipalDep,
    db: ReadDep,
    record: RecordDep,
    flt: FilterDep,
    format: Annotated[str, Query(pattern=r"^(csv|jsonl)$", description="csv or jsonl.")] = "jsonl",
) -> Response:
    """Stream matching events in sequence order, up to the auditor's daily record quota (`X-Export-Limit`).

    JSON Lines keeps the hashed bytes verbatim. An export holding fewer events than X-Export-Limit is
    complete; one holding exactly that many may have been cut by the quota: continue with `since`.
    """
    _note_query(record, flt)
    quota = await RecordQuota.open(request, client_id=principal.client_id, department=principal.department)
    return export.streaming(db, flt, fmt=format, quota=quota)


@router.get(
    "/events/{seq}",
    **operation(
        "Get one audit event",
        responses=combine(
            {
                **problem_responses(Forbidden, NotFound, ValidationFailed),
                **links(
                    200,
                    GetEventProof=link(
                        "get",
                        "/v1/audit/events/{seq}/proof",
                        {"seq": "$response.body#/seq"},
                        "The event's inclusion proof.",
                    ),
                ),
            },
            ok_examples("get", "/v1/audit/events/{seq}"),
        ),
    ),
)
async def get_event(db: ReadDep, record: RecordDep, seq: Seq) -> Response:
    """Return one event as hashed (canonical JSON)."""
    record.resource = "audit_event"
    found = await repo.event_body(db, seq)
    if found is None:
        raise NotFound(f"no audit event {seq} in the store")
    return _json(found[0])


@router.get(
    "/events/{seq}/proof",
    **operation(
        "Inclusion proof of an event (RFC 9162)",
        Forbidden,
        *ACTION_PROBLEMS,
        responses=ok_examples("get", "/v1/audit/events/{seq}/proof"),
    ),
)
async def event_proof(
    db: ReadDep,
    record: RecordDep,
    seq: Seq,
    tree_size: Annotated[
        int | None, Query(ge=1, description="Prove against this checkpoint (default: the latest).")
    ] = None,
) -> Response:
    """Return the audit path of the event's leaf to a signed checkpoint's root."""
    record.resource = "audit_event"
    try:
        proof = await proofs.inclusion(db, seq, tree_size=tree_size)
    except proofs.ProofUnavailable as exc:
        raise Conflict(str(exc)) from exc
    return _json(orjson.dumps(proof))


@router.get(
    "/checkpoints",
    **operation(
        "List signed checkpoints", responses=combine(_PAGE, ok_examples("get", "/v1/audit/checkpoints"))
    ),
)
async def list_checkpoints(
    db: ReadDep, record: RecordDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Response:
    """List checkpoints newest first (tree size, root, chain hash, time, signed body, signature)."""
    record.resource = "audit_checkpoint"
    key = decode_cursor(cursor, arity=1)
    rows = await repo.checkpoints(db, before=int(key[0]) if key else None, limit=limit)
    items = [proofs.checkpoint_json(r) for r in rows]
    nxt = encode_cursor([items[-1]["tree_size"]]) if len(rows) == limit else None
    return _json(orjson.dumps({"items": items, "next": nxt}))


@router.get(
    "/checkpoints/consistency",
    **operation(
        "Consistency proof between two checkpoints (RFC 9162)",
        Forbidden,
        Conflict,
        ValidationFailed,
        responses=ok_examples("get", "/v1/audit/checkpoints/consistency"),
    ),
)
async def checkpoint_consistency(
    db: ReadDep,
    record: RecordDep,
    first: Annotated[int, Query(ge=1, le=2**62, description="Tree size of the older checkpoint.")],
    second: Annotated[int, Query(ge=1, le=2**62, description="Tree size of the newer checkpoint.")],
) -> Response:
    """Prove the log at checkpoint `second` extends the log at `first`: it only grew (RFC 9162 §2.1.4)."""
    record.resource = "audit_checkpoint"
    try:
        proof = await proofs.consistency(db, first=first, second=second)
    except proofs.ProofUnavailable as exc:
        raise Conflict(str(exc)) from exc
    return _json(orjson.dumps(proof))


@router.get(
    "/keys",
    **operation("Published audit keys", responses=combine(_AUTH, ok_examples("get", "/v1/audit/keys"))),
)
async def list_keys(db: ReadDep, record: RecordDep) -> Response:
    """List the Ed25519 public keys that sign checkpoints (raw 32 bytes, base64), by key id."""
    record.resource = "audit_key"
    items = [
        {"key_id": k, "alg": "Ed25519", "public_key": base64.b64encode(pub).decode(), "created_at": str(at)}
        for k, pub, at in await repo.keys(db)
    ]
    return _json(orjson.dumps({"items": items}))


class DaySummary(BaseModel):
    """Access events of one department on one day (China Standard Time)."""

    day: str
    department: str
    allowed: int
    denied: int


class ReasonCount(BaseModel):
    """Denials for one reason."""

    reason: str
    count: int = Field(ge=0)


@router.get("/summary/accesses", **operation("Accesses per department per day", responses=_AUTH))
async def summary_accesses(db: ReadDep, record: RecordDep, flt: FilterDep) -> list[DaySummary]:
    """Count access events per department per day, allowed and denied."""
    _note_query(record, flt)
    rows = await repo.accesses_per_day(db, flt)
    return [DaySummary(day=d, department=dep, allowed=a, denied=n) for d, dep, a, n in rows]


@router.get("/summary/denials", **operation("Denials by reason", responses=_AUTH))
async def summary_denials(db: ReadDep, record: RecordDep, flt: FilterDep) -> list[ReasonCount]:
    """Count denied decisions by reason."""
    _note_query(record, flt)
    return [ReasonCount(reason=r, count=c) for r, c in await repo.denials_by_reason(db, flt)]


def _may_read_disclosures(principal: Principal) -> None:
    if not (principal.has_scope(Scope.AUDIT_READ) or principal.has_scope(Scope.DISCLOSURES_READ)):
        raise InsufficientScope(
            "this operation needs scope audit:read or disclosures:read",
            headers={"WWW-Authenticate": 'Bearer realm="xiangzhi", error="insufficient_scope"'},
        )


def disclosure_item(body: bytes) -> dict[str, Any]:
    """Reduce an event to what a resident is told: who, when, why, which fields (PIPL Art. 45)."""
    doc = orjson.loads(body)
    return {k: doc.get(k) for k in DISCLOSURE_FIELDS}


@disclosures_router.get(
    "/{resident_id}/disclosures",
    **operation(
        "Who saw this resident's data, when and why",
        InvalidCursor,
        Forbidden,
        *ITEM_PROBLEMS,
        responses=ok_examples("get", "/v1/residents/{resident_id}/disclosures"),
    ),
)
async def resident_disclosures(
    db: ReadDep,
    settings: SettingsDep,
    record: RecordDep,
    principal: PrincipalDep,
    resident_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")],
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List every answered request that disclosed this resident, newest first (PIPL Art. 45 and 48).

    `period` says which time the report covers: the store's events, plus the archives mounted at
    GATEWAY_AUDIT_ARCHIVE_DIR (their events are listed after the store's, still newest first).
    """
    _may_read_disclosures(principal)
    key = decode_cursor(cursor, arity=1)
    after = int(key[0]) if key else None
    record.disclose("disclosure_report", [resident_id])
    bodies = await repo.disclosures(db, resident_id, after=after, limit=limit)
    oldest, base_seq = await repo.store_period(db)
    period: dict[str, Any] = {
        "from": format_time(as_utc(oldest)) if oldest is not None else None,
        "through": format_time(dt.datetime.now(dt.UTC)),
        "archives_included": 0,
        "archived_events_missing": base_seq > 0,
    }
    if base_seq:
        archived = await run_in_threadpool(
            archived_disclosures,
            settings.audit_archive_dir,
            resident_id,
            before_seq=min(after or base_seq + 1, base_seq + 1),
        )
        bodies += archived.bodies[: limit - len(bodies)]
        if archived.archives:
            period.update(archives_included=archived.archives, archived_events_missing=False)
            period["from"] = archived.first_time or period["from"]
    items = [disclosure_item(b) for b in bodies]
    nxt = encode_cursor([items[-1]["seq"]]) if len(items) == limit else None
    return _json(orjson.dumps({"items": items, "next": nxt, "period": period}))
