"""Small-cell suppression: no hidden cell is recoverable from what a published table shows."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.stats.suppression import (
    Arc,
    Mark,
    protect_coverage,
    protect_cross,
    protect_list,
)
from tests.stats.attacker import Equation, exact_attack, single_equation_attack

K = 5
# Small counts dominate so that most tables need suppression.
counts = st.one_of(st.integers(0, 6), st.integers(0, 40))


def _check_markers(truth: dict[str, int], shown: dict[str, object], *, k: int) -> None:
    for var, value in truth.items():
        s = shown[var]
        if isinstance(s, int):
            assert s == value and not 0 < value < k, (var, value, s)
        elif s == f"<{k}":
            assert 0 < value < k, (var, value)
        else:
            assert s == "*" and value >= k, (var, value, s)


def _assert_safe(truth: dict[str, int], shown: dict[str, object], eqs: Sequence[Equation], *, k: int) -> None:
    if all(s is None for s in shown.values()):
        return  # withheld: nothing published
    _check_markers(truth, shown, k=k)
    assert single_equation_attack(shown, eqs, k=k) == set()
    assert exact_attack(shown, eqs, k=k) == set()


def list_problem(values: list[int], *, k: int) -> tuple[dict[str, int], dict[str, object], list[Equation]]:
    res = protect_list(values, k=k)
    truth = {f"x{i}": v for i, v in enumerate(values)} | {"T": sum(values)}
    shown = {f"x{i}": s for i, s in enumerate(res.cells)} | {"T": res.total}
    eq = [(f"x{i}", 1) for i in range(len(values))] + [("T", -1)]
    return truth, shown, [eq]


def cross_problem(
    matrix: list[list[int]], *, k: int
) -> tuple[dict[str, int], dict[str, object], list[Equation]]:
    res = protect_cross(matrix, k=k)
    m, n = len(matrix), len(matrix[0])
    truth: dict[str, int] = {}
    shown: dict[str, object] = {}
    for i in range(m):
        for j in range(n):
            truth[f"x{i}_{j}"], shown[f"x{i}_{j}"] = matrix[i][j], res.cells[i][j]
        truth[f"R{i}"], shown[f"R{i}"] = sum(matrix[i]), res.row_totals[i]
    for j in range(n):
        truth[f"C{j}"], shown[f"C{j}"] = sum(r[j] for r in matrix), res.column_totals[j]
    truth["G"], shown["G"] = sum(map(sum, matrix)), res.total
    eqs: list[Equation] = [[*((f"x{i}_{j}", 1) for j in range(n)), (f"R{i}", -1)] for i in range(m)]
    eqs += [[*((f"x{i}_{j}", 1) for i in range(m)), (f"C{j}", -1)] for j in range(n)]
    eqs += [[*((f"R{i}", 1) for i in range(m)), ("G", -1)], [*((f"C{j}", 1) for j in range(n)), ("G", -1)]]
    return truth, shown, eqs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(counts, min_size=1, max_size=8), st.sampled_from([3, 5]))
def test_lists_leak_nothing(values: list[int], k: int) -> None:
    truth, shown, eqs = list_problem(values, k=k)
    _assert_safe(truth, shown, eqs, k=k)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.lists(st.lists(counts, min_size=n, max_size=n), min_size=1, max_size=5)
    ),
    st.sampled_from([3, 5]),
)
def test_two_way_tables_leak_nothing(matrix: list[list[int]], k: int) -> None:
    truth, shown, eqs = cross_problem(matrix, k=k)
    _assert_safe(truth, shown, eqs, k=k)


@st.composite
def coverage_rows(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        adults = draw(counts)
        # Near-full coverage is typical: a small uncovered count is what needs protecting.
        gap = st.one_of(st.integers(0, min(adults, 6)), st.integers(0, adults))
        rows.append((adults, adults - draw(gap), adults - draw(gap)))
    return rows


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coverage_rows())
def test_linked_coverage_tables_leak_nothing(rows: list[tuple[int, int, int]]) -> None:
    res = protect_coverage(rows, k=K)
    truth: dict[str, int] = {}
    shown: dict[str, object] = {}
    eqs: list[Equation] = []
    for i, (adults, pension, medical) in enumerate(rows):
        for name, value, s in (
            ("R", adults, res.adults[i]),
            ("p", pension, res.pension[i]),
            ("q", adults - pension, res.pension_gap[i]),
            ("a", medical, res.medical[i]),
            ("b", adults - medical, res.medical_gap[i]),
        ):
            truth[f"{name}{i}"], shown[f"{name}{i}"] = value, s
        eqs += [[(f"p{i}", 1), (f"q{i}", 1), (f"R{i}", -1)], [(f"a{i}", 1), (f"b{i}", 1), (f"R{i}", -1)]]
    total = {
        "G": sum(r[0] for r in rows),
        "P": sum(r[1] for r in rows),
        "A": sum(r[2] for r in rows),
    }
    total |= {"Q": total["G"] - total["P"], "B": total["G"] - total["A"]}
    names = {"G": "adults", "P": "pension", "Q": "pension_gap", "A": "medical", "B": "medical_gap"}
    for var, field in names.items():
        truth[var], shown[var] = total[var], res.totals[field]
    idx = range(len(rows))
    for var, cell in (("G", "R"), ("P", "p"), ("Q", "q"), ("A", "a"), ("B", "b")):
        eqs.append([*((f"{cell}{i}", 1) for i in idx), (var, -1)])
    eqs += [[("P", 1), ("Q", 1), ("G", -1)], [("A", 1), ("B", 1), ("G", -1)]]
    _assert_safe(truth, shown, eqs, k=K)


def test_markers_leak_bounds_that_the_classic_rule_ignores() -> None:
    # Classic rule: hide 1 ("<5") and its next smallest peer 5 ("*"); the total 6 then forces 1 and 5.
    truth, shown, eqs = list_problem([1, 5, 30], k=K)
    assert shown["x0"] == "<5"
    _assert_safe(truth, shown, eqs, k=K)
    naive = {"x0": "<5", "x1": "*", "x2": 30, "T": 36}
    assert single_equation_attack(naive, eqs, k=K) == {"x0", "x1"}


def test_a_bridge_between_two_hidden_blocks_is_recoverable_and_gets_protected() -> None:
    # Two 2x2 blocks of hidden cells joined by one hidden cell: every row and column holds two
    # hidden cells, so the classic rule stops, yet rows r0+r1 minus columns c0+c1 give the bridge.
    arcs = [Arc(0, 10, 7), Arc(0, 11, 8), Arc(1, 10, 9), Arc(1, 11, 6),  # block A: rows 0,1 x cols 10,11
            Arc(2, 12, 7), Arc(2, 13, 8), Arc(3, 12, 9), Arc(3, 13, 6),  # block B: rows 2,3 x cols 12,13
            Arc(0, 12, 5),  # the bridge
            Arc(20, 0, 20), Arc(20, 1, 15), Arc(20, 2, 15), Arc(20, 3, 15),
            Arc(10, 21, 16), Arc(11, 21, 14), Arc(12, 21, 21), Arc(13, 21, 14)]  # fmt: skip
    from gateway.stats import suppression

    marks = [Mark.COMPLEMENT] * 9 + [Mark.PUBLISHED] * 8
    assert suppression._recoverable(arcs, marks, k=K) == [8]


def test_zero_is_published_and_small_k_is_refused() -> None:
    assert protect_list([0, 0, 0], k=K).cells == [0, 0, 0]
    try:
        protect_list([1], k=2)
    except ValueError:
        pass
    else:
        raise AssertionError("k=2 must be refused: the marker '<2' names the value")
