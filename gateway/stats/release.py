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
the reader already knows protects nothing). Primary cells keep theirs by value. The disclosure
suite (tests/disclosure/test_stats_release.py) checks the result as an attacker would: by linear
programming over every published cell of every view a client may request, and over the months of
the series with unchanged cells equated (tests/disclosure/test_series_release.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
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


def release(
    tree: Tree,
    values: dict[Cell, int],
    subtable: SubTable | None,
    *,
    columns: int,
    k: int,
    keep: Collection[Cell] = (),
    fixed: Collection[Cell] = (),
) -> Released:
    """Suppress one statistic over the whole hierarchy (see the module notes).

    `keep`: cells to hide from the start, `fixed`: cells never to hide (see `carry_over`).
    """
    components = [tree_component(tree, values, j) for j in range(columns)]
    if subtable is not None:
        components += [subtable(tree.children[p], p) for p in tree.parents() if tree.children[p]]
    hidden: set[Cell] = {c for c in keep if c in values and values[c] >= k}
    known = set(fixed)
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
                return Released(values, withheld=True)
            for cell, mark in zip(cells, found, strict=True):
                if mark is Mark.COMPLEMENT and cell not in hidden:
                    hidden.add(cell)
                    grew = True
    marks = {
        c: Mark.PRIMARY if 0 < v < k else Mark.COMPLEMENT if c in hidden else Mark.PUBLISHED
        for c, v in values.items()
    }
    return Released(values, marks)


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
