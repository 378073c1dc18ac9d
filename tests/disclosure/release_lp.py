"""What a reader of every statistics view learns: feasible ranges of hidden cells by linear programming.

The reader knows every published cell of every view it may request, the hierarchy of the gazetteer
(a parent's count is the sum of its children's), each table's own equations (a row's provinces sum
to its total; adults = covered + uncovered), that counts are non-negative, and the markers ("<k" in
[1, k-1], "*" at least k). For each hidden cell `scipy.optimize.linprog` minimises and maximises it
subject to all of that; the range must leave the cell undetermined.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

from schemas.regions import in_subtree

COUNT_TABLES = ("elderly_living_alone", "low_income_households", "left_behind_children")
COVERAGE = ("adults", "pension", "pension_uncovered", "medical", "medical_uncovered")
Key = tuple[str, str, str]  # (table, region code, column)
LEVELS = {"county": 0, "township": 1, "village": 2}


def requestable(
    gazetteer: Iterable[tuple[str, str, str | None]], mine: str | None
) -> Iterator[tuple[str, str]]:
    """Yield each (region, group level) view a reader bound to region `mine` (None: all) may request."""
    for code, level, _ in gazetteer:
        if mine is not None and not in_subtree(code, mine):
            continue
        for group in ("township", "village"):
            if LEVELS[group] >= LEVELS[level]:
                yield code, group


@dataclass
class Release:
    """Every cell observed across views, with the equations a reader knows."""

    k: int
    seen: dict[Key, set[Any]] = field(default_factory=lambda: defaultdict(set))
    zeros: set[Key] = field(default_factory=set)
    provinces: set[str] = field(default_factory=set)

    def add_view(self, report: dict[str, Any]) -> None:
        """Record the published cells of one /v1/stats answer."""
        root = report["region"]
        for t in COUNT_TABLES:
            table = report[t]
            for row in table["rows"]:
                self.seen[(t, row["code"], "n")].add(_hashable(row["count"]))
            self.seen[(t, root, "n")].add(_hashable(table["total"]))
        m = report["migrant_workers"]
        self.provinces |= set(m["provinces"])
        codes = [row["code"] for row in m["rows"]]
        for row in m["rows"]:
            for p, v in zip(m["provinces"], row["counts"], strict=True):
                self.seen[("migrant", row["code"], p)].add(_hashable(v))
            self.seen[("migrant", row["code"], "total")].add(_hashable(row["total"]))
        for p, v in zip(m["provinces"], m["province_totals"], strict=True):
            self.seen[("migrant", root, p)].add(_hashable(v))
        self.seen[("migrant", root, "total")].add(_hashable(m["total"]))
        # A province not listed in a view has no migrant worker anywhere in it.
        self._unlisted = getattr(self, "_unlisted", [])
        self._unlisted.append(([root, *codes], set(m["provinces"])))
        cov = report["insurance_coverage"]
        for row in [*cov["rows"], cov["total"]]:
            for c in COVERAGE:
                self.seen[("coverage", row["code"], c)].add(_hashable(row[c]))

    def inconsistent(self) -> list[Key]:
        """Return cells published differently in two views (hidden in one, shown in another)."""
        return [key for key, values in self.seen.items() if len(values) > 1]

    def ranges(self, children: dict[str, list[str]]) -> dict[Key, tuple[float, float, Any]]:
        """Return (min, max, marker) of every hidden cell over all views, by linear programming."""
        variables, rows, bounds = self.system(children)
        index = {v: i for i, v in enumerate(variables)}
        hidden = {key: next(iter(v)) for key, v in self.hidden().items()}
        found = solve_ranges(len(variables), rows, bounds, {key: index[key] for key in hidden})
        return {key: (lo, hi, hidden[key]) for key, (lo, hi) in found.items()}

    def hidden(self) -> dict[Key, set[Any]]:
        """Return the cells published nowhere, with their markers."""
        # A cell published in some view is reported by inconsistent().
        return {k: v for k, v in self.seen.items() if not any(isinstance(x, int) for x in v)}

    def system(
        self, children: dict[str, list[str]]
    ) -> tuple[list[Key], list[list[tuple[int, int]]], list[tuple[float, float | None]]]:
        """Return the variables, the equations (index, coefficient) = 0 and the bounds a reader knows."""
        for regions, listed in getattr(self, "_unlisted", []):
            for r in regions:
                for p in self.provinces - listed:
                    self.zeros.add(("migrant", r, p))
        variables = sorted(set(self.seen) | self.zeros | set(self._tree_keys(children)))
        index = {v: i for i, v in enumerate(variables)}
        rows = list(self._equations(children, index))
        return variables, rows, [self._bounds(v) for v in variables]

    def _bounds(self, key: Key) -> tuple[float, float | None]:
        if key in self.zeros:
            return 0.0, 0.0
        values = self.seen.get(key)
        if not values:
            return 0.0, None
        known = [v for v in values if isinstance(v, int)]
        if known:  # published in some view: the reader knows it
            return float(known[0]), float(known[0])
        shown = next(iter(values))
        if shown == f"<{self.k}":
            return 1.0, float(self.k - 1)
        if shown == "*":
            return float(self.k), None
        return 0.0, None  # withheld

    def _tree_keys(self, children: dict[str, list[str]]) -> Iterable[Key]:
        regions = set(children) | {c for cs in children.values() for c in cs}
        for r in regions:
            for t in COUNT_TABLES:
                yield (t, r, "n")
            for p in [*self.provinces, "total"]:
                yield ("migrant", r, p)
            for c in COVERAGE:
                yield ("coverage", r, c)

    def _equations(
        self, children: dict[str, list[str]], index: dict[Key, int]
    ) -> Iterable[list[tuple[int, int]]]:
        columns = [(t, "n") for t in COUNT_TABLES]
        columns += [("migrant", p) for p in [*self.provinces, "total"]]
        columns += [("coverage", c) for c in COVERAGE]
        for parent, kids in children.items():
            for t, col in columns:
                yield [(index[(t, parent, col)], 1)] + [(index[(t, kid, col)], -1) for kid in kids]
        regions = set(children) | {c for cs in children.values() for c in cs}
        for r in regions:
            yield [(index[("migrant", r, "total")], 1)] + [
                (index[("migrant", r, p)], -1) for p in self.provinces
            ]
            adults = index[("coverage", r, "adults")]
            yield [
                (adults, 1),
                (index[("coverage", r, "pension")], -1),
                (index[("coverage", r, "pension_uncovered")], -1),
            ]
            yield [
                (adults, 1),
                (index[("coverage", r, "medical")], -1),
                (index[("coverage", r, "medical_uncovered")], -1),
            ]


def _hashable(v: Any) -> Any:
    return v if v is None or isinstance(v, int | str) else str(v)


def solve_ranges(
    size: int,
    rows: list[list[tuple[int, int]]],
    bounds: list[tuple[float, float | None]],
    targets: dict[Any, int],
) -> dict[Any, tuple[float, float]]:
    """Return (min, max) of each target variable subject to the equations (each = 0) and bounds."""
    a_eq = np.zeros((max(len(rows), 1), size))
    for r, eq in enumerate(rows):
        for i, c in eq:
            a_eq[r, i] += c
    b_eq = np.zeros(a_eq.shape[0])
    out: dict[Any, tuple[float, float]] = {}
    for key, i in targets.items():
        c = np.zeros(size)
        c[i] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert lo.status == 0, (key, lo.message)
        out[key] = (lo.fun, float("inf") if hi.status == 3 else -hi.fun)
    return out


def joint_ranges(
    months: dict[str, Release],
    children: dict[str, list[str]],
    unchanged: Callable[[str, str, Key], bool],
) -> dict[tuple[str, Key], tuple[float, float, Any]]:
    """Return (min, max, marker) of every hidden cell of every month, all months solved together.

    The reader equates a cell of consecutive months when it knows the count did not change
    (`unchanged(earlier, later, key)`): the strongest differencing over time.
    """
    offset = 0
    index: dict[tuple[str, Key], int] = {}
    rows: list[list[tuple[int, int]]] = []
    bounds: list[tuple[float, float | None]] = []
    targets: dict[tuple[str, Key], int] = {}
    markers: dict[tuple[str, Key], Any] = {}
    for month, rel in months.items():
        variables, eqs, bnds = rel.system(children)
        for i, v in enumerate(variables):
            index[(month, v)] = offset + i
        rows += [[(offset + i, c) for i, c in eq] for eq in eqs]
        bounds += bnds
        for key, shown in rel.hidden().items():
            targets[(month, key)] = index[(month, key)]
            markers[(month, key)] = next(iter(shown))
        offset += len(variables)
    order = list(months)
    for earlier, later in itertools.pairwise(order):
        for month, key in list(index):
            if month == earlier and (later, key) in index and unchanged(earlier, later, key):
                rows.append([(index[(earlier, key)], 1), (index[(later, key)], -1)])
    found = solve_ranges(offset, rows, bounds, targets)
    return {key: (lo, hi, markers[key]) for key, (lo, hi) in found.items()}
