"""The disclosure suite's world: the demo clients, the shipped policy, canaries planted in every field
that policy hides or masks from some client, and the statistics county."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

import policies
from connectors.demo.ids import check_char
from gateway.app import create_app
from gateway.demo.county import SHIFAN
from gateway.settings import Settings
from policies.decision import Decision, Subject
from policies.engine import PolicyEngine
from schemas.codes import EmploymentStatus, Ethnicity, Relation, Sex, Tag
from schemas.time import today_cn
from store.engines import make_sync_engine
from store.tables.changes import ChangeRow
from tests.stats import data as stats_data
from tests.support import factories
from tests.support.callers import Headers, register, token_headers
from tests.support.stores import sqlite_copy

SHIPPED = Path(policies.__file__).parent / "default"
VILLAGES = ("511599100201", "511599100202", "511599200201")
# Fields whose values are free text: each gets a value no other record, label or document holds.
TEXT_FIELDS = ("national_id", "name", "phone", "address", "household_id", "birth_date")


def citizen_id(n: int) -> str:
    """Return a valid citizen ID number unique to canary n."""
    first17 = f"511599{1931 + n:04d}0713{n:03d}"
    return first17 + check_char(first17)


@dataclass
class World:
    """The running app, tokens per client, the engine of the shipped policy and the canaries."""

    tc: TestClient
    engine: PolicyEngine
    clients: dict[str, tuple[str, str | None, list[str]]]  # id -> (department, region, scopes)
    url: str
    residents: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> stored document
    households: list[str] = field(default_factory=list)
    _headers: Headers | None = None

    def headers(self, client: str, purpose: str | None) -> dict[str, str]:
        """Return the Authorization (+ X-Purpose) headers of a demo client."""
        if self._headers is None:
            self._headers = token_headers(self.tc, {cid: c[2] for cid, c in self.clients.items()})
        return self._headers(client, purpose)

    def decide(self, client: str, resource: str, purpose: str | None) -> Decision:
        """Return the shipped policy's decision for a demo client (what it may see)."""
        dept, region, _ = self.clients[client]
        subject = Subject(client_id=client, department=dept, region_code=region)
        return self.engine.decide(subject, resource, purpose)

    def purposes_of(self, client: str) -> list[str | None]:
        """Return every purpose a grant names for the client, plus none and one it was never granted."""
        dept = self.clients[client][0]
        policy = self.engine.policy
        named = {
            p
            for g in (*policy.by_client.get(client, ()), *policy.by_department.get(dept, ()))
            for p in g.purposes
        }
        stranger = next(p for p in sorted(policy.purposes) if p not in named)
        return [None, stranger, *sorted(named)]


def hidden_or_masked_somewhere(engine: PolicyEngine, clients: dict[str, Any], resource: str) -> set[str]:
    """Return the fields of `resource` that the shipped policy hides or masks from some client/purpose."""
    info = engine.policy.resources[resource]
    out: set[str] = set()
    for client, (dept, region, _) in clients.items():
        for purpose in [None, *engine.policy.purposes]:
            d = engine.decide(Subject(client, dept, region), resource, purpose)
            shown = set(d.fields_disclosed)
            out |= {f for f in info.fields if f not in shown}
    return out


def _plant(engine: Engine) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Plant one canary resident per village (two households, one spanning two townships)."""
    docs: dict[str, dict[str, Any]] = {}
    households = ["HCANARY1", "HCANARY2"]
    factories.add_household(
        engine, hid="HCANARY1", household_no="CANARY-NO-1", region_code=VILLAGES[0], head=None
    )
    factories.add_household(
        engine, hid="HCANARY2", household_no="CANARY-NO-2", region_code=VILLAGES[1], head=None
    )
    for n, village in enumerate(VILLAGES):
        res = factories.add_resident(
            engine,
            rid=f"RCANARY{n:05d}",
            national_id=citizen_id(n),
            name=f"甄金丝雀{'甲乙丙'[n]}",
            sex=Sex.FEMALE if n % 2 else Sex.MALE,
            birth_date=dt.date(1931 + n, 7, 13),
            ethnicity=Ethnicity.E03,
            region_code=village,
            address=f"金丝雀路{n + 71}号",
            phone=f"1390713{n:04d}",
            # The first and the last share a household across townships (a member registered elsewhere).
            household_id="HCANARY2" if n == 1 else "HCANARY1",
            relation=Relation.HEAD if n == 0 else Relation.SPOUSE,
            tags=[Tag.DISABLED, Tag.LOW_INCOME, Tag.ELDERLY, Tag.MIGRANT_WORKER],
            employment_status=EmploymentStatus.FLEXIBLE,
        )
        docs[res.id] = res.model_dump(mode="json")
        # The change feed reports it: every field changed (the feed must show only what the caller may see).
        with engine.begin() as conn:
            conn.execute(
                insert(ChangeRow.__table__).values(  # type: ignore[attr-defined]
                    resource="resident",
                    record_id=res.id,
                    change="updated",
                    event="resident.updated",
                    fields=orjson.dumps(sorted(docs[res.id])).decode(),
                    status="active",
                    regions=village,
                    tags=orjson.dumps([t.value for t in res.tags]).decode(),
                    resident_id=res.id,
                    changed_at=dt.datetime.now(dt.UTC),
                )
            )
    return docs, households


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[World]:
    """Start the app over a store with the demo clients, the canaries and the statistics county."""
    tmp = tmp_path_factory.mktemp("disclosure")
    url = sqlite_copy(_sqlite_template, tmp / "gateway.db")
    # The shipped policy, with rate limits lifted: the crawl is thousands of requests.
    policy_dir = tmp / "policy"
    shutil.copytree(SHIPPED, policy_dir, ignore=shutil.ignore_patterns("tests"))
    (policy_dir / "rate_limits.yaml").write_text(
        "default: {requests_per_minute: 1000000, records_per_day: 100000000}\n", encoding="utf-8"
    )
    engine = make_sync_engine(url)
    factories.county(engine)
    stats_data.populate(engine)
    residents, households = _plant(engine)
    clients = {c.client_id: (c.department, c.region, list(c.scopes)) for c in SHIFAN.clients}
    for cid, (dept, region, scopes) in clients.items():
        register(engine, client_id=cid, department=dept, region_code=region, scopes=scopes)
    engine.dispose()
    settings = Settings(database_url=url, db_pool_size=4, policy_dir=policy_dir)  # type: ignore[call-arg]
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        app: Any = tc.app
        yield World(tc, app.state.runtime.policy.engine, clients, url, residents, households)


__all__ = ["World", "today_cn"]
