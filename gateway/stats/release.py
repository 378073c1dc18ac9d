"""One suppressed release per county and statistics date; every view a client may request is cut from it.

Why. Suppressing each requested view on its own lets a client subtract views: a township broken down
by village, minus one village asked alone, recovers a suppressed village. So the counts of every
region level (county, townships, villages) form one hierarchical table per statistic, suppressed
once, and each view (any region, grouped by township or village) publishes cells of that release:
a cell hidden in one view is hidden in all.

How (hierarchical secondary suppression, after HiTaS in τ-ARGUS). Primary suppression hides counts
1 to k-1 everywhere. The release is then protected component by component with the exact network
method of suppression.py, each time with the cells already hidden by another component hidden in it
too, repeated until no component hides another cell:
- each column over the whole hierarchy (a count per region, the migrant workers of one province,
  the adults covered by pensions, ...) is one network: a parent's count flows on to its children,
  so the county, township and village levels are protected together, not level by level (level by
  level, a township's hidden villages could be pinned through the county total);
- each parent with its children is a sub-table of the shapes in suppression.py (migrant workers by
  province: a two-way table with its margins; insurance coverage: the joint network), which adds
  the equations between columns.
If a component cannot be protected the whole statistic is withheld.

Over time (the series, gateway/stats/snapshots.py). A reader who knows that a count did not change
since the previous release (nobody moved in or out of a village) equates the two releases' cells.
So a cell unchanged since the previous release keeps its fate: hidden there (as a complement),
hidden here from the start; published there, never chosen as a complement here (hiding a value
the reader already knows protects nothing). Primary cells keep theirs by value. And the changes
themselves are protected: when only one village's count changed, the change of a published total
would reveal it, so a changed hidden cell must lie on a cycle of changes the reader cannot know
(`_changes_hidden`). The disclosure
suite (tests/disclosure/test_stats_release.py) checks the result as an attacker would: by linear
programming over every published cell of every view a client may request, and over the months of
the series with unchanged cells equated (tests/disclosure/test_series_release.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.stats.suppression import (
    FIELDS,
    Arc,
    Mark,
    Shown,
    coverage_arcs,
    cross_arcs,
    protect,
    show,
)
from schemas.regions import pad_region_code

Node = tuple[str, str]  # (level, code): ("county", c), ("township", c) or ("village", c)
Cell = tuple[Node, int]  # a node's column
SubTable = Callable[[list[Node], Node], tuple[list[Arc], list[Cell]]]


@dataclass(frozen=True, slots=True)
class Tree:
    """The regions of one county: the county, its townships, and the village-level codes below them."""

    root: Node
    children: dict[Node, list[Node]]

    def parents(self) -> list[Node]:
        """Return the nodes with children, top-down."""
        return [self.root, *(n for n in self.children if n != self.root)]

    def leaves(self) -> list[Node]:
        """Return the village-level nodes."""
        return [c for n in self.children.values() for c in n if c not in self.children]


def township_of(code: str) -> str:
    """Return the township code of a village-level code."""
    return pad_region_code(code[:9])


def build_tree(root: str, village_codes: Iterable[str], township_codes: Iterable[str]) -> Tree:
    """Return the county tree of `root` holding every village and township code given."""
    top: Node = ("county", root)
    children: dict[Node, list[Node]] = {top: []}
    for t in sorted(set(township_codes) | {township_of(v) for v in village_codes}):
        children[top].append(("township", t))
        children[("township", t)] = []
    for v in sorted(set(village_codes)):
        children[("township", township_of(v))].append(("village", v))
    return Tree(top, children)


@dataclass(slots=True)
class Released:
    """One statistic's release: each cell's true value and mark; withheld when no protection exists."""

    values: dict[Cell, int]
    marks: dict[Cell, Mark] = field(default_factory=dict)
    withheld: bool = False

    def shown(self, cell: Cell, *, k: int) -> Shown | None:
        """Return what every view publishes of one cell."""
        if self.withheld:
            return None
        return show(self.values.get(cell, 0), self.marks.get(cell, Mark.PUBLISHED), k=k)


def aggregate(tree: Tree, leaf_values: Mapping[Node, Sequence[int]], width: int) -> dict[Cell, int]:
    """Return every node's columns: leaves as counted, parents as the sums of their children."""
    values: dict[Cell, int] = {}

    def total(node: Node) -> list[int]:
        kids = tree.children.get(node)
        row = [0] * width
        if kids is None:
            row = list(leaf_values.get(node, row))
        else:
            for kid in kids:
                row = [a + b for a, b in zip(row, total(kid), strict=True)]
        for j, v in enumerate(row):
            values[(node, j)] = v
        return row

    total(tree.root)
    return values


def tree_component(tree: Tree, values: dict[Cell, int], column: int) -> tuple[list[Arc], list[Cell]]:
    """Return one column over the whole hierarchy as a network: each node's count flows from its parent.

    Nodes: 0 is the ground, parents are 1, 2, ...; a child's arc runs parent -> child (a leaf: -> ground)
    and the root's ground -> root, so at every parent its count equals its children's sum.
    """
    ids = {node: i + 1 for i, node in enumerate(tree.children)}
    arcs = [Arc(0, ids[tree.root], values[(tree.root, column)])]
    cells: list[Cell] = [(tree.root, column)]
    for parent, kids in tree.children.items():
        for kid in kids:
            arcs.append(Arc(ids[parent], ids.get(kid, 0), values[(kid, column)]))
            cells.append((kid, column))
    return arcs, cells


Before = Mapping[Cell, tuple[int, Mark]]  # each cell's count and mark in the previous release


def release(
    tree: Tree,
    values: dict[Cell, int],
    subtable: SubTable | None,
    *,
    columns: int,
    k: int,
    before: Before | None = None,
) -> Released:
    """Suppress one statistic over the whole hierarchy (see the module notes).

    `before`: the previous release's cells (a cell missing there was a published zero).
    """
    components = [tree_component(tree, values, j) for j in range(columns)]
    if subtable is not None:
        components += [subtable(tree.children[p], p) for p in tree.parents() if tree.children[p]]
    old = {c: (before or {}).get(c, (0, Mark.PUBLISHED)) for c in values} if before is not None else {}
    same = {c for c, (v, _) in old.items() if v == values[c]}
    hidden: set[Cell] = {c for c in same if old[c][1] is Mark.COMPLEMENT and values[c] >= k}
    known = {c for c in same if old[c][1] is Mark.PUBLISHED}
    while True:
        if not _grow(components, hidden, known, k=k):
            return Released(values, withheld=True)
        if not old:
            break
        changes = _changes_hidden(components, values, old, same, hidden, k=k)
        if changes is None:
            return Released(values, withheld=True)
        if not changes:
            break
        hidden |= changes
    marks = {
        c: Mark.PRIMARY if 0 < v < k else Mark.COMPLEMENT if c in hidden else Mark.PUBLISHED
        for c, v in values.items()
    }
    return Released(values, marks)


Component = tuple[list[Arc], list[Cell]]


def _grow(components: list[Component], hidden: set[Cell], known: set[Cell], *, k: int) -> bool:
    """Hide complements until no component hides another cell; False when one cannot be protected."""
    grew = True
    while grew:
        grew = False
        for arcs, cells in components:
            found = protect(
                arcs,
                k=k,
                hidden={i for i, c in enumerate(cells) if c in hidden},
                fixed={i for i, c in enumerate(cells) if c in known},
            )
            if found and found[0] is Mark.WITHHELD:
                return False
            for cell, mark in zip(cells, found, strict=True):
                if mark is Mark.COMPLEMENT and cell not in hidden:
                    hidden.add(cell)
                    grew = True
    return True


def _changes_hidden(
    components: list[Component],
    values: dict[Cell, int],
    old: dict[Cell, tuple[int, Mark]],
    same: set[Cell],
    hidden: set[Cell],
    *,
    k: int,
) -> set[Cell] | None:
    """Return the cells to hide so that no hidden cell's change since the previous release is known.

    The changes form a circulation too (the difference of two): a change is known for an unchanged
    cell (zero) and for a cell published in both releases; a changed cell hidden in either is
    unknown. A reader who knows which counts did not change solves an unknown change lying on no
    cycle of unknown changes (then the cell is the previous count plus it), so the same network method
    covers them, here with published changed cells as complements. None: no cover exists.
    """
    more: set[Cell] = set()
    for arcs, cells in components:
        unknown = {
            i
            for i, c in enumerate(cells)
            if c not in same and (c in hidden or 0 < values[c] < k or old[c][1] is not Mark.PUBLISHED)
        }
        if not unknown:
            continue
        # Changes may go either way: every arc is "large" so that a hidden change moves both ways.
        delta = [Arc(a.tail, a.head, max(a.value, 2 * k + 1)) for a in arcs]
        cannot = {i for i, c in enumerate(cells) if c in same or values[c] < k}
        found = protect(delta, k=k, hidden=unknown, fixed=cannot)
        if found and found[0] is Mark.WITHHELD:
            return None
        more |= {cells[i] for i, m in enumerate(found) if m is Mark.COMPLEMENT and i not in unknown}
    return more


def cross_subtable(values: dict[Cell, int], columns: int) -> SubTable:
    """Return the sub-table builder of counts by column (0..n-1) with row totals in column n."""

    def build(kids: list[Node], parent: Node) -> tuple[list[Arc], list[Cell]]:
        matrix = [[values[(kid, j)] for j in range(columns)] for kid in kids]
        cells = [(kid, j) for kid in kids for j in range(columns)]
        cells += [(kid, columns) for kid in kids]
        cells += [(parent, j) for j in range(columns)] + [(parent, columns)]
        return cross_arcs(matrix), cells

    return build


def coverage_subtable(values: dict[Cell, int]) -> SubTable:
    """Return the sub-table builder of (adults, pension, pension gap, medical, medical gap) per region."""

    def build(kids: list[Node], parent: Node) -> tuple[list[Arc], list[Cell]]:
        rows = [(values[(kid, 0)], values[(kid, 1)], values[(kid, 3)]) for kid in kids]
        cells = [(kid, c) for kid in kids for c in range(len(FIELDS))]
        cells += [(parent, c) for c in range(len(FIELDS))]
        return coverage_arcs(rows), cells

    return build
