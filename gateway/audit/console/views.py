"""Console routes: sign in with an auditor client's credentials, filter events, a resident's history.

Sign-in exchanges a client id and secret for an `audit:read` token at the gateway's own token
server; the token lives in an HttpOnly, SameSite=Strict cookie scoped to /audit (no script sees
it). Every page verifies it like a bearer token, so console queries are audited as the auditor's.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.audit import export, proofs
from gateway.audit import repository as repo
from gateway.audit.console import labels
from gateway.audit.console.chart import accesses_chart
from gateway.audit.endpoints import disclosure_item
from gateway.auth.actors import note_sign_in
from gateway.auth.scopes import Scope
from gateway.auth.server import StarletteOAuth2Request, form_of
from gateway.auth.tokens import Principal, TokenRejected
from gateway.context import record_of_scope
from gateway.dashboard.svg import bar_chart
from gateway.deps import ReadDep, SettingsDep
from gateway.errors import RateLimited
from gateway.pagination import decode_cursor, encode_cursor
from gateway.policy.throttle import guarded_sign_in
from schemas.time import in_china

HERE = Path(__file__).parent
COOKIE = "xz_audit"
PAGE = 50
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
_env.filters["beijing"] = labels.beijing
_env.globals.update(
    decisions=labels.DECISIONS,
    kinds=labels.KINDS,
    is_resident=labels.is_resident,
    reason_label=labels.reason_label,
    bar_chart=bar_chart,
)
_CSS = (HERE / "static" / "console.css").read_bytes()
_HEADERS = {
    # Only this origin's stylesheet; the chart is inline SVG markup; no script at all.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FILTERS = ("since", "until", "client", "department", "resident", "purpose", "decision", "status", "console")
CONSOLE_ROUTES = "/audit/"  # the console's own page views: hidden unless asked for

router = APIRouter(prefix="/audit", include_in_schema=False)


def _page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status, headers=_HEADERS)


async def _auditor(request: Request) -> Principal | None:
    """Return the auditor of the console cookie, or None when absent, expired, revoked or not an auditor."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal: Principal = await request.app.state.auth.guard.authenticate(token)
    except TokenRejected:
        return None
    record = record_of_scope(request.scope)
    record.client_id, record.department = principal.client_id, principal.department
    record.token_id = principal.token_id
    return principal if Scope.AUDIT_READ.value in principal.scopes else None


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


@router.get("/static/console.css")
async def stylesheet() -> Response:
    """Serve the console's stylesheet."""
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
async def events_page(
    request: Request, db: ReadDep, cursor: Annotated[str | None, Query()] = None
) -> Response:
    """Show filtered events, the daily chart and the latest checkpoint with its verification."""
    auditor = await _auditor(request)
    if auditor is None:
        return _page("login.html", expired=COOKIE in request.cookies)
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
    return _page(
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
    if await _auditor(request) is None:
        return RedirectResponse("/audit/", status_code=303)
    flt = _filter(_params(request))
    record_of_scope(request.scope).resource = "audit_event"
    return export.streaming(db, flt, fmt="jsonl" if format == "jsonl" else "csv")


@router.get("/residents/{resident_id}")
async def resident_page(request: Request, db: ReadDep, resident_id: str) -> Response:
    """Show who saw this resident's data, when, why and which fields (PIPL Art. 45)."""
    auditor = await _auditor(request)
    if auditor is None:
        return RedirectResponse("/audit/", status_code=303)
    rid = resident_id[:64]
    record_of_scope(request.scope).disclose("disclosure_report", [rid])
    items = [disclosure_item(b) for b in await repo.disclosures(db, rid, after=None, limit=500)]
    names = await _labels(request, db)
    return _page("resident.html", auditor=auditor, resident_id=rid, items=items, names=names)


async def _labels(request: Request, db: ReadDep) -> labels.Labels:
    """Return the label tables of the running policy and the client registry."""
    return labels.build(request.app.state.policy.engine, clients=await repo.client_names(db))


@router.post("/login")
async def login(request: Request, settings: SettingsDep) -> Response:
    """Exchange an auditor client's id and secret for an audit:read token kept in an HttpOnly cookie."""
    form = form_of(request.headers.get("content-type"), await request.body())
    client_id, secret = form.get("client_id", "").strip()[:128], form.get("client_secret", "")
    record = record_of_scope(request.scope)
    record.client_id = client_id or None
    if not client_id or not secret:
        return _page("login.html", status=400, error="请输入客户端标识和密钥。")
    try:
        token, expires_in = await guarded_sign_in(
            request,
            form="console",
            client_id=client_id,
            attempt=lambda: _token(request, client_id=client_id, secret=secret),
            ok=lambda result: result[0] is not None,
        )
    except RateLimited as exc:
        record.decision, record.reason = "deny", "console-login-throttled"
        page = _page("login.html", status=429, error="登录尝试过多,请稍后再试。")
        page.headers.update(exc.headers)
        return page
    note_sign_in(record, claimed=client_id, access_token=token)
    if token is None:
        record.decision, record.reason = "deny", "console-login-refused"
        return _page("login.html", status=401, error="客户端标识或密钥不正确,或该客户端没有审计权限。")
    response = RedirectResponse("/audit/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=expires_in,
        path="/audit",
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    """Forget the console cookie."""
    response = RedirectResponse("/audit/", status_code=303)
    response.delete_cookie(COOKIE, path="/audit", httponly=True, samesite="strict")
    return response


async def _token(request: Request, *, client_id: str, secret: str) -> tuple[str | None, int]:
    """Ask the gateway's own token server for an audit:read token (RFC 6749 §4.4)."""
    auth = request.app.state.auth
    basic = base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    oreq = StarletteOAuth2Request(
        method="POST",
        uri=auth.settings.public_url.rstrip("/") + "/oauth/token",
        headers=Headers(
            {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"}
        ),
        form={"grant_type": "client_credentials", "scope": Scope.AUDIT_READ.value},
    )
    # Authlib's server is synchronous (it reads the client registry): run it off the event loop.
    response: Response = await run_in_threadpool(auth.server.create_token_response, oreq)
    if response.status_code != 200:
        return None, 0
    body = orjson.loads(response.body)
    return str(body["access_token"]), int(body.get("expires_in", 600))


def install(app: FastAPI) -> None:
    """Add the console's routes."""
    app.include_router(router)
