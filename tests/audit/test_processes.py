"""Real server processes: several writers on one PostgreSQL; kill -9 under load loses nothing answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from gateway.audit.verify import verify_store
from store.engines import make_sync_engine
from tests.audit.support import make_key
from tests.support.pgcluster import free_port

REPO = Path(__file__).resolve().parents[2]
PER_THREAD = 50  # requests of each of the 12 client threads (4 per server) in the three-process test


@contextmanager
def servers(
    url: str, tmp: Path, count: int, *, extra_env: dict[str, str] | None = None
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """Start `count` uvicorn processes of the app on one store; stop (SIGKILL if needed) at exit."""
    make_key(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        PYTHONPATH=str(REPO),
        GATEWAY_DATABASE_URL=url,
        GATEWAY_AUDIT_KEY_FILE=str(tmp / "audit-key.pem"),
        GATEWAY_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        GATEWAY_DB_POOL_SIZE="4",
        GATEWAY_AUDIT_CHECKPOINT_EVERY="200",
    )
    env.update(extra_env or {})
    procs: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for i in range(count):
            if i == 1:  # the first start created the shared keys: the others may start together
                for j, (proc, base) in enumerate(procs):
                    _wait(base, proc, tmp / f"server{j}.log")
            port = free_port()
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            log = (tmp / f"server{i}.log").open("wb")
            proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
            procs.append((proc, f"http://127.0.0.1:{port}"))
        for i, (proc, base) in enumerate(procs):
            _wait(base, proc, tmp / f"server{i}.log")
        yield procs
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _hammer(base: str, n: int, out: list[tuple[int, str, str]], errors: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=10) as c:
        for i in range(n):
            try:
                r = c.get("/v1/regions" if i % 2 else "/v1/residents/R00000000001")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                return
            out.append((r.status_code, r.headers.get("x-audit-seq", ""), r.headers.get("x-trace-id", "")))


@pytest.mark.postgres
def test_three_processes_one_linear_log(pg_url: str, tmp_path: Path) -> None:
    answered: list[tuple[int, str, str]] = []
    errors: list[str] = []
    # Checkpoints every 100 events: 600 answered requests are signed in several checkpoints by the three.
    with servers(pg_url, tmp_path, 3, extra_env={"GATEWAY_AUDIT_CHECKPOINT_EVERY": "100"}) as procs:
        threads = [
            threading.Thread(target=_hammer, args=(base, PER_THREAD, answered, errors))
            for _, base in procs
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert len(answered) == 3 * 4 * PER_THREAD
    assert all(seq for _, seq, _ in answered), "every answer names its committed event"
    engine = make_sync_engine(pg_url)
    try:
        with engine.connect() as conn:
            seqs = [r[0] for r in conn.execute(text("SELECT seq FROM audit_event ORDER BY seq"))]
        assert len(seqs) == len(answered)  # one event per answered request, none extra
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no fork
        assert sorted(int(s) for _, s, _ in answered) == seqs
        report = verify_store(engine)
        assert report.ok, report.finding
        # Signed by several processes, one tree, at least every 100 events of the shared log (a checkpoint
        # may take in a few events committed while it is signed; the last may land exactly at the end).
        assert report.checkpoints >= len(seqs) // 100 - 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_kill_9_under_load_loses_no_answered_event(store_url: str, tmp_path: Path) -> None:
    url = store_url
    answered: list[tuple[int, str, str]] = []
    errors: list[str] = []
    with servers(url, tmp_path, 1) as procs:
        proc, base = procs[0]
        threads = [threading.Thread(target=_hammer, args=(base, 10_000, answered, errors)) for _ in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        for t in threads:
            t.join(timeout=30)
    assert len(answered) >= 300 and errors, "the load ran and the kill cut it off"
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT seq, trace_id FROM audit_event")).all())
        for _status, seq, trace in answered:
            assert stored.get(int(seq)) == trace, f"answered request's event {seq} is missing"
        report = verify_store(engine)
        assert report.ok, report.finding
    finally:
        engine.dispose()
