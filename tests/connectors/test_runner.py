"""The shared runner: locks, quarantine and release, linking, needs_review, relinking, refresh of tags."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.sdk.runner import SyncReport, run_connectors
from connectors.sdk.state import acquire_lease, release_lease
from schemas.models import Resident
from store.bulk import write_tx
from tests.connectors.conftest import CivilDb, make_id

TODAY = dt.date(2026, 11, 1)


@pytest.fixture
def civil(tmp_path: Path) -> CivilDb:
    """An empty civil-affairs database."""
    return CivilDb(tmp_path / "civil.sqlite")


def sync(store: Engine, civil: CivilDb, *, today: dt.date = TODAY) -> SyncReport:
    """Sync the civil-affairs database once."""
    connector = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))
    return run_connectors(store, [connector], today=today)


def served(store: Engine) -> dict[str, Resident]:
    """Return the served residents by citizen ID (or id when none)."""
    with store.connect() as conn:
        docs = [Resident.model_validate_json(d) for (d,) in conn.execute(text("SELECT doc FROM resident"))]
    return {r.national_id or r.id: r for r in docs}


def one(store: Engine, sql: str, **params: Any) -> Any:
    """Return the first column of the first row."""
    with store.connect() as conn:
        row = conn.execute(text(sql), params).first()
    return None if row is None else row[0]


def tags(res: Resident) -> set[str]:
    """Return a resident's tag values."""
    return {t.value for t in res.tags}


def test_a_held_lease_blocks_a_second_sync(store: Engine, civil: CivilDb) -> None:
    """While another process holds the lease of a source, its sync refuses to start."""
    civil.person("A", make_id("19800101", 11))
    now = dt.datetime.now(dt.UTC)
    with store.connect() as conn, write_tx(conn) as s:
        acquire_lease(s, "civil_affairs", holder="other-host:1:x", now=now)
    blocked = sync(store, civil).sources[0]
    assert not blocked.ok and "already running" in (blocked.error or "") and blocked.read == 0
    with store.connect() as conn, write_tx(conn) as s:
        release_lease(s, "civil_affairs", holder="other-host:1:x")
    assert sync(store, civil).ok
    with store.connect() as conn, write_tx(conn) as s:  # a crashed holder's lease expires
        acquire_lease(s, "civil_affairs", holder="crashed:2:y", now=now - dt.timedelta(hours=1))
    assert sync(store, civil).ok
    assert one(store, "SELECT COUNT(*) FROM sync_lock") == 0


def test_fixed_record_is_released_with_its_dependants(store: Engine, civil: CivilDb) -> None:
    """A record fixed at the source is translated next sync, released, and its enrolment replayed."""
    good = make_id("19800101", 11)
    civil.person("A", good[:17] + ("0" if good[17] != "0" else "1"))  # wrong check character
    civil.benefit("D1", "A")
    first = sync(store, civil).sources[0]
    assert first.quarantined == {"invalid_id": 1, "resident_held_back": 1}
    civil.person("A", good)  # the department corrects the number; the enrolment row is untouched
    second = sync(store, civil).sources[0]
    assert second.released == 2 and second.created == 2
    assert one(store, "SELECT COUNT(*) FROM quarantine WHERE released_at IS NULL") == 0
    res = served(store)[good]
    assert "low_income" in tags(res)


def test_record_broken_later_is_withdrawn(store: Engine, civil: CivilDb) -> None:
    """A record translated before and broken now is quarantined and no longer served."""
    number = make_id("19800101", 11)
    civil.person("A", number)
    civil.person("B", make_id("19800101", 13), hh="H1", relation="10")
    assert sync(store, civil).ok
    assert number in served(store)
    civil.person("A", number[:10] + "1399" + number[14:])  # an impossible date (month 13)
    report = sync(store, civil)
    assert report.sources[0].quarantined == {"invalid_id": 1}
    assert number not in served(store)
    assert report.refresh is not None and report.refresh.residents_removed == 1
    assert tags(served(store)[make_id("19800101", 13)]) == {"living_alone"}  # now alone in H1


def test_no_id_is_kept_apart_never_merged(store: Engine, civil: CivilDb) -> None:
    """Two records without an ID number are two residents flagged needs_review, even with one name."""
    civil.person("A", "", name="李四", hh="H1")
    civil.person("B", "", name="李四", hh="H2")
    assert sync(store, civil).ok
    people = [r for r in served(store).values() if r.needs_review]
    assert len(people) == 2 and all(tags(r) >= {"needs_review"} and r.national_id is None for r in people)
    assert len({r.id for r in people}) == 2
    assert sync(store, civil).sources[0].created == 0  # stable ids: the re-run finds them again


def test_corrected_id_relinks_the_record(store: Engine, civil: CivilDb) -> None:
    """A record whose ID number changes moves to the right resident; the emptied one disappears."""
    right, wrong = make_id("19700101", 21), make_id("19700101", 23)
    civil.person("A", right, name="王五", hh="H1")
    civil.person("B", wrong, name="王五", hh="H2")  # a duplicate registration under a mistyped number
    civil.benefit("D1", "B", kind="04")
    assert sync(store, civil).ok
    old = served(store)[wrong].id
    civil.person("B", right, name="王五", hh="H2")
    report = sync(store, civil)
    assert report.ok and wrong not in served(store)
    res = served(store)[right]
    assert one(store, "SELECT COUNT(*) FROM resident_source WHERE resident_id = :r", r=res.id) == 2
    assert one(store, "SELECT resident_id FROM enrollment WHERE record_key = 'D1'") == res.id
    assert "disabled" in tags(res) and one(store, "SELECT COUNT(*) FROM resident WHERE id = :r", r=old) == 0


def test_tags_follow_the_household(store: Engine, civil: CivilDb) -> None:
    """living_alone and left_behind_child are recomputed when another member's record changes."""
    civil.person("P", make_id("19500101", 31), hh="H1", relation="02")  # aged 76: elderly
    civil.person("S", make_id("19520101", 32), hh="H1", relation="10")
    assert sync(store, civil).ok
    assert tags(served(store)[make_id("19500101", 31)]) == {"elderly"}
    civil.person("S", make_id("19520101", 32), hh="H1", relation="10", status="2")  # the spouse died
    report = sync(store, civil)
    assert report.refresh is not None and report.refresh.residents_updated == 2
    assert tags(served(store)[make_id("19500101", 31)]) == {"elderly", "living_alone"}
    assert tags(served(store)[make_id("19520101", 32)]) == set()  # the deceased get no tags


def test_tags_follow_the_calendar(store: Engine, civil: CivilDb) -> None:
    """Someone turning 60 becomes elderly on the first sync after the birthday, with no source change."""
    number = make_id("19661115", 41)
    civil.person("A", number, hh="H1")
    civil.person("B", make_id("19700101", 42), hh="H1", relation="10")
    assert sync(store, civil, today=dt.date(2026, 11, 1)).ok
    assert "elderly" not in tags(served(store)[number])
    unchanged = sync(store, civil, today=dt.date(2026, 11, 1))
    assert unchanged.refresh is not None and unchanged.refresh.residents_updated == 0
    later = sync(store, civil, today=dt.date(2026, 11, 20))
    assert later.refresh is not None and later.refresh.residents_updated == 1
    assert "elderly" in tags(served(store)[number])


def test_provenance_and_values_are_stored(store: Engine, civil: CivilDb) -> None:
    """resident_source keeps the translated values and a content hash; the doc names each field's source."""
    number = make_id("19800101", 51)
    civil.person("A", number, name=" 阿苏•拉则\u3000", phone="１３８-0000 0000")
    assert sync(store, civil).ok
    values = orjson.loads(one(store, "SELECT \"values\" FROM resident_source WHERE record_key = 'A'"))
    assert (values["name"], values["phone"], values["national_id"]) == ("阿苏·拉则", "13800000000", number)
    res = served(store)[number]
    assert res.provenance["name"].source == "civil_affairs" and res.provenance["name"].record_key == "A"
    assert res.provenance["name"].updated_at == dt.datetime(
        2026, 10, 1, 0, 0, 1, tzinfo=dt.UTC
    )  # GXSJ is UTC+8
