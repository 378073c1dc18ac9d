"""Small-cell suppression of published count tables, with complementary suppression.

What is published. A count below `k` (GATEWAY_STATS_MIN_CELL, default 5) but above zero is shown as
"<k" (primary suppression); zero is published, since it describes nobody. A count hidden only to
protect another is shown as "*" (complementary suppression). Totals are cells like any other: a
total below k is primary, and a total may be hidden as a complement.

The attacker. Knows every published value, every table equation (a row's cells sum to its total,
a column's cells to theirs, the totals to the grand total), that counts are non-negative integers,
and what the markers mean: "<k" lies in [1, k-1] and "*" in [k, ∞) (a complement is never a zero
cell, so it is never below k). A hidden cell is *recovered* when these facts allow one value only.

Why the classic rule is not enough. "In every row and column with exactly one suppressed cell,
suppress the next smallest one; iterate to a fixed point" removes lone hidden cells, but (1) two
blocks of hidden cells joined by a single hidden cell (a bridge) satisfy it, yet subtracting the
column equations of one block from its row equations yields the bridge cell exactly; and (2) the
markers leak bounds: a row with hidden cells "<5" and "*" summing to 6 forces 1 and 5. So the
classic rule runs first (it makes good, cheap choices) and an exact check follows.

The exact check. Each table here is a *network*: every cell occurs in exactly two equations, once
added and once subtracted, so the cells are the arcs of a circulation (flow in = flow out at every
node). A two-way table with margins: C_j flows γ_out → column j, X_ij column j → row i, R_i row i →
γ_in, G γ_in → γ_out. A list with a total: each cell ground → L, the total L → ground. Pension and
medical coverage share one network through the adults per region (see `coverage_arcs`), so the
two tables are protected jointly, not as two tables that could be combined. Published cells are
constants; hidden cells are flows with the marker's bounds. Network constraint matrices are totally
unimodular, and any two feasible integer flows differ by a sum of cycles, each of which can be
applied alone by ±1 (conformal decomposition). Hence a hidden cell can take another value iff it
lies on a cycle of the *residual graph* of the other hidden cells: arc u→v where the cell may grow
by one, v→u where it may shrink by one. Cells on no residual cycle are recovered; for each such
cell the cheapest path of further cells (published, positive, cost = their counts) that closes a
cycle through it is hidden, and the check repeats. Hiding a cell only adds residual arcs, so a
protected cell never becomes recoverable again, and each round hides at least one more cell: the
loop ends. If no path exists the whole table is withheld. k must be at least 3: with k = 2 the
marker "<2" itself names the value.

The same counts published in other tables (another region or grouping level) form more equations:
gateway/stats/release.py protects the whole hierarchy with these tables as its building blocks.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

COMPLEMENT_LABEL = "*"
Shown = int | str


class Mark(StrEnum):
    """What happened to one cell."""

    PUBLISHED = "published"
    PRIMARY = "primary"
    COMPLEMENT = "complement"
    WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Arc:
    """One cell of a table as an arc of a circulation: its count flows from `tail` into `head`."""

    tail: int
    head: int
    value: int


def protect(
    arcs: Sequence[Arc], *, k: int, hidden: Collection[int] = (), fixed: Collection[int] = ()
) -> list[Mark]:
    """Return the mark of every cell so that no hidden cell can be recovered.

    `hidden`: cells already hidden as complements elsewhere (another table of a hierarchy sharing them,
    or the same cell, unchanged, in the previous release). `fixed`: published cells the reader knows
    anyway (unchanged since a release that published them): hiding them would protect nothing.
    """
    if k < 3:
        raise ValueError("the minimum cell size must be at least 3")
    if any(a.value < 0 for a in arcs):
        raise ValueError("counts are never negative")
    marks = [
        Mark.PRIMARY if 0 < a.value < k else Mark.COMPLEMENT if i in hidden else Mark.PUBLISHED
        for i, a in enumerate(arcs)
    ]
    _line_rule(arcs, marks, fixed=fixed)
    while True:
        stuck = _recoverable(arcs, marks, k=k)
        if not stuck:
            return marks
        path = _cheapest_cover(arcs, marks, stuck[0], k=k, fixed=fixed)
        if path is None:
            return [Mark.WITHHELD] * len(arcs)
        for i in path:
            marks[i] = Mark.COMPLEMENT


def show(value: int, mark: Mark, *, k: int) -> Shown | None:
    """Return what a reader sees of one cell (None when the whole table is withheld)."""
    if mark is Mark.PUBLISHED:
        return value
    if mark is Mark.PRIMARY:
        return f"<{k}"
    if mark is Mark.COMPLEMENT:
        return COMPLEMENT_LABEL
    return None


def _moves(value: int, mark: Mark, *, k: int) -> tuple[bool, bool]:
    """Return whether a hidden cell may grow and shrink by one within its marker's bounds."""
    if mark is Mark.PRIMARY:
        return value + 1 <= k - 1, value - 1 >= 1
    return True, value - 1 >= k


def _line_rule(arcs: Sequence[Arc], marks: list[Mark], *, fixed: Collection[int]) -> None:
    """Classic pass: no equation may hold exactly one hidden cell; hide its smallest positive peer."""
    by_node: dict[int, list[int]] = defaultdict(list)
    for i, a in enumerate(arcs):
        by_node[a.tail].append(i)
        by_node[a.head].append(i)
    changed = True
    while changed:
        changed = False
        for members in by_node.values():
            if sum(marks[i] is not Mark.PUBLISHED for i in members) != 1:
                continue
            peers = [
                i for i in members if marks[i] is Mark.PUBLISHED and arcs[i].value > 0 and i not in fixed
            ]
            if peers:
                marks[min(peers, key=lambda i: (arcs[i].value, i))] = Mark.COMPLEMENT
                changed = True


def _residual(arcs: Sequence[Arc], marks: Sequence[Mark], *, k: int) -> dict[int, list[tuple[int, int]]]:
    """Return the residual graph of the hidden cells: node -> [(next node, cell)]."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, a in enumerate(arcs):
        if marks[i] is Mark.PUBLISHED:
            continue
        up, down = _moves(a.value, marks[i], k=k)
        if up:
            out[a.tail].append((a.head, i))
        if down:
            out[a.head].append((a.tail, i))
    return out


def _reaches(graph: dict[int, list[tuple[int, int]]], start: int, goal: int, *, skip: int) -> bool:
    """Tell whether `goal` is reachable from `start` without the arcs of cell `skip`."""
    seen = {start}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            return True
        for nxt, cell in graph.get(node, ()):
            if cell != skip and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _recoverable(arcs: Sequence[Arc], marks: Sequence[Mark], *, k: int) -> list[int]:
    """Return the hidden cells that lie on no residual cycle (their value is determined)."""
    graph = _residual(arcs, marks, k=k)
    stuck = []
    for i, a in enumerate(arcs):
        if marks[i] is Mark.PUBLISHED:
            continue
        # Without the cell's own arcs: a cycle through both directions of one cell moves nothing.
        up, down = _moves(a.value, marks[i], k=k)
        if not (
            (up and _reaches(graph, a.head, a.tail, skip=i))
            or (down and _reaches(graph, a.tail, a.head, skip=i))
        ):
            stuck.append(i)
    return stuck


def _cheapest_cover(
    arcs: Sequence[Arc], marks: Sequence[Mark], target: int, *, k: int, fixed: Collection[int]
) -> list[int] | None:
    """Return the published cells to hide, cheapest first, that put `target` on a residual cycle."""
    # Edges: (to, cost, cell to hide or -1). Hidden cells cost nothing; published positive cells cost
    # their count (a complement is never a zero: its marker promises at least k).
    edges: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for i, a in enumerate(arcs):
        if i == target:
            continue
        if marks[i] is Mark.PUBLISHED:
            if a.value >= k and i not in fixed:
                edges[a.tail].append((a.head, a.value, i))
                if a.value >= k + 1:
                    edges[a.head].append((a.tail, a.value, i))
            continue
        up, down = _moves(a.value, marks[i], k=k)
        if up:
            edges[a.tail].append((a.head, 0, -1))
        if down:
            edges[a.head].append((a.tail, 0, -1))
    t = arcs[target]
    up, down = _moves(t.value, marks[target], k=k)
    options = []
    if up:
        options.append(_dijkstra(edges, t.head, t.tail))
    if down:
        options.append(_dijkstra(edges, t.tail, t.head))
    found = [o for o in options if o is not None]
    return min(found, key=lambda o: o[0])[1] if found else None


def _dijkstra(
    edges: dict[int, list[tuple[int, int, int]]], start: int, goal: int
) -> tuple[int, list[int]] | None:
    """Return (cost, cells to hide) of the cheapest path from start to goal, or None."""
    best = {start: 0}
    back: dict[int, tuple[int, int]] = {}
    heap = [(0, start)]
    while heap:
        cost, node = heapq.heappop(heap)
        if node == goal:
            cells = []
            while node != start:
                node, cell = back[node]
                if cell >= 0:
                    cells.append(cell)
            return cost, cells
        if cost > best.get(node, cost):
            continue
        for nxt, step, cell in edges.get(node, ()):
            new = cost + step
            if new < best.get(nxt, new + 1):
                best[nxt] = new
                back[nxt] = (node, cell)
                heapq.heappush(heap, (new, nxt))
    return None


# -- table shapes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListResult:
    """A protected list of counts with its total."""

    cells: list[Shown | None]
    total: Shown | None
    withheld: bool


def protect_list(values: Sequence[int], *, k: int) -> ListResult:
    """Protect a list of counts published with their total."""
    arcs = [Arc(0, 1, v) for v in values] + [Arc(1, 0, sum(values))]
    marks = protect(arcs, k=k)
    shown = [show(a.value, m, k=k) for a, m in zip(arcs, marks, strict=True)]
    return ListResult(cells=shown[:-1], total=shown[-1], withheld=marks[-1] is Mark.WITHHELD)


@dataclass(frozen=True, slots=True)
class CrossResult:
    """A protected two-way table with row totals, column totals and the grand total."""

    cells: list[list[Shown | None]]
    row_totals: list[Shown | None]
    column_totals: list[Shown | None]
    total: Shown | None
    withheld: bool


def cross_arcs(matrix: Sequence[Sequence[int]]) -> list[Arc]:
    """Return the network of a two-way table: cells row-major, then row, column and grand totals."""
    m = len(matrix)
    n = len(matrix[0]) if m else 0
    g_in, g_out = m + n, m + n + 1
    arcs = [Arc(m + j, i, matrix[i][j]) for i in range(m) for j in range(n)]
    arcs += [Arc(i, g_in, sum(matrix[i])) for i in range(m)]
    arcs += [Arc(g_out, m + j, sum(row[j] for row in matrix)) for j in range(n)]
    arcs.append(Arc(g_in, g_out, sum(sum(row) for row in matrix)))
    return arcs


def protect_cross(matrix: Sequence[Sequence[int]], *, k: int) -> CrossResult:
    """Protect a two-way table (rows x columns) published with all its margins."""
    m = len(matrix)
    n = len(matrix[0]) if m else 0
    arcs = cross_arcs(matrix)
    marks = protect(arcs, k=k)
    shown = [show(a.value, mk, k=k) for a, mk in zip(arcs, marks, strict=True)]
    return CrossResult(
        cells=[shown[i * n : (i + 1) * n] for i in range(m)],
        row_totals=shown[m * n : m * n + m],
        column_totals=shown[m * n + m : m * n + m + n],
        total=shown[-1],
        withheld=marks[-1] is Mark.WITHHELD,
    )


@dataclass(frozen=True, slots=True)
class CoverageResult:
    """Protected adults, pension-covered and medical-covered counts per row, with totals."""

    adults: list[Shown | None]
    pension: list[Shown | None]
    pension_gap: list[Shown | None]
    medical: list[Shown | None]
    medical_gap: list[Shown | None]
    totals: dict[str, Shown | None]
    withheld: bool


FIELDS = ("adults", "pension", "pension_gap", "medical", "medical_gap")


def coverage_arcs(rows: Sequence[tuple[int, int, int]]) -> list[Arc]:
    """Return the joint network of (adults, pension-covered, medical-covered) per row.

    Per row i: covered p_i + uncovered q_i = adults R_i = covered a_i + uncovered b_i. Nodes:
    P=0, Q=1, A=2, B=3, γ=4, δ=5, and i_in, i_out; arcs per row p_i P→i_in, q_i Q→i_in,
    R_i i_in→i_out, a_i i_out→A, b_i i_out→B; then the column totals δ→P, δ→Q, A→γ, B→γ and the
    adults total γ→δ. Order: five arcs per row (FIELDS order), then the five totals.
    """
    arcs: list[Arc] = []
    for i, (adults, pension, medical) in enumerate(rows):
        node_in, node_out = 6 + 2 * i, 7 + 2 * i
        arcs += [
            Arc(node_in, node_out, adults),
            Arc(0, node_in, pension),
            Arc(1, node_in, adults - pension),
            Arc(node_out, 2, medical),
            Arc(node_out, 3, adults - medical),
        ]
    total = [sum(r[c] for r in rows) for c in range(3)]
    arcs += [
        Arc(4, 5, total[0]),
        Arc(5, 0, total[1]),
        Arc(5, 1, total[0] - total[1]),
        Arc(2, 4, total[2]),
        Arc(3, 4, total[0] - total[2]),
    ]
    return arcs


def protect_coverage(rows: Sequence[tuple[int, int, int]], *, k: int) -> CoverageResult:
    """Protect (adults, pension-covered, medical-covered) per row; uncovered counts are cells too."""
    if any(not (0 <= p <= a and 0 <= m <= a) for a, p, m in rows):
        raise ValueError("covered counts must lie between 0 and the adults")
    arcs = coverage_arcs(rows)
    marks = protect(arcs, k=k)
    shown = [show(a.value, mk, k=k) for a, mk in zip(arcs, marks, strict=True)]
    n = len(rows)
    per = {f: [shown[5 * i + c] for i in range(n)] for c, f in enumerate(FIELDS)}
    return CoverageResult(
        adults=per["adults"],
        pension=per["pension"],
        pension_gap=per["pension_gap"],
        medical=per["medical"],
        medical_gap=per["medical_gap"],
        totals=dict(zip(FIELDS, shown[5 * n :], strict=True)),
        withheld=marks[-1] is Mark.WITHHELD,
    )
