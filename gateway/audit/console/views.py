"""Console routes: an auditor signs in (staff account, password, TOTP), filters events, a resident's history.

Sign-in, sessions and page rendering are the consoles' shared machinery (gateway/web): the session
lives in an HttpOnly, SameSite=Strict cookie scoped to /audit (no script sees it), ends after 15
idle minutes, and every page view is audited as the auditor's and counts against their rate limit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from starlette.responses import Response

from gateway.audit import export, proofs
from gateway.audit import repository as repo
from gateway.audit.console import labels
from gateway.audit.console.chart import accesses_chart
from gateway.audit.endpoints import disclosure_item
from gateway.auth.scopes import Scope
from gateway.context import record_of_scope
from gateway.dashboard.svg import bar_chart
from gateway.deps import ReadDep
from gateway.pagination import decode_cursor, encode_cursor
from gateway.web.pages import Pages, add_stylesheet
from gateway.web.signin import Site, add_sign_in_routes, current
from schemas.time import in_china

HERE = Path(__file__).parent
PAGE = 50
PAGES = Pages(
    HERE / "templates",
    decisions=labels.DECISIONS,
    kinds=labels.KINDS,
    is_resident=labels.is_resident,
    reason_label=labels.reason_label,
    bar_chart=bar_chart,
)
SITE = Site(
    name="console",
    prefix="/audit",
    cookie="xz_audit",
    scopes=(Scope.AUDIT_READ,),
    pages=PAGES,
    template="login.html",
    refused="账号、密码或动态验证码不正确,或该账号没有审计权限。",
)
FILTERS = ("since", "until", "client", "department", "resident", "purpose", "decision", "status", "console")
CONSOLE_ROUTES = "/audit/"  # the console's own page views: hidden unless asked for

router = APIRouter(prefix="/audit", include_in_schema=False)


def _filter(params: dict[str, str]) -> repo.EventFilter:
    def when(name: str) -> dt.datetime | None:
        raw = params.get(name)
        if not raw:
            return None
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        # A bare date in the form means that day in China Standard Time.
        return in_china(value)

    status = params.get("status", "")
    return repo.EventFilter(
        since=when("since"),
        until=when("until"),
        client=params.get("client") or None,
        department=params.get("department") or None,
        resident=params.get("resident") or None,
        purpose=params.get("purpose") or None,
        decision=params.get("decision")
        if params.get("decision") in ("allow", "deny", "not-found", "error")
        else None,
        status=int(status) if status.isdigit() and len(status) == 3 else None,
        hide_routes=None if params.get("console") == "1" else CONSOLE_ROUTES,
    )


def _params(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "")[:128] for k in FILTERS}


add_stylesheet(router, path="/static/console.css", file=HERE / "static" / "console.css")
add_sign_in_routes(router, SITE, sign_in_path="/login", sign_out_path="/logout")


@router.get("/")
async def events_page(
    request: Request, db: ReadDep, cursor: Annotated[str | None, Query()] = None
) -> Response:
    """Show filtered events, the daily chart and the latest checkpoint with its verification."""
    auditor = await current(request, SITE)
    if isinstance(auditor, Response):
        return auditor
    params = _params(request)
    flt = _filter(params)
    record = record_of_scope(request.scope)
    record.resource = "audit_event"
    if flt.resident:
        record.disclose("audit_event", [flt.resident])
    key = decode_cursor(cursor, arity=1)
    rows = await repo.list_bodies(db, flt, after=int(key[0]) if key else None, limit=PAGE)
    events = [orjson.loads(b) for _, b in rows]
    query = {k: v for k, v in params.items() if v}
    nxt = urlencode({**query, "cursor": encode_cursor([rows[-1][0]])}) if len(rows) == PAGE else None
    names = await _labels(request, db)
    chart = accesses_chart(await repo.accesses_per_day(db, flt), label=names.department)
    check = await proofs.check_latest(db)
    return PAGES.render(
        "events.html",
        auditor=auditor,
        events=events,
        params=params,
        next_query=nxt,
        export_csv=urlencode({**query, "format": "csv"}),
        export_jsonl=urlencode({**query, "format": "jsonl"}),
        chart=chart,
        check=check,
        denials=labels.denial_rows(await repo.denials_by_reason(db, flt)),
        names=names,
    )


@router.get("/export")
async def export_events(request: Request, db: ReadDep, format: str = "csv") -> Response:
    """Stream the filtered events as CSV or JSON Lines."""
    auditor = await current(request, SITE)
    if isinstance(auditor, Response):
        return auditor
    flt = _filter(_params(request))
    record_of_scope(request.scope).resource = "audit_event"
    return export.streaming(db, flt, fmt="jsonl" if format == "jsonl" else "csv")


@router.get("/residents/{resident_id}")
async def resident_page(request: Request, db: ReadDep, resident_id: str) -> Response:
    """Show who saw this resident's data, when, why and which fields (PIPL Art. 45)."""
    auditor = await current(request, SITE)
    if isinstance(auditor, Response):
        return auditor
    rid = resident_id[:64]
    record_of_scope(request.scope).disclose("disclosure_report", [rid])
    items = [disclosure_item(b) for b in await repo.disclosures(db, rid, after=None, limit=500)]
    names = await _labels(request, db)
    return PAGES.render("resident.html", auditor=auditor, resident_id=rid, items=items, names=names)


async def _labels(request: Request, db: ReadDep) -> labels.Labels:
    """Return the label tables of the running policy and the client registry."""
    return labels.build(request.app.state.policy.engine, clients=await repo.client_names(db))


def install(app: FastAPI) -> None:
    """Add the console's routes."""
    app.include_router(router)
