"""A record its source no longer holds: `record.withdrawn` in the change feed, its values kept as history."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from connectors.demo.fake_hr import FakeHrServer
from connectors.demo.fake_hr_store import PersonStore
from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.connectors.conftest import CivilDb, make_id
from tests.connectors.test_reconcile import civil, hr, hr_item, sync  # noqa: F401 (fixtures)
from tests.connectors.test_runner import served


def log(engine: Engine) -> list[tuple[str, str, str | None]]:
    """Return (record id, change, event) of the resident entries of the change log, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT record_id, change, event FROM change_log WHERE resource = 'resident' ORDER BY seq")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_full_sync_withdraws_with_an_event_and_keeps_history(
    store_url: str, store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """HR deletes two people: each gets record.withdrawn; the HR-only one is then removed; the other
    keeps HR's phone in its provenance as history (withdrawn_at, never served)."""
    number, other = make_id("19800101", 41), make_id("19810101", 42)
    civil.person("A", number, phone="13800000000")
    hr.store = PersonStore.from_items([hr_item("P1", number), hr_item("P2", other)])
    sync(store_engine, civil, hr)
    rid, gone = served(store_engine)[number].id, served(store_engine)[other].id
    before = len(log(store_engine))
    hr.store = PersonStore.from_items([])
    sync(store_engine, civil, hr, full=True)
    after = log(store_engine)[before:]
    assert (rid, "updated", "record.withdrawn") in after and (gone, "updated", "record.withdrawn") in after
    assert after.index((gone, "updated", "record.withdrawn")) < after.index((gone, "removed", None))
    assert served(store_engine)[number].employment_status is None  # recomputed from what remains
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        client_id, secret = register(store_engine, scopes=["residents:read", "changes:read"])
        assert secret is not None
        h = {
            "Authorization": f"Bearer {fetch_token(c, client_id, secret)}",
            "X-Purpose": "social-assistance-review",
        }
        r = c.get(f"/v1/residents/{rid}/provenance", headers=h)
        assert r.status_code == 200, r.text
        phones: list[dict[str, Any]] = r.json()["fields"]["phone"]
        (current,) = [p for p in phones if p.get("withdrawn_at") is None]
        (history,) = [p for p in phones if p.get("withdrawn_at") is not None]
        assert current["served"] and current["value"] == "13800000000"
        assert history == {**history, "source": "hr_api", "record_key": "P1", "served": False, "rule": None}
        assert history["value"] == "13900000009"
        feed = c.get("/v1/changes", headers=h, params={"limit": 500}).json()["items"]
        events = {(i["id"], i["event"]) for i in feed}
        assert (rid, "record.withdrawn") in events and (gone, "record.withdrawn") in events
    with store_engine.connect() as conn:
        kept = conn.execute(text("SELECT resident_id, source, record_key FROM resident_source_history")).all()
    assert sorted(map(tuple, kept)) == sorted([(rid, "hr_api", "P1"), (gone, "hr_api", "P2")])
    assert orjson.loads(r.content)["id"] == rid
