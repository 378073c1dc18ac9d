"""An independent attacker on published tables: it sees only what a reader sees, never the network.

A reader knows the published numbers, the table equations (rows, columns and totals add up), that
counts are non-negative integers, and the markers: "<k" lies in [1, k-1], "*" in [k, inf).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

INF = 10**9
Equation = list[tuple[str, int]]  # (variable, coefficient); the sum is zero


def bounds_of(shown: object, *, k: int) -> tuple[int, int]:
    """Return what a reader knows of one cell."""
    if isinstance(shown, int):
        return shown, shown
    if shown == f"<{k}":
        return 1, k - 1
    assert shown == "*", shown
    return k, INF


def single_equation_attack(shown: dict[str, object], equations: Sequence[Equation], *, k: int) -> set[str]:
    """Solve each hidden cell from each equation alone, tightening bounds until nothing changes."""
    lo = {v: bounds_of(s, k=k)[0] for v, s in shown.items()}
    hi = {v: bounds_of(s, k=k)[1] for v, s in shown.items()}
    changed = True
    while changed:
        changed = False
        for eq in equations:
            for var, coef in eq:
                # coef*var = -sum(others): bounds of the rest give bounds of var.
                rest_lo = sum(min(c * lo[v], c * hi[v]) for v, c in eq if v != var)
                rest_hi = sum(max(c * lo[v], c * hi[v]) for v, c in eq if v != var)
                new_lo, new_hi = sorted((-rest_hi * coef, -rest_lo * coef))  # coef is ±1
                if new_lo > lo[var] and new_lo < INF // 2:
                    lo[var], changed = new_lo, True
                if new_hi < hi[var]:
                    hi[var], changed = new_hi, True
    return {v for v, s in shown.items() if not isinstance(s, int) and lo[v] == hi[v]}


def exact_attack(shown: dict[str, object], equations: Sequence[Equation], *, k: int) -> set[str]:
    """Return the hidden cells an integer program pins to one value (min == max)."""
    names = list(shown)
    index = {v: i for i, v in enumerate(names)}
    a = np.zeros((len(equations), len(names)))
    for r, eq in enumerate(equations):
        for var, coef in eq:
            a[r, index[var]] += coef
    lb = np.array([bounds_of(shown[v], k=k)[0] for v in names], dtype=float)
    ub = np.array([bounds_of(shown[v], k=k)[1] for v in names], dtype=float)
    constraints = LinearConstraint(a, 0, 0)
    pinned = set()
    for v in names:
        if isinstance(shown[v], int):
            continue
        c = np.zeros(len(names))
        c[index[v]] = 1
        low = milp(c, constraints=constraints, bounds=Bounds(lb, ub), integrality=np.ones(len(names)))
        high = milp(-c, constraints=constraints, bounds=Bounds(lb, ub), integrality=np.ones(len(names)))
        assert low.success and high.success, "the published table must be consistent"
        if round(low.fun) == round(-high.fun):
            pinned.add(v)
    return pinned
