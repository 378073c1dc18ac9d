"""Steward decisions: choosing the village of an ambiguous record, and every decision in the change feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo.fake_hr import FakeHrServer
from connectors.demo.fake_hr_store import PersonStore
from connectors.hr_api.connector import HrApiConnector, HrApiSettings
from connectors.hr_migrant_register.connector import MigrantRegisterConnector, RegisterSettings
from connectors.hr_migrant_register.models import MigrantRegisterPush
from connectors.sdk.push import run_push
from connectors.sdk.runner import run_connectors
from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.connectors.test_reconcile import hr_item
from tests.support import factories
from tests.support.civil import HR_KEY, CivilDb, make_id

TODAY = dt.date(2026, 11, 1)
NEW_VILLAGES = {"511599100204": ("新村", "511599100000"), "511599200203": ("新村", "511599200000")}
GAZETTEER = "code,name,level,parent_code\n511599000000,示范县,county,\n" + "".join(
    f"{code},{name},village,{parent}\n" for code, (name, parent) in NEW_VILLAGES.items()
)
HEADER = "序号,姓名,身份证号码,性别,户籍所在村,村代码,务工省份,务工城市,外出时间,返乡时间,联系电话,登记日期\n"
WORKER = make_id("19900101", 71)
STEWARD = ["quarantine:read", "quarantine:write", "changes:read"]


@pytest.fixture
def app(store_url: str, store_engine: Engine) -> Iterator[TestClient]:
    """An app over a store whose gazetteer holds two villages named 新村 (in two townships)."""
    factories.county(store_engine)
    for code, (name, parent) in NEW_VILLAGES.items():
        factories.add_region(store_engine, code, name, parent=parent)
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        yield c


def as_steward(c: TestClient, engine: Engine, department: str) -> dict[str, str]:
    """Register a data steward of a department (quarantine and change feed) and return its headers."""
    client_id, secret = register(engine, department=department, scopes=STEWARD)
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(c, client_id, secret)}"}


def feed(c: TestClient, h: dict[str, str]) -> list[dict[str, Any]]:
    """Return the steward's decisions the change feed shows the caller."""
    r = c.get("/v1/changes", headers=h, params={"limit": 500})
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["resource"] == "quarantine"]


def sync_register(engine: Engine, directory: Path, *, full: bool = False) -> None:
    """Sync the migrant register of `directory` once."""
    connector = MigrantRegisterConnector(RegisterSettings(directory=directory, encoding="utf-8"))
    assert run_connectors(engine, [connector], today=TODAY, full=full).ok


def test_steward_chooses_the_village_of_an_ambiguous_record(
    app: TestClient, store_engine: Engine, tmp_path: Path
) -> None:
    """The named village is used at the next sync and every later one; a wrong one is refused."""
    (tmp_path / "gazetteer.csv").write_text(GAZETTEER, encoding="utf-8")
    row = f"1,赵六,{WORKER},男,新村,,广东省,东莞市,2024-03-01,,13800000009,2026/10/17\n"
    (tmp_path / "hr_migrant_register_2026-10.csv").write_text(HEADER + row, encoding="utf-8")
    sync_register(store_engine, tmp_path)
    steward = as_steward(app, store_engine, "hr")
    (item,) = app.get("/v1/quarantine", headers=steward).json()["items"]
    assert item["reason"] == "ambiguous_village"
    url = f"/v1/quarantine/{item['id']}:resolve"

    def choose(code: str | None, action: str = "choose_village") -> Any:
        body = {"action": action, "reason": "电话核实", **({"village_code": code} if code else {})}
        return app.post(url, headers=steward, json=body)

    for refused in (choose(None), choose("511599200203", action="dismiss"), choose("5115992002")):
        assert refused.status_code == 422, refused.text
    wrong = choose("511599100201")  # 青山村: a village the record does not name
    assert wrong.status_code == 422 and wrong.json()["type"] == "/problems/action-not-applicable"
    assert choose("511599200202").status_code == 422  # no such village in the store's gazetteer
    r = choose("511599200203")
    assert r.status_code == 200, r.text
    assert r.json()["resolution"] == "retry" and r.json()["chosen_region"] == "511599200203"
    (entry,) = feed(app, steward)
    assert entry["event"] == "quarantine.resolved" and entry["status"] == "choose_village"
    assert entry["id"] == str(item["id"]) and entry["resident_id"] is None
    for _ in range(2):  # the next sync releases it; a full one reads the row again and keeps the choice
        sync_register(store_engine, tmp_path, full=_ > 0)
        with store_engine.connect() as conn:
            assert conn.execute(text("SELECT region_code FROM resident")).scalar_one() == "511599200203"
            closed = conn.execute(text("SELECT released_at, resolution FROM quarantine")).one()
        assert closed[0] is not None and closed[1] == "released"
    civil = as_steward(app, store_engine, "civil_affairs")
    assert feed(app, civil) == []  # another department's stewards see nothing of it
    # HR pushes the same row again (still naming only 新村): the steward's choice holds for pushes too.
    connector = MigrantRegisterConnector.for_push(RegisterSettings(directory=tmp_path, encoding="utf-8"))
    connector.prepare()
    fields = dict(zip(HEADER.strip().split(","), row.strip().split(","), strict=True))
    batch = MigrantRegisterPush(file="hr_migrant_register_2026-10.csv", rows=[fields])
    pushed = run_push(store_engine, connector=connector, batch=batch, today=TODAY)
    assert pushed.quarantined == [] and pushed.unchanged + pushed.updated == 1, pushed


def test_every_steward_decision_is_in_the_change_feed(
    app: TestClient, store_engine: Engine, tmp_path: Path
) -> None:
    """Retry, dismiss (civil affairs) and link, split (an HR 重号) each add one quarantine.resolved entry."""
    good = make_id("19700101", 91)
    civil = CivilDb(tmp_path / "civil.sqlite")
    civil.person("A", good, name="王五", birth="19700101")
    civil.person("B", good[:17] + ("0" if good[17] != "0" else "1"), name="李四", hh="H2")
    civil.person("C", "51159919700101000", name="张七", hh="H3")
    twins = [
        {**hr_item("P8", good, name="王五一"), "birthDate": "2001-02-03"},
        {**hr_item("P9", good, name="王五二"), "birthDate": "2002-02-03"},
    ]
    civil_source = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))
    with FakeHrServer(PersonStore.from_items(twins), api_key=HR_KEY) as hr:
        connectors = [
            civil_source,
            HrApiConnector(HrApiSettings(base_url=hr.url, api_key=SecretStr(HR_KEY), services=False)),
        ]
        assert run_connectors(store_engine, connectors, today=TODAY).ok
    done: dict[str, list[str]] = {}
    for department, actions in (("civil_affairs", ["retry", "dismiss"]), ("hr", ["link", "split"])):
        steward = as_steward(app, store_engine, department)
        items = app.get("/v1/quarantine", headers=steward).json()["items"]
        assert len(items) == 2, items
        for item, action in zip(items, actions, strict=True):
            r = app.post(
                f"/v1/quarantine/{item['id']}:resolve",
                headers=steward,
                json={"action": action, "reason": "核实"},
            )
            assert r.status_code == 200, r.text
        done[department] = [e["status"] for e in feed(app, steward)]
        assert [e["id"] for e in feed(app, steward)] == [str(i["id"]) for i in items]
    assert done == {"civil_affairs": ["retry", "dismiss"], "hr": ["link", "split"]}
    # Effective at the next sync: the retried record is held again (still invalid), the dismissed one
    # stays dismissed although the full sync reads it unchanged.
    assert run_connectors(store_engine, [civil_source], today=TODAY, full=True).ok
    with store_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT record_key, resolution FROM quarantine WHERE source = 'civil_affairs' ORDER BY id")
        ).all()
    assert [r[1] for r in rows] == [None, "dismissed"], rows
