"""A county's release of one day: computed from the store, carried over from the previous release,
and stored as JSON (gateway/stats/snapshots.py keeps them; report.py cuts every view from one)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import repository as alerts
from gateway.appeals import repository as appeals
from gateway.appeals.models import AppealCategory, AppealState
from gateway.stats import repository
from gateway.stats.release import (
    Cell,
    Node,
    Released,
    Tree,
    aggregate,
    build_tree,
    coverage_subtable,
    cross_subtable,
    release,
)
from gateway.stats.repository import Scope
from gateway.stats.suppression import FIELDS, Mark
from schemas.regions import pad_region_code
from store.read import ReadStore

COUNT_TABLES = {
    "elderly_living_alone": "独居老人",
    "low_income_households": "低收入家庭(户)",
    "left_behind_children": "留守儿童",
}
WORKLIST_TABLES = ("alerts", "appeals", "appeal_states")  # open alerts by rule; requests by category, state
TOTAL_COLUMN = "#total"  # the row total of the migrant workers' table, after its provinces


@dataclass(slots=True)
class CountyRelease:
    """Every statistic of one county for one date, suppressed once (gateway/stats/release.py)."""

    tree: Tree
    names: dict[str, str]
    provinces: list[str]
    tables: dict[str, Released]
    min_cell: int = 5
    columns: dict[str, list[str]] = field(default_factory=dict)  # the worklist tables' column keys


def _column_keys(table: str, provinces: list[str], columns: dict[str, list[str]]) -> list[str]:
    """Return the names of a table's columns: provinces are named, so months with others still match."""
    if table in columns:  # a worklist table: its columns, then the row total
        return [*columns[table], TOTAL_COLUMN]
    if table == "migrant_workers":
        return [*provinces, TOTAL_COLUMN]
    if table == "insurance_coverage":
        return list(FIELDS)
    return ["n"]


def _by_name(rel: CountyRelease, table: str) -> dict[tuple[Node, str], tuple[int, Mark]]:
    """Return (node, column name) -> (count, mark) of one table; empty when it was withheld."""
    released = rel.tables[table]
    if released.withheld:
        return {}
    keys = _column_keys(table, rel.provinces, rel.columns)
    return {
        (node, keys[j]): (v, released.marks.get((node, j), Mark.PUBLISHED))
        for (node, j), v in released.values.items()
    }


def previous_cells(
    previous: CountyRelease | None, table: str, provinces: list[str], columns: dict[str, list[str]]
) -> dict[Cell, tuple[int, Mark]] | None:
    """Return the previous release's (count, mark) of a table's cells, keyed as this release's."""
    if previous is None or table not in previous.tables or previous.tables[table].withheld:
        return None
    index = {key: j for j, key in enumerate(_column_keys(table, provinces, columns))}
    return {(node, index[key]): old for (node, key), old in _by_name(previous, table).items() if key in index}


async def _worklist_counts(
    engine: AsyncEngine, scope: Scope
) -> tuple[dict[str, list[str]], dict[str, dict[tuple[str, str], int]]]:
    """Count open alerts by rule and requests by category and by state, per village."""
    by_table: dict[str, dict[tuple[str, str], int]] = {t: {} for t in WORKLIST_TABLES}
    for code, rule, n in await alerts.open_counts(engine, scope=scope):
        if code:
            by_table["alerts"][(pad_region_code(code), rule)] = n
    for code, category, state, n in await appeals.counts(engine, scope=scope):
        if code:
            for table, key in (("appeals", category), ("appeal_states", state)):
                cell = (pad_region_code(code), key)
                by_table[table][cell] = by_table[table].get(cell, 0) + n
    columns = {
        "alerts": sorted({rule for _, rule in by_table["alerts"]}),
        "appeals": [c.value for c in AppealCategory],
        "appeal_states": [s.value for s in AppealState],
    }
    return columns, by_table


def _cross_leaves(counts: dict[tuple[str, str], int], columns: list[str]) -> dict[Node, list[int]]:
    """Return each village's row of a regions x columns table, with its total last."""
    leaf: dict[Node, list[int]] = {}
    for (code, key), n in counts.items():
        if key in columns:
            row = leaf.setdefault(("village", code), [0] * (len(columns) + 1))
            row[columns.index(key)] += n
            row[-1] += n
    return leaf


async def compute(
    db: ReadStore,
    engine: AsyncEngine,
    root: str,
    *,
    today: dt.date,
    k: int,
    previous: CountyRelease | None,
) -> CountyRelease:
    """Count every statistic of a county in SQL and suppress each over the whole hierarchy."""
    villages = await repository.region_names(db, Scope(region=root, level="village"))
    townships = await repository.region_names(db, Scope(region=root, level="township"))
    scope = Scope(region=root, level="village")
    counts = {
        "elderly_living_alone": await repository.elderly_living_alone(db, scope),
        "low_income_households": await repository.low_income_households(db, scope),
        "left_behind_children": await repository.left_behind_children(db, scope),
    }
    migrants = await repository.migrant_workers(db, scope)
    coverage = await repository.insurance_coverage(db, scope, today=today)
    columns, worklists = await _worklist_counts(engine, scope)
    codes = set(villages).union(
        *counts.values(), {c for c, _ in migrants}, coverage, *({c for c, _ in w} for w in worklists.values())
    )
    tree = build_tree(root, codes, townships)
    # Known provinces by name; the unregistered column last.
    provinces = sorted({p for _, p in migrants}, key=lambda p: (p == repository.UNKNOWN_PROVINCE, p))

    def protected(name: str, values: dict[Cell, int], subtable: Any, width: int) -> Released:
        before = previous_cells(previous, name, provinces, columns)
        return release(tree, values, subtable, columns=width, k=k, before=before)

    tables: dict[str, Released] = {}
    for name, per_code in counts.items():
        values = aggregate(tree, {("village", c): (n,) for c, n in per_code.items()}, 1)
        tables[name] = protected(name, values, None, 1)
    leaf = _cross_leaves({(c, p): n for (c, p), n in migrants.items()}, provinces)
    values = aggregate(tree, leaf, len(provinces) + 1)
    sub = cross_subtable(values, len(provinces))
    tables["migrant_workers"] = protected("migrant_workers", values, sub, len(provinces) + 1)
    rows = {("village", c): (a, p, a - p, m, a - m) for c, (a, p, m) in coverage.items()}
    values = aggregate(tree, rows, len(FIELDS))
    tables["insurance_coverage"] = protected("insurance_coverage", values, coverage_subtable(values), 5)
    for name, per_cell in worklists.items():
        n = len(columns[name])
        values = aggregate(tree, _cross_leaves(per_cell, columns[name]), n + 1)
        tables[name] = protected(name, values, cross_subtable(values, n), n + 1)
    return CountyRelease(tree, {**villages, **townships}, provinces, tables, min_cell=k, columns=columns)


def to_body(rel: CountyRelease) -> str:
    """Return the release as JSON: the tree, names, provinces and every cell's count and mark."""
    tables = {}
    for name, released in rel.tables.items():
        keys = _column_keys(name, rel.provinces, rel.columns)
        cells = [
            [node[0], node[1], keys[j], v, released.marks.get((node, j), Mark.PUBLISHED).value]
            for (node, j), v in released.values.items()
        ]
        tables[name] = {"withheld": released.withheld, "cells": cells}
    tree = [[list(parent), [list(kid) for kid in kids]] for parent, kids in rel.tree.children.items()]
    body = {
        "min_cell": rel.min_cell,
        "tree": tree,
        "names": rel.names,
        "provinces": rel.provinces,
        "columns": rel.columns,
        "tables": tables,
    }
    return orjson.dumps(body).decode()


def from_body(text: str) -> CountyRelease:
    """Return the release stored by `to_body`."""
    body = orjson.loads(text)
    children: dict[Node, list[Node]] = {
        (p[0], p[1]): [(k[0], k[1]) for k in kids] for p, kids in body["tree"]
    }
    root = next(iter(children))
    provinces: list[str] = body["provinces"]
    columns: dict[str, list[str]] = body.get("columns", {})
    tables: dict[str, Released] = {}
    for name, stored in body["tables"].items():
        index = {key: j for j, key in enumerate(_column_keys(name, provinces, columns))}
        values: dict[Cell, int] = {}
        marks: dict[Cell, Mark] = {}
        for level, code, key, v, mark in stored["cells"]:
            cell: Cell = ((level, code), index[key])
            values[cell] = v
            if not stored["withheld"]:
                marks[cell] = Mark(mark)
        tables[name] = Released(values, marks, withheld=stored["withheld"])
    tree = Tree(root, children)
    return CountyRelease(tree, body["names"], provinces, tables, body["min_cell"], columns)
