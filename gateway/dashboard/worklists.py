"""The dashboard's worklist sections: open early-warning items by rule and residents' requests by category
and state, per region, cut from the county's statistics release of the day (gateway/stats/county.py), so
they are suppressed over the whole hierarchy like every other table, not view by view."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.appeals.models import AppealCategory, AppealState
from gateway.stats.county import CountyRelease
from gateway.stats.models import GroupLevel
from gateway.stats.release import Node
from gateway.stats.report import view_nodes
from gateway.stats.suppression import Shown
from policies.alerts import AlertRule


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
    title: str, rel: CountyRelease, table: str, columns: list[tuple[str, str]], node: Node,
    rows: list[Node], names: dict[str, str],
) -> CrossView:  # fmt: skip
    """Cut a regions x columns view from the release: a column it does not hold is zero everywhere."""
    released, k = rel.tables[table], rel.min_cell
    index = {key: j for j, key in enumerate(rel.columns[table])}
    total = len(rel.columns[table])

    def cells(r: Node) -> list[Shown | None]:
        return [released.shown((r, index[key]), k=k) if key in index else 0 for key, _ in columns]

    return CrossView(
        title,
        [label for _, label in columns],
        [(names.get(r[1], r[1]), cells(r), released.shown((r, total), k=k)) for r in rows],
        cells(node),
        released.shown((node, total), k=k),
        released.withheld,
    )


def build(
    rel: CountyRelease, *, region: str, level: GroupLevel, names: dict[str, str], rules: list[AlertRule]
) -> Worklists:
    """Cut the worklist tables of a region from its county's release of the day (one row per region of
    `level` inside it), so they are protected with every other view of that release."""
    node, rows = view_nodes(rel.tree, region, level)
    named = {r.id: r.name for r in rules}
    rule_columns = [(r.id, r.name) for r in rules]
    rule_columns += [(rule, rule) for rule in rel.columns["alerts"] if rule not in named]
    categories = [(c.value, c.label.split("(")[0]) for c in AppealCategory]
    states = _cross("", rel, "appeal_states", [(s.value, s.label) for s in AppealState], node, [], names)
    return Worklists(
        alerts=_cross("预警事项(未办结)", rel, "alerts", rule_columns, node, rows, names),
        appeals=_cross("群众诉求(按类别)", rel, "appeals", categories, node, rows, names),
        appeal_states=ListView(
            "群众诉求(按办理状态)",
            [(s.label, v) for s, v in zip(AppealState, states.column_totals, strict=True)],
            states.total,
            states.withheld,
        ),
    )
