"""Statistics survive every combination of requests: LP ranges over all views a client may ask for."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import select

from gateway.demo.county import SHIFAN
from store.engines import make_sync_engine
from store.tables.records import RegionRow
from tests.disclosure.conftest import World
from tests.disclosure.release_lp import LEVELS, Release, requestable

G = RegionRow.__table__.c  # type: ignore[attr-defined]
STATS_CLIENTS = [c.client_id for c in SHIFAN.clients if "statistics:read" in c.scopes]


def _gazetteer(world: World) -> list[tuple[str, str, str | None]]:
    engine = make_sync_engine(world.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(G.code, G.level, G.parent_code)).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows if r[1] in LEVELS]


@pytest.mark.parametrize("client", STATS_CLIENTS)
def test_no_view_combination_pins_a_suppressed_cell(world: World, client: str) -> None:
    gazetteer = _gazetteer(world)
    mine = world.clients[client][1]
    children: dict[str, list[str]] = defaultdict(list)
    for code, _, parent in gazetteer:
        if parent is not None and any(parent == c for c, _, _ in gazetteer):
            children[parent].append(code)
    release: Release | None = None
    views = 0
    for code, group in requestable(gazetteer, mine):
        r = world.tc.get(
            "/v1/stats", params={"region": code, "level": group}, headers=world.headers(client, None)
        )
        assert r.status_code == 200, r.text
        report = r.json()
        release = release or Release(k=report["min_cell"])
        release.add_view(report)
        views += 1
    assert release is not None and views >= 2
    pinned = [
        f"{key} published differently in two views: {release.seen[key]}" for key in release.inconsistent()
    ]
    for key, (lo, hi, shown) in release.ranges(dict(children)).items():
        # Protection: the reader's feasible range must be at least one person wide.
        if hi - lo < 1 - 1e-6:
            pinned.append(f"{key} shown {shown!r}: feasible [{lo:g}, {hi:g}]")
    assert not pinned, "\n".join(pinned)
