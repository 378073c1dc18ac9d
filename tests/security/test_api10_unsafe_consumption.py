"""API10:2023 Unsafe consumption of APIs: what department systems push is bounded and names someone."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from connectors.demo.ids import check_char
from tests.security.conftest import World

NID17 = "51159919700101002"


def _push(w: World, rows: list[dict[str, str]], key: str) -> httpx.Response:
    return w.tc.post(
        "/v1/ingest/civil_affairs",
        json={"T_HJ_JMXX": rows},
        headers={**w.headers("ingester"), "Idempotency-Key": key},
    )


def _residents(w: World) -> int:
    with w.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM resident")).scalar_one())


def test_rows_with_only_a_record_key_create_no_one(world: World) -> None:
    """A batch of key-only rows used to create residents with no ID, no name and no region."""
    before = _residents(world)
    r = _push(world, [{"JMID": f"K{i:04d}"} for i in range(200)], "keys-only")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 0 and body["quarantined_by_reason"] == {"missing_identity": 200}
    assert _residents(world) == before


def test_an_oversized_field_is_quarantined_not_served(world: World) -> None:
    """A pushed 20 MB name used to be stored and served on every read; now it is held back."""
    row = {"JMID": "BIG1", "XM": "王" * 10_000, "SFZHM": NID17 + check_char(NID17), "XZQHDM": "511599100201"}
    r = _push(world, [row], "big-name")
    assert r.status_code == 200, r.text
    assert r.json()["quarantined_by_reason"] == {"invalid_record": 1}
    with world.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM resident WHERE doc LIKE '%王王王王王王%'")).scalar_one()
            == 0
        )


def test_a_person_with_an_id_or_a_name_and_village_is_still_taken(world: World) -> None:
    """The identity rule refuses nobody real: an ID alone, or a name with a village, is enough."""
    rows = [
        {"JMID": "OK1", "SFZHM": NID17 + check_char(NID17)},
        {"JMID": "OK2", "XM": "李四", "XZQHDM": "511599100201"},
    ]
    r = _push(world, rows, "real-people")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2, r.text
