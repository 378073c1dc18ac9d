"""Dashboard routes: sign in with client credentials, then see the region's statistics as charts.

The sign-in form posts a client id and secret; the gateway's own OAuth server issues a token
restricted to `statistics:read`, which is kept in an HttpOnly, SameSite=Strict cookie scoped to
/dashboard (no script ever sees it). Every page view verifies it like a bearer token.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.audit.console.labels import beijing
from gateway.auth.actors import note_sign_in
from gateway.auth.scopes import Scope
from gateway.auth.server import StarletteOAuth2Request, form_of
from gateway.auth.tokens import Principal, TokenRejected
from gateway.context import record_of_scope
from gateway.dashboard import quality, worklists
from gateway.dashboard.svg import bar_chart
from gateway.deps import EngineDep, ReadDep, SettingsDep
from gateway.errors import GatewayError, RateLimited
from gateway.policy.throttle import guarded_sign_in
from gateway.quality import service as quality_service
from gateway.stats import repository
from gateway.stats.models import GroupLevel, StatsReport
from gateway.stats.report import build_report
from schemas.models import RegionCode
from schemas.regions import in_subtree

HERE = Path(__file__).parent
COOKIE = "xz_dashboard"
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), enable_async=False
)
_env.globals.update(
    bar_chart=bar_chart,
    count_rows=lambda table, labels: [(labels.get(r.code, r.name or r.code), r.count) for r in table.rows],
    share_rows=lambda table, field, labels: [
        (labels.get(r.code, r.name or r.code), getattr(r, field)) for r in table.rows
    ],
    pairs=lambda labels, values: list(zip(labels, values, strict=True)),
    reason_label=quality.reason_label,
    beijing=beijing,
)
_CSS = (HERE / "static" / "dashboard.css").read_bytes()
_HEADERS = {
    # Nothing but this origin's stylesheet; the charts are inline SVG markup, not scripts.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


async def _principal(request: Request) -> Principal | None:
    """Return the principal of the dashboard cookie, or None when absent, expired or revoked."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal: Principal = await request.app.state.auth.guard.authenticate(token)
    except TokenRejected:
        return None
    record = record_of_scope(request.scope)
    record.client_id = principal.client_id
    record.department = principal.department
    record.token_id = principal.token_id
    return principal


@router.get("/static/dashboard.css")
async def stylesheet() -> Response:
    """Serve the dashboard's stylesheet."""
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
async def dashboard(
    request: Request,
    db: ReadDep,
    engine: EngineDep,
    settings: SettingsDep,
    region: Annotated[RegionCode | None, Query()] = None,
    level: Annotated[GroupLevel, Query()] = GroupLevel.VILLAGE,
) -> Response:
    """Show the statistics of the caller's region (or a region inside it) as tables and charts."""
    principal = await _principal(request)
    if principal is None:
        return _page("signin.html", expired=COOKIE in request.cookies)
    if Scope.STATISTICS_READ.value not in principal.scopes:
        if Scope.QUARANTINE_READ.value in principal.scopes:
            return RedirectResponse("/dashboard/quality", status_code=303)
        return _page("signin.html", status=403, error="该客户端没有统计数据权限(statistics:read)。")
    root = principal.region_code
    chosen = region or root
    # Names, not codes: the caller's region in the header, and villages that share a name with their
    # township (two 水林村 in one county are told apart).
    labels = await repository.village_labels(db, root)
    options = [(c, labels.get(c, n), lv) for c, n, lv in await repository.regions_within(db, root)]
    page: dict[str, Any] = {"principal": principal, "options": options, "level": level, "labels": labels,
            "root_name": await repository.region_name(db, root) if root else None,
            "quality": Scope.QUARANTINE_READ.value in principal.scopes}  # fmt: skip
    if chosen is None:
        return _page("dashboard.html", report=None, **page)
    if root is not None and not in_subtree(chosen, root):
        return _page("dashboard.html", status=403, report=None, error="所选区域不在您的管辖范围内。", **page)
    try:
        report = await build_report(db, region=chosen, level=level, min_cell=settings.stats_min_cell)
    except GatewayError as exc:
        return _page("dashboard.html", status=exc.status, report=None, error=exc.detail, **page)
    record_of_scope(request.scope).disclose("statistics", [])
    lists = await _worklists(request, engine, report, level=level, labels=labels, k=settings.stats_min_cell)
    return _page("dashboard.html", report=report, worklists=lists, **page)


async def _worklists(
    request: Request,
    engine: AsyncEngine,
    report: StatsReport,
    *,
    level: GroupLevel,
    labels: dict[str, str],
    k: int,
) -> Any:
    """Count the alerts and requests sections for the report's rows (same regions, names, protection)."""
    names = {r.code: labels.get(r.code, r.name or r.code) for r in report.elderly_living_alone.rows}
    rules = list(request.app.state.policy.engine.docs.alerts.rules)
    return await worklists.build(
        engine, region=report.region, level=level.value, names=names, rules=rules, k=k
    )


@router.get("/quality")
async def quality_page(request: Request, engine: EngineDep) -> Response:
    """Show the quality feedback of the caller's department's sources (quarantine:read)."""
    principal = await _principal(request)
    if principal is None:
        return _page("signin.html", expired=COOKIE in request.cookies)
    if Scope.QUARANTINE_READ.value not in principal.scopes:
        return _page("signin.html", status=403, error="该客户端没有数据质量反馈权限(quarantine:read)。")
    sections = await quality.build(engine, principal)
    record_of_scope(request.scope).disclose("quality", [q.source for q in sections])
    stats = Scope.STATISTICS_READ.value in principal.scopes
    return _page("quality.html", principal=principal, sections=sections, stats=stats)


@router.get("/quality/{source}.csv")
async def quality_csv(request: Request, engine: EngineDep, source: str) -> Response:
    """Download a source's records to correct as CSV (the department's own record keys)."""
    principal = await _principal(request)
    if principal is None or Scope.QUARANTINE_READ.value not in principal.scopes:
        return RedirectResponse("/dashboard/quality", status_code=303)
    try:
        report = await quality_service.feedback(engine, source, principal=principal)
    except GatewayError as exc:
        return _page("signin.html", status=exc.status, error=exc.detail)
    record_of_scope(request.scope).disclose("quality", [source])
    return Response(
        quality_service.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{source}-to-correct.csv"'},
    )


@router.post("/signin")
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    """Exchange a client id and secret for a statistics token kept in an HttpOnly cookie."""
    form = form_of(request.headers.get("content-type"), await request.body())
    client_id, secret = form.get("client_id", "").strip()[:128], form.get("client_secret", "")
    record = record_of_scope(request.scope)
    record.client_id = client_id or None
    if not client_id or not secret:
        return _page("signin.html", status=400, error="请输入客户端标识和密钥。")
    try:
        token, expires_in = await guarded_sign_in(
            request,
            form="dashboard",
            client_id=client_id,
            attempt=lambda: _token(request, client_id=client_id, secret=secret),
            ok=lambda result: result[0] is not None,
        )
    except RateLimited as exc:
        page = _page("signin.html", status=429, error="登录尝试过多,请稍后再试。")
        page.headers.update(exc.headers)
        return page
    note_sign_in(record, claimed=client_id, access_token=token)
    if token is None:
        record.decision, record.reason = "deny", "dashboard-sign-in-refused"
        return _page("signin.html", status=401, error="客户端标识或密钥不正确,或该客户端无统计权限。")
    response = RedirectResponse("/dashboard/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=expires_in,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )
    return response


@router.post("/signout")
async def sign_out() -> Response:
    """Forget the dashboard cookie."""
    response = RedirectResponse("/dashboard/", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return response


# Scopes a dashboard session may carry, most first: a client granted only some signs in with those.
SESSION_SCOPES = (
    (Scope.STATISTICS_READ.value, Scope.QUARANTINE_READ.value),
    (Scope.STATISTICS_READ.value,),
    (Scope.QUARANTINE_READ.value,),
)


async def _token(request: Request, *, client_id: str, secret: str) -> tuple[str | None, int]:
    """Ask the gateway's own token server for a dashboard token (RFC 6749 §4.4): statistics, quality."""
    for scopes in SESSION_SCOPES:
        status, body = await _ask_token(request, client_id=client_id, secret=secret, scope=" ".join(scopes))
        if status == 200:
            return str(body["access_token"]), int(body.get("expires_in", 600))
        if body.get("error") != "invalid_scope":
            break  # wrong credentials, or a disabled client: no other scope will help
    return None, 0


async def _ask_token(
    request: Request, *, client_id: str, secret: str, scope: str
) -> tuple[int, dict[str, Any]]:
    """Run one client-credentials token request through the gateway's token server."""
    auth = request.app.state.auth
    basic = base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    oreq = StarletteOAuth2Request(
        method="POST",
        uri=auth.settings.public_url.rstrip("/") + "/oauth/token",
        headers=Headers(
            {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"}
        ),
        form={"grant_type": "client_credentials", "scope": scope},
    )
    # Authlib's server is synchronous (it reads the client registry): run it off the event loop.
    response: Response = await run_in_threadpool(auth.server.create_token_response, oreq)
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}
