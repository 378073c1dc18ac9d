"""Suppression over time: a reader who knows which counts did not change must still pin no cell."""

from __future__ import annotations

from gateway.stats.release import Cell, Released, Tree, aggregate, build_tree, release
from gateway.stats.suppression import Mark
from tests.disclosure.release_lp import solve_ranges

K = 5
COUNTY, TOWN = "511599000000", "511599100000"
A, B, C = "511599100201", "511599100202", "511599100203"


def _tree() -> Tree:
    return build_tree(COUNTY, [A, B, C], [TOWN])


def _values(tree: Tree, a: int, b: int, c: int) -> dict[Cell, int]:
    return aggregate(tree, {("village", A): (a,), ("village", B): (b,), ("village", C): (c,)}, 1)


def _bounds(rel: Released, cell: Cell) -> tuple[float, float | None]:
    mark = rel.marks[cell]
    if mark is Mark.PRIMARY:
        return 1.0, K - 1.0
    if mark is Mark.COMPLEMENT:
        return float(K), None
    return float(rel.values[cell]), float(rel.values[cell])


def _ranges(tree: Tree, months: list[Released]) -> dict[tuple[int, Cell], tuple[float, float]]:
    """Return each hidden cell's range when the months are solved together, unchanged cells equated."""
    cells = sorted(months[0].values)
    index = {(m, c): m * len(cells) + i for m in range(len(months)) for i, c in enumerate(cells)}
    rows = []
    for m in range(len(months)):
        for parent, kids in tree.children.items():
            rows.append([(index[(m, (parent, 0))], 1)] + [(index[(m, (kid, 0))], -1) for kid in kids])
    for m in range(1, len(months)):
        for c in cells:
            if months[m].values[c] == months[m - 1].values[c]:
                rows.append([(index[(m - 1, c)], 1), (index[(m, c)], -1)])
    bounds = [_bounds(months[m], c) for m in range(len(months)) for c in cells]
    hidden = {(m, c): index[(m, c)] for (m, c) in index if months[m].marks[c] is not Mark.PUBLISHED}
    return solve_ranges(len(index), rows, bounds, hidden)


def _pinned(ranges: dict[tuple[int, Cell], tuple[float, float]]) -> list[tuple[int, Cell]]:
    return [key for key, (lo, hi) in ranges.items() if hi - lo < 1 - 1e-6]


def test_a_complement_published_the_next_month_pins_last_months_cell_unless_it_stays_hidden() -> None:
    tree = _tree()
    first = release(tree, _values(tree, 3, 8, 9), None, columns=1, k=K)
    assert first.marks[(("village", B), 0)] is Mark.COMPLEMENT  # 3 is protected by 8
    # Next month 竹林村 (B) is unchanged, 石桥村 (C) shrinks to 6: on its own, C is the cheaper complement.
    second = _values(tree, 3, 8, 6)
    alone = release(tree, second, None, columns=1, k=K)
    assert alone.marks[(("village", B), 0)] is Mark.PUBLISHED
    assert (0, (("village", A), 0)) in _pinned(_ranges(tree, [first, alone]))  # 20 - 8 - 9 = 3
    before = {c: (v, first.marks[c]) for c, v in first.values.items()}
    carried = release(tree, second, None, columns=1, k=K, before=before)
    assert carried.marks[(("village", B), 0)] is Mark.COMPLEMENT
    assert _pinned(_ranges(tree, [first, carried])) == []


def test_the_change_of_a_published_total_does_not_reveal_the_one_village_that_changed() -> None:
    tree = _tree()
    first = release(tree, _values(tree, 3, 8, 9), None, columns=1, k=K)
    # Only 石桥村 (C) changes, and it is hidden next month: the totals' change would be its change.
    second = _values(tree, 3, 8, 2)
    alone = release(tree, second, None, columns=1, k=K)
    assert _pinned(_ranges(tree, [first, alone]))
    before = {c: (v, first.marks[c]) for c, v in first.values.items()}
    carried = release(tree, second, None, columns=1, k=K, before=before)
    assert not carried.withheld
    assert _pinned(_ranges(tree, [first, carried])) == []
