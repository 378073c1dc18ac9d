"""Dashboard routes: village and township staff sign in, then see their region's statistics as charts.

A staff account (gateway/auth/staff.py) signs in with password and TOTP through the consoles' shared
machinery (gateway/web): the session lives in an HttpOnly, SameSite=Strict cookie scoped to
/dashboard (no script ever sees it), ends after 15 idle minutes, and every page view is audited and
counts against the account's rate limit. `/dashboard/print` is the same report for a village meeting:
A4, black and white, no forms. A department's data stewards (quarantine:read) see their sources'
quality feedback at `/dashboard/quality`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import RedirectResponse, Response

from gateway.auth.scopes import Scope
from gateway.context import record_of_scope
from gateway.dashboard import quality, worklists
from gateway.dashboard.svg import bar_chart
from gateway.dashboard.trends import build as trend_charts
from gateway.deps import EngineDep, ReadDep, SettingsDep
from gateway.errors import GatewayError
from gateway.quality import service as quality_service
from gateway.runtime import runtime_of
from gateway.stats import repository
from gateway.stats.models import GroupLevel, StatsReport
from gateway.stats.report import build_report, county_release, root_of
from gateway.web.pages import HEADERS, Pages, add_stylesheet
from gateway.web.signin import Site, add_sign_in_routes, current
from schemas.models import RegionCode
from schemas.regions import in_subtree
from store.read import ReadStore

HERE = Path(__file__).parent
PAGES = Pages(
    HERE / "templates",
    bar_chart=bar_chart,
    count_rows=lambda table, labels: [(labels.get(r.code, r.name or r.code), r.count) for r in table.rows],
    share_rows=lambda table, field, labels: [
        (labels.get(r.code, r.name or r.code), getattr(r, field)) for r in table.rows
    ],
    pairs=lambda labels, values: list(zip(labels, values, strict=True)),
    reason_label=quality.reason_label,
)
SITE = Site(
    name="dashboard",
    prefix="/dashboard",
    cookie="xz_dashboard",
    scopes=(Scope.STATISTICS_READ, Scope.QUARANTINE_READ),
    pages=PAGES,
    template="signin.html",
    refused="账号、密码或动态验证码不正确,或该账号没有看板权限。",
)
RegionQuery = Annotated[RegionCode | None, Query()]
LevelQuery = Annotated[GroupLevel, Query()]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_stylesheet(router, path="/static/dashboard.css", file=HERE / "static" / "dashboard.css")
add_sign_in_routes(router, SITE, sign_in_path="/signin", sign_out_path="/signout")


def _report_route(path: str, *, name: str, template: str, doc: str) -> None:
    """Declare a page of the report: the same view of the person's region, in its own layout."""

    async def report_page(
        request: Request,
        db: ReadDep,
        engine: EngineDep,
        settings: SettingsDep,
        region: RegionQuery = None,
        level: LevelQuery = GroupLevel.VILLAGE,
    ) -> Response:
        min_cell = settings.stats_min_cell
        return await _report_page(
            request, db, engine, min_cell, region=region, level=level, template=template
        )

    report_page.__doc__ = doc
    router.get(path, name=name)(report_page)


_report_route(
    "/",
    name="dashboard",
    template="dashboard.html",
    doc="Show the statistics of the person's region (or a region inside it) as tables and charts.",
)
_report_route(
    "/print",
    name="print_view",
    template="print.html",
    doc="Show the same report laid out for printing on A4 in black and white (a village meeting).",
)


async def _report_page(
    request: Request,
    db: ReadDep,
    engine: AsyncEngine,
    min_cell: int,
    *,
    region: str | None,
    level: GroupLevel,
    template: str = "dashboard.html",
) -> Response:
    """Render a report page of the signed-in person's region, or the page to show instead."""
    principal = await current(request, SITE)
    if isinstance(principal, Response):
        return principal
    if Scope.STATISTICS_READ.value not in principal.scopes:  # a data steward: their quality page
        return RedirectResponse("/dashboard/quality", status_code=303)
    root = principal.region_code
    chosen = region or root
    # Names, not codes: the person's region in the header, and villages that share a name with their
    # township (two 水林村 in one county are told apart).
    labels = await repository.village_labels(db, root)
    options = [(c, labels.get(c, n), lv) for c, n, lv in await repository.regions_within(db, root)]
    page: dict[str, Any] = {"principal": principal, "options": options, "level": level, "labels": labels,
            "root_name": await repository.region_name(db, root) if root else None,
            "quality": Scope.QUARANTINE_READ.value in principal.scopes}  # fmt: skip
    if chosen is None:
        return PAGES.render(template, report=None, **page)
    if root is not None and not in_subtree(chosen, root):
        return PAGES.render(template, status=403, report=None, error="所选区域不在您的管辖范围内。", **page)
    try:
        report = await build_report(db, engine=engine, region=chosen, level=level, min_cell=min_cell)
    except GatewayError as exc:
        return PAGES.render(template, status=exc.status, report=None, error=exc.detail, **page)
    record_of_scope(request.scope).disclose("statistics", [])
    lists = await _worklists(request, db, engine, report, level=level, labels=labels, k=min_cell)
    trends = await trend_charts(engine, region=chosen, level=level, labels=labels)
    return PAGES.render(template, report=report, worklists=lists, trends=trends, **page)


async def _worklists(
    request: Request,
    db: ReadStore,
    engine: AsyncEngine,
    report: StatsReport,
    *,
    level: GroupLevel,
    labels: dict[str, str],
    k: int,
) -> Any:
    """Cut the alerts and requests sections for the report's rows from the same release of the day."""
    names = {r.code: labels.get(r.code, r.name or r.code) for r in report.elderly_living_alone.rows}
    rules = list(runtime_of(request).policy.engine.docs.alerts.rules)
    rel = await county_release(db, engine, root_of(report.region), today=report.as_of, k=k)
    return worklists.build(rel, region=report.region, level=level, names=names, rules=rules)


@router.get("/quality")
async def quality_page(request: Request, engine: EngineDep) -> Response:
    """Show the quality feedback of the person's department's sources (quarantine:read)."""
    principal = await current(request, SITE)
    if isinstance(principal, Response):
        return principal
    if Scope.QUARANTINE_READ.value not in principal.scopes:
        return SITE.page(status=403, error="该账号没有数据质量反馈权限(quarantine:read)。")
    sections = await quality.build(engine, principal)
    record_of_scope(request.scope).disclose("quality", [q.source for q in sections])
    stats = Scope.STATISTICS_READ.value in principal.scopes
    return PAGES.render("quality.html", principal=principal, sections=sections, stats=stats)


@router.get("/quality/{source}.csv")
async def quality_csv(request: Request, engine: EngineDep, source: str) -> Response:
    """Download a source's records to correct as CSV (the department's own record keys)."""
    principal = await current(request, SITE)
    if isinstance(principal, Response):
        return principal
    if Scope.QUARANTINE_READ.value not in principal.scopes:
        return RedirectResponse("/dashboard/quality", status_code=303)
    try:
        report = await quality_service.feedback(engine, source, principal=principal)
    except GatewayError as exc:
        return SITE.page(status=exc.status, error=exc.detail)
    record_of_scope(request.scope).disclose("quality", [source])
    return Response(
        quality_service.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{source}-to-correct.csv"'},
    )
