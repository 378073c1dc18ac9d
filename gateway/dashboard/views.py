"""Dashboard routes: village and township staff sign in, then see their region's statistics as charts.

A staff account (gateway/auth/staff.py) signs in with password and TOTP through the consoles' shared
machinery (gateway/web): the session lives in an HttpOnly, SameSite=Strict cookie scoped to
/dashboard (no script ever sees it), ends after 15 idle minutes, and every page view is audited and
counts against the account's rate limit. `/dashboard/print` is the same report for a village meeting:
A4, black and white, no forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from gateway.auth.scopes import Scope
from gateway.context import record_of_scope
from gateway.dashboard import worklists
from gateway.dashboard.svg import bar_chart
from gateway.deps import EngineDep, ReadDep, SettingsDep
from gateway.errors import GatewayError
from gateway.stats import repository
from gateway.stats.models import GroupLevel, StatsReport
from gateway.stats.report import build_report
from gateway.web.pages import Pages, add_stylesheet
from gateway.web.signin import Site, add_sign_in_routes, current
from schemas.models import RegionCode
from schemas.regions import in_subtree

HERE = Path(__file__).parent
PAGES = Pages(
    HERE / "templates",
    bar_chart=bar_chart,
    count_rows=lambda table, labels: [(labels.get(r.code, r.name or r.code), r.count) for r in table.rows],
    share_rows=lambda table, field, labels: [
        (labels.get(r.code, r.name or r.code), getattr(r, field)) for r in table.rows
    ],
    pairs=lambda labels, values: list(zip(labels, values, strict=True)),
)
SITE = Site(
    name="dashboard",
    prefix="/dashboard",
    cookie="xz_dashboard",
    scope=Scope.STATISTICS_READ,
    pages=PAGES,
    template="signin.html",
    refused="账号、密码或动态验证码不正确,或该账号没有统计数据权限。",
)
RegionQuery = Annotated[RegionCode | None, Query()]
LevelQuery = Annotated[GroupLevel, Query()]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_stylesheet(router, path="/static/dashboard.css", file=HERE / "static" / "dashboard.css")
add_sign_in_routes(router, SITE, sign_in_path="/signin", sign_out_path="/signout")


@router.get("/")
async def dashboard(
    request: Request,
    db: ReadDep,
    engine: EngineDep,
    settings: SettingsDep,
    region: RegionQuery = None,
    level: LevelQuery = GroupLevel.VILLAGE,
) -> Response:
    """Show the statistics of the person's region (or a region inside it) as tables and charts."""
    return await _report_page(request, db, engine, settings.stats_min_cell, region=region, level=level)


@router.get("/print")
async def print_view(
    request: Request,
    db: ReadDep,
    engine: EngineDep,
    settings: SettingsDep,
    region: RegionQuery = None,
    level: LevelQuery = GroupLevel.VILLAGE,
) -> Response:
    """Show the same report laid out for printing on A4 in black and white (a village meeting)."""
    return await _report_page(
        request, db, engine, settings.stats_min_cell, region=region, level=level, template="print.html"
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
    root = principal.region_code
    chosen = region or root
    # Names, not codes: the person's region in the header, and villages that share a name with their
    # township (two 水林村 in one county are told apart).
    labels = await repository.village_labels(db, root)
    options = [(c, labels.get(c, n), lv) for c, n, lv in await repository.regions_within(db, root)]
    page: dict[str, Any] = {"principal": principal, "options": options, "level": level, "labels": labels,
            "root_name": await repository.region_name(db, root) if root else None}  # fmt: skip
    if chosen is None:
        return PAGES.render(template, report=None, **page)
    if root is not None and not in_subtree(chosen, root):
        return PAGES.render(template, status=403, report=None, error="所选区域不在您的管辖范围内。", **page)
    try:
        report = await build_report(db, region=chosen, level=level, min_cell=min_cell)
    except GatewayError as exc:
        return PAGES.render(template, status=exc.status, report=None, error=exc.detail, **page)
    record_of_scope(request.scope).disclose("statistics", [])
    lists = await _worklists(request, engine, report, level=level, labels=labels, k=min_cell)
    return PAGES.render(template, report=report, worklists=lists, **page)


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
