"""A resident's disclosure report says which period it covers and includes mounted archives."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.audit.archive import archive
from gateway.audit.checkpoints import AuditKey
from gateway.audit.events import AuditEvent, format_time
from gateway.audit.sequencer import open_sequencer
from gateway.settings import Settings
from tests.audit.support import make_key
from tests.auth.helpers import auth_settings, fetch_token, register

OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)


def _read(when: dt.datetime) -> AuditEvent:
    return AuditEvent(
        time=when,
        client_id="civil-affairs",
        department="civil_affairs",
        purpose="social-assistance-review",
        method="GET",
        route="/v1/residents/{resident_id}",
        resource="resident",
        record_ids=["RES1"],
        fields_disclosed=["name"],
    )


async def _log(url: str, *, key: AuditKey, n: int, when: dt.datetime) -> None:
    seq = await open_sequencer(url)
    try:
        await seq.publish_key(key)
        await seq.append([_read(when) for _ in range(n)])
        await seq.checkpoint(key, every=1, seconds=0)
    finally:
        await seq.close()


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # backend-neutral


@pytest.mark.parametrize("mounted", [True, False])
def test_the_report_covers_the_store_and_mounted_archives(
    sqlite_url: str, store_engine: Engine, tmp_path: Path, mounted: bool
) -> None:
    key = make_key(tmp_path)
    asyncio.run(_log(sqlite_url, key=key, n=10, when=OLD))
    archives = tmp_path / "archives"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4 * 366)
    settings = Settings(
        database_url=sqlite_url, audit_archive_dir=archives, audit_key_file=tmp_path / "audit-key.pem"
    )
    archive(store_engine, settings=settings, key=key, now=later, before=OLD + dt.timedelta(days=1))
    asyncio.run(_log(sqlite_url, key=key, n=2, when=dt.datetime.now(dt.UTC)))
    counter, secret = register(store_engine, scopes=["disclosures:read"], department="service_centre")
    assert secret
    app_settings = auth_settings(
        sqlite_url,
        audit_key_file=tmp_path / "audit-key.pem",
        audit_archive_dir=archives if mounted else tmp_path / "elsewhere",
    )
    with TestClient(create_app(app_settings)) as tc:
        headers = {"Authorization": f"Bearer {fetch_token(tc, counter, secret)}"}
        first = tc.get("/v1/residents/RES1/disclosures", params={"limit": 5}, headers=headers).json()
        body = first
        items = list(first["items"])
        while body["next"]:
            body = tc.get(
                "/v1/residents/RES1/disclosures", params={"limit": 5, "cursor": body["next"]}, headers=headers
            ).json()
            items += body["items"]
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    period = first["period"]
    if mounted:
        assert len(items) == 12 and period["archives_included"] == 1
        assert period["from"] == format_time(OLD) and not period["archived_events_missing"]
    else:
        assert len(items) == 2 and period["archives_included"] == 0
        assert period["archived_events_missing"] and period["from"] > format_time(OLD)
