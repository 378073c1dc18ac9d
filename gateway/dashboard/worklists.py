"""The dashboard's worklist sections: open early-warning items by rule and residents' requests by category
and state, per region, counted in SQL and protected like every other table (small cells suppressed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import repository as alerts
from gateway.appeals import repository as appeals
from gateway.appeals.models import AppealCategory, AppealState
from gateway.stats.repository import Scope
from gateway.stats.suppression import Shown, protect_cross, protect_list
from policies.alerts import AlertRule
from schemas.regions import pad_region_code


@dataclass(frozen=True, slots=True)
class CrossView:
    """A protected regions x columns table with its margins, ready for the template."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[Shown | None], Shown | None]]  # (region name, cells, row total)
    column_totals: list[Shown | None]
    total: Shown | None
    withheld: bool


@dataclass(frozen=True, slots=True)
class ListView:
    """A protected list of labelled counts with its total."""

    title: str
    rows: list[tuple[str, Shown | None]]
    total: Shown | None
    withheld: bool


@dataclass(frozen=True, slots=True)
class Worklists:
    """The alerts and requests sections of one region."""

    alerts: CrossView
    appeals: CrossView
    appeal_states: ListView


def _cross(
    title: str, codes: list[str], names: dict[str, str], columns: list[tuple[str, str]],
    counts: dict[tuple[str, str], int], *, k: int,
) -> CrossView:  # fmt: skip
    matrix = [[counts.get((c, key), 0) for key, _ in columns] for c in codes]
    res = protect_cross(matrix, k=k) if codes and columns else None
    if res is None:
        return CrossView(title, [label for _, label in columns], [], [], 0, False)
    rows = [(names.get(c, c), res.cells[i], res.row_totals[i]) for i, c in enumerate(codes)]
    return CrossView(title, [label for _, label in columns], rows, res.column_totals, res.total, res.withheld)


async def build(
    engine: AsyncEngine, *, region: str, level: str, names: dict[str, str], rules: list[AlertRule], k: int
) -> Worklists:
    """Count and protect the worklist tables of a region, a row per region of `level` inside it."""
    scope = Scope(region, level)
    raised: dict[tuple[str, str], int] = {}
    for code, rule, n in await alerts.open_counts(engine, scope=scope):
        raised[(pad_region_code(code or ""), rule)] = n
    by_category: dict[tuple[str, str], int] = {}
    by_state: dict[str, int] = {}
    for code, category, state, n in await appeals.counts(engine, scope=scope):
        key = (pad_region_code(code or ""), category)
        by_category[key] = by_category.get(key, 0) + n
        by_state[state] = by_state.get(state, 0) + n
    codes = sorted(set(names) | {c for c, _ in raised} | {c for c, _ in by_category})
    rule_columns = [(r.id, r.name) for r in rules]
    categories = [(c.value, c.label.split("(")[0]) for c in AppealCategory]
    states = protect_list([by_state.get(s.value, 0) for s in AppealState], k=k)
    return Worklists(
        alerts=_cross("预警事项(未办结)", codes, names, rule_columns, raised, k=k),
        appeals=_cross("群众诉求(按类别)", codes, names, categories, by_category, k=k),
        appeal_states=ListView(
            "群众诉求(按办理状态)",
            [(s.label, v) for s, v in zip(AppealState, states.cells, strict=True)],
            states.total,
            states.withheld,
        ),
    )
