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
from gateway.audit.verify import verify_store
from tests.audit.support import make_key, run, write_events

NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=400)


def test_archive_then_verify(store_url: str, store_engine: Engine, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    run(write_events(store_url, 250, key=key, batch=50, checkpoint_every=100, when=OLD))
    run(write_events(store_url, 60, key=key, batch=30, seed=8, when=NOW))
    with pytest.raises(ArchiveRefused):  # inside the 180-day retention
        archive(
            store_engine,
            before=NOW - dt.timedelta(days=10),
            out=tmp_path / "a.jsonl",
            key=key,
            retention_days=180,
            now=NOW,
        )
    result = archive(
        store_engine,
        before=NOW - dt.timedelta(days=200),
        out=tmp_path / "a.jsonl",
        key=key,
        retention_days=180,
        now=NOW,
    )
    # Ends at the last checkpoint before the date (the writer signed one at 250 after the old events).
    assert (result.from_seq, result.through_seq) == (1, 250)
    with store_engine.connect() as conn:
        assert conn.execute(text("SELECT min(seq), count(*) FROM audit_event")).one() == (251, 60)
    report = verify_store(store_engine)
    assert report.ok, report.finding
    assert report.first_seq == 251 and report.events == 60
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


def test_cli_verify_names_the_event(sqlite_url: str, store_engine: Engine, tmp_path: Path) -> None:
    run(write_events(sqlite_url, 40, key=make_key(tmp_path)))
    env = {**os.environ, "GATEWAY_DATABASE_URL": sqlite_url}
    cmd = [sys.executable, "-c", "from gateway.cli import app; app()", "audit", "verify"]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert ok.returncode == 0 and "OK: store: 40 events" in ok.stdout, ok.stderr
    from gateway.db import make_sync_engine

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
