"""Rules run after every sync and every push, over what the connectors just wrote.

On SQLite and PostgreSQL both: the evaluator writes with the sync's own driver-level statements.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.changes.support import sync
from tests.support.civil import CivilDb, make_id


def _items(store: Engine) -> list[tuple[str, str]]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT rule_id, state FROM alert ORDER BY rule_id")).all()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.backends
def test_a_sync_recording_a_death_raises_stop_payment_once(store_engine: Engine, tmp_path: Path) -> None:
    civil = CivilDb(tmp_path / "civil.sqlite")
    civil.person("A", make_id("19800101", 1), hh="H1", birth="19800101")
    civil.benefit("DB1", "A", kind="01")
    sync(store_engine, civil)
    assert _items(store_engine) == []  # alive and receiving: nothing to do
    civil.person("A", make_id("19800101", 1), hh="H1", birth="19800101", status="2")
    sync(store_engine, civil)
    assert _items(store_engine) == [("deceased-assistance-active", "open")]
    with store_engine.connect() as conn:
        logged = conn.execute(text("SELECT resource, event FROM change_log WHERE resource = 'alert'")).all()
    assert [tuple(r) for r in logged] == [("alert", "alert.raised")]
    sync(store_engine, civil)  # the next sync finds the same condition: no second item
    assert _items(store_engine) == [("deceased-assistance-active", "open")]


def test_a_push_recording_a_death_raises_stop_payment(sqlite_url: str) -> None:
    from pydantic import SecretStr

    from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
    from connectors.civil_affairs.models import CivilAffairsPush
    from connectors.sdk.push import run_push
    from store.engines import make_sync_engine

    store = make_sync_engine(sqlite_url)
    person = {"JMID": "MZ1", "XM": "钱七", "SFZHM": make_id("19800101", 7), "XB": "1", "CSRQ": "19800101",
              "MZ": "01", "HH": "H7", "YHZGX": "02", "XZQHDM": "511599100201", "HJDZ": "青山村3组",
              "LXDH": "13800000007", "RYZT": "2", "GXSJ": "2026-11-02 09:30:00"}  # fmt: skip
    benefit = {"DBID": "DB7", "JMID": "MZ1", "JZLX": "01", "JE": "580.00", "KSRQ": "20250101", "JSRQ": "",
               "ZT": "1", "GXSJ": "2026-11-02 09:30:00"}  # fmt: skip
    batch = CivilAffairsPush.model_validate({"T_HJ_JMXX": [person], "T_JZ_DBXX": [benefit]})
    run_push(
        store,
        connector=CivilAffairsConnector(CivilAffairsSettings(url=SecretStr("sqlite:///unused.db"))),
        batch=batch,
    )
    assert _items(store) == [("deceased-assistance-active", "open")]
    store.dispose()


@pytest.mark.parametrize("chunk", [1, 3])
def test_evaluation_in_small_chunks_raises_what_one_pass_raises(
    sqlite_url: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evaluator reads residents a chunk at a time (flat memory); chunking changes no item."""
    from gateway.alerts import evaluate as evaluator
    from store.engines import make_sync_engine
    from tests.support import factories
    from tests.support.alerts import evaluate, populate

    def raised(size: int) -> list[tuple[str, str]]:
        engine = make_sync_engine(sqlite_url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alert"))
        monkeypatch.setattr(evaluator, "CHUNK", size)
        evaluate(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, resident_id FROM alert ORDER BY key")).all()
        engine.dispose()
        return [(r[0], r[1]) for r in rows]

    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    engine.dispose()
    whole = raised(10_000)
    assert len(whole) >= 7  # every shipped rule raises for its case in the cast
    assert raised(chunk) == whole
