"""Retention: a signed archive of old events; the store still verifies from the archive's checkpoint."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.audit.archive import ArchiveRefused, archive, verify_archive
from gateway.audit.retention import access_floor, months_before, provision_floor
from gateway.audit.verify import verify_store
from gateway.settings import Settings
from store.engines import make_sync_engine
from tests.audit.support import make_key, run, write_events

NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=400)


def _settings(url: str, tmp: Path) -> Settings:
    return Settings(
        database_url=url, audit_archive_dir=tmp / "archives", audit_key_file=tmp / "audit-key.pem"
    )


@pytest.mark.backends
def test_archive_then_verify(store_url: str, store_engine: Engine, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    settings = _settings(store_url, tmp_path)
    run(write_events(store_url, 250, key=key, batch=50, checkpoint_every=100, when=OLD))
    run(write_events(store_url, 60, key=key, batch=30, seed=8, when=NOW))
    with pytest.raises(ArchiveRefused, match="6 calendar months"):
        archive(store_engine, settings=settings, before=NOW - dt.timedelta(days=10), key=key, now=NOW)
    # The old events disclosed records to departments: 3 calendar years apply to them.
    with pytest.raises(ArchiveRefused, match="younger than 3 calendar years"):
        archive(store_engine, settings=settings, before=NOW - dt.timedelta(days=200), key=key, now=NOW)
    later = NOW + dt.timedelta(days=3 * 366)
    result = archive(store_engine, settings=settings, before=NOW - dt.timedelta(days=200), key=key, now=later)
    # Ends at the last checkpoint before the date (the writer signed one at 250 after the old events).
    assert (result.from_seq, result.through_seq) == (1, 250)
    with store_engine.connect() as conn:
        assert conn.execute(text("SELECT min(seq), count(*) FROM audit_event")).one() == (251, 61)
        route = conn.execute(text("SELECT route FROM audit_event WHERE seq = :s"), {"s": result.manifest_seq})
        assert route.scalar_one() == "audit archive"  # the manifest is in the log
    report = verify_store(store_engine)
    assert report.ok, report.finding
    assert report.first_seq == 251 and report.events == 61
    assert verify_archive(result.path).ok
    # A modified archive is caught; tampering after the base is still named in the store.
    lines = result.path.read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b'"GET"', b'"PUT"')
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines))
    assert not verify_archive(tmp_path / "b.jsonl").ok
    with store_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 280"))
    finding = verify_store(store_engine).finding
    assert finding is not None and (finding.seq, finding.kind) == (280, "deleted")


def test_floors_are_calendar_months_and_years() -> None:
    march = dt.datetime(2026, 8, 31, 12, tzinfo=dt.UTC)
    assert access_floor(march) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)  # not 180 days (Mar 4)
    assert provision_floor(dt.datetime(2028, 2, 29, tzinfo=dt.UTC)) == dt.datetime(2025, 2, 28, tzinfo=dt.UTC)
    assert months_before(dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 6) == dt.datetime(
        2025, 7, 15, tzinfo=dt.UTC
    )


def test_an_override_is_itself_audited(sqlite_url: str, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    run(write_events(sqlite_url, 20, key=key, when=NOW - dt.timedelta(days=30)))
    engine = make_sync_engine(sqlite_url)
    try:
        settings = _settings(sqlite_url, tmp_path)
        result = archive(
            engine, settings=settings, before=NOW, key=key, now=NOW, override="court order 2026-17"
        )
        with engine.connect() as conn:
            reason, body = conn.execute(
                text("SELECT reason, body FROM audit_event WHERE route = 'audit archive override'")
            ).one()
        assert reason == "court order 2026-17" and b"6 calendar months" in bytes(body)
        assert result.through_seq == 20
    finally:
        engine.dispose()


def test_cli_verify_names_the_event(sqlite_url: str, store_engine: Engine, tmp_path: Path) -> None:
    run(write_events(sqlite_url, 40, key=make_key(tmp_path)))
    env = {**os.environ, "GATEWAY_DATABASE_URL": sqlite_url}
    cmd = [sys.executable, "-c", "from gateway.cli import app; app()", "audit", "verify"]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert ok.returncode == 0 and "OK: store: 41 events" in ok.stdout, ok.stderr  # its own event too
    engine = make_sync_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET body = replace(body, 'GET', 'PUT') WHERE seq = 17"))
    engine.dispose()
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "event 17 modified" in bad.stderr, bad.stderr


def test_cli_admin_actions_are_audited(store_url: str, store_engine: Engine) -> None:
    from gateway.audit.direct import record_admin_action

    seq = record_admin_action(store_url, action="clients.disable", target="client-7")
    with store_engine.connect() as conn:
        kind, route = conn.execute(
            text("SELECT kind, route FROM audit_event WHERE seq = :s"), {"s": seq}
        ).one()
    assert (kind, route) == ("admin", "clients.disable")
    assert verify_store(store_engine).ok
