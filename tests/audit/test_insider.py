"""An insider with write access to the store rewrites the log; a pinned key and a witness expose it.

Each rewrite passes the store-only verify (what `gateway audit verify` did before witnesses), and is
caught by `verify_store(trust=...)`: the signing key pinned outside the store and the checkpoints
the writer copied into an append-only witness directory while the log was written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from click.testing import Result
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from gateway.audit.archive import _signed_trailer, archive, verify_archive
from gateway.audit.archives import store_manifests, verify_archives
from gateway.audit.chain import link
from gateway.audit.checkpoints import AuditKey, load_or_create_key
from gateway.audit.sequencer import open_sequencer
from gateway.audit.trust import Trust
from gateway.audit.verify import Report, verify_store
from gateway.audit.witness import DirectoryWitness, read_witnesses
from gateway.audit.writer import AuditWriter, WriterOptions
from gateway.cli import app as gateway_cli
from gateway.settings import Settings, get_settings
from tests.audit.support import make_key, run, sample_event, write_events

WITNESSED = 300  # events written through the writer; checkpoints (and witnesses) every 100
TAIL = 5  # events appended after the last checkpoint (not yet covered)


@dataclass
class Log:
    """A store with a witnessed log, its key, and the witness directory."""

    url: str
    engine: Engine
    key: AuditKey
    witness_dir: Path

    def trust(self, **bounds: object) -> Trust:
        """Return what a careful auditor holds: the pinned public key and the witnessed checkpoints."""
        return Trust(
            keys={self.key.key_id: self.key.public_raw},
            witnessed=read_witnesses([self.witness_dir]),
            **bounds,  # type: ignore[arg-type]
        )


async def _write(url: str, *, key: AuditKey, witness_dir: Path) -> None:
    rng = random.Random(13)
    seq = await open_sequencer(url)
    writer = AuditWriter(
        seq,
        key=key,
        options=WriterOptions(checkpoint_every=100, checkpoint_seconds=3600),
        witnesses=(DirectoryWitness(witness_dir),),
    )
    await writer.start()
    for start in range(0, WITNESSED, 50):
        await asyncio.gather(*(writer.append(sample_event(start + i, rng=rng)) for i in range(50)))
    await writer.close()
    tail = await open_sequencer(url)
    try:
        await tail.append([sample_event(WITNESSED + i, rng=rng) for i in range(TAIL)])
    finally:
        await tail.close()


@pytest.fixture
def log(store_url: str, store_engine: Engine, tmp_path: Path) -> Log:
    """Return a store holding a witnessed log of WITNESSED events plus TAIL uncovered ones."""
    key = make_key(tmp_path)
    witness_dir = tmp_path / "witness"
    asyncio.run(_write(store_url, key=key, witness_dir=witness_dir))
    return Log(store_url, store_engine, key, witness_dir)


def _rechain(conn: Connection, *, start: int) -> None:
    """Recompute every chain hash from `start` on and move the head: what a careful insider does."""
    prev = bytes(
        conn.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": start - 1}).scalar_one()
    )
    last = start - 1
    for seq, body in conn.execute(
        text("SELECT seq, body FROM audit_event WHERE seq >= :s ORDER BY seq"), {"s": start}
    ).all():
        _, prev = link(prev, bytes(body))
        conn.execute(text("UPDATE audit_event SET hash = :h WHERE seq = :s"), {"h": prev, "s": seq})
        last = seq
    conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": last, "h": prev})


def _flip_decision(conn: Connection, seq: int) -> None:
    body = bytes(conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": seq}).scalar_one())
    new = "deny" if b'"decision":"allow"' in body else "allow"
    flipped = body.replace(b'"decision":"allow"', b'"decision":"x"').replace(
        b'"decision":"deny"', b'"decision":"x"'
    )
    flipped = flipped.replace(b'"decision":"x"', f'"decision":"{new}"'.encode())
    conn.execute(  # the filter column too, so nothing but the witness can tell
        text("UPDATE audit_event SET body = :b, decision = :d WHERE seq = :s"),
        {"b": flipped, "d": new, "s": seq},
    )


def _clean(report: Report) -> None:
    assert report.ok, report.finding


@pytest.mark.backends
def test_the_untouched_log_verifies_with_its_uncovered_tail_reported(log: Log) -> None:
    assert len(read_witnesses([log.witness_dir])) == 3  # checkpoints 100, 200, 300 were witnessed
    report = verify_store(log.engine, trust=log.trust())
    _clean(report)
    assert any(f"{TAIL} events after checkpoint {WITNESSED}" in n for n in report.notes), report.notes
    assert not any("only holds against accidental damage" in n for n in report.notes)
    unpinned = verify_store(log.engine)
    assert any("only holds against accidental damage" in n for n in unpinned.notes)


def _truncate_at_200(log: Log) -> None:
    """Cut the log after event 200 with its checkpoints, and point the head at 200: a consistent store."""
    with log.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event_record WHERE seq > 200"))
        conn.execute(text("DELETE FROM audit_event WHERE seq > 200"))
        conn.execute(text("DELETE FROM audit_checkpoint WHERE tree_size > 200"))
        h = conn.execute(text("SELECT hash FROM audit_event WHERE seq = 200")).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = 200, hash = :h WHERE id = 1"), {"h": h})


@pytest.mark.backends
def test_truncating_the_tail_with_its_checkpoints_and_head_is_named(log: Log) -> None:
    _truncate_at_200(log)
    _clean(verify_store(log.engine))  # the store alone cannot tell
    found = verify_store(log.engine, trust=log.trust()).finding
    assert found is not None and found.kind == "truncated" and found.seq == 201, found
    assert "events 201..300 were removed" in found.detail


def test_rebuilding_the_chain_without_checkpoints_is_named(log: Log) -> None:
    with log.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoint"))
        _flip_decision(conn, 123)
        _rechain(conn, start=123)
    _clean(verify_store(log.engine))
    found = verify_store(log.engine, trust=log.trust()).finding
    assert found is not None and found.kind == "rebuilt", found
    assert found.seq == 101 and "events 101..200 no longer reproduce checkpoint 200" in found.detail


def test_replacing_the_key_and_re_signing_is_named(log: Log, tmp_path: Path) -> None:
    (tmp_path / "evil").mkdir()
    evil = make_key(tmp_path / "evil")
    with log.engine.begin() as conn:
        _flip_decision(conn, 50)
        _rechain(conn, start=50)
        conn.execute(text("DELETE FROM audit_checkpoint"))
        conn.execute(text("DELETE FROM audit_key"))

    async def resign() -> None:
        seq = await open_sequencer(log.url)
        try:
            await seq.publish_key(evil)
            await seq.checkpoint(evil, every=1, seconds=0)
        finally:
            await seq.close()

    asyncio.run(resign())
    _clean(verify_store(log.engine))  # trusts the key it reads from the same store
    found = verify_store(log.engine, trust=log.trust()).finding
    assert found is not None and found.kind == "re-signed", found
    assert evil.key_id in found.detail


def _fork_at_300(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_checkpoint WHERE tree_size > 200"))
    conn.execute(text("DELETE FROM audit_event_record WHERE seq > 300"))
    conn.execute(text("DELETE FROM audit_event WHERE seq > 300"))
    _flip_decision(conn, 250)
    _rechain(conn, start=250)


def test_a_fork_signed_with_the_real_key_is_named(log: Log) -> None:
    with log.engine.begin() as conn:
        _fork_at_300(conn)

    async def resign() -> None:
        seq = await open_sequencer(log.url)
        try:
            await seq.checkpoint(log.key, every=1, seconds=0)  # someone holding the key signs the new head
        finally:
            await seq.close()

    asyncio.run(resign())
    _clean(verify_store(log.engine))
    found = verify_store(log.engine, trust=log.trust()).finding
    assert found is not None and found.kind == "fork" and found.seq == 300, found
    assert "forked after it was witnessed" in found.detail


def test_two_witnessed_heads_of_one_size_are_a_fork(log: Log, tmp_path: Path) -> None:
    with log.engine.begin() as conn:
        _fork_at_300(conn)

    async def resign() -> None:
        seq = await open_sequencer(log.url)
        try:
            cp = await seq.checkpoint(log.key, every=1, seconds=0)
        finally:
            await seq.close()
        assert cp is not None and cp.tree_size == 300
        DirectoryWitness(log.witness_dir).witness(cp)  # the forked head reaches the witness too

    asyncio.run(resign())
    assert len(list(log.witness_dir.iterdir())) == 4  # the first note is kept, never rewritten
    found = verify_store(log.engine, trust=log.trust()).finding
    assert found is not None and found.kind == "fork" and found.seq == 300, found


def test_changing_the_uncovered_tail_is_reported_and_fails_past_the_bound(log: Log) -> None:
    with log.engine.begin() as conn:
        _flip_decision(conn, WITNESSED + 3)
        _rechain(conn, start=WITNESSED + 3)
    within = verify_store(log.engine, trust=log.trust(max_uncovered_events=10, max_uncovered_seconds=3600))
    _clean(within)  # a change after the last checkpoint cannot be seen: verify says how much is exposed
    assert any(f"{TAIL} events after checkpoint {WITNESSED} are not covered" in n for n in within.notes)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    found = verify_store(
        log.engine, trust=log.trust(max_uncovered_events=10, max_uncovered_seconds=3600, now=later)
    ).finding
    assert found is not None and found.kind == "uncovered" and found.seq == WITNESSED + 1, found
    assert "3600" in found.detail
    found = verify_store(log.engine, trust=log.trust(max_uncovered_events=3)).finding
    assert found is not None and found.kind == "uncovered" and "bound of 3 events" in found.detail


def test_a_witness_note_not_signed_by_the_pinned_key_is_refused(log: Log, tmp_path: Path) -> None:
    trust = log.trust()
    (tmp_path / "evil").mkdir()
    evil = make_key(tmp_path / "evil")
    trust.keys = {evil.key_id: evil.public_raw}
    found = verify_store(log.engine, trust=trust).finding
    assert found is not None and found.kind in {"re-signed", "witness"}, found


OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)


@pytest.fixture
def archived(store_url: str, store_engine: Engine, tmp_path: Path) -> tuple[Engine, list[Path]]:
    """Return a store whose events 1..100 and 101..200 went into two archives (manifests in the log)."""
    key = make_key(tmp_path)
    run(write_events(store_url, 100, key=key, batch=50, when=OLD))
    run(write_events(store_url, 100, key=key, batch=50, seed=8, when=OLD + dt.timedelta(days=40)))
    run(write_events(store_url, 20, key=key, seed=9))
    settings = Settings(
        database_url=store_url,
        audit_archive_dir=tmp_path / "archives",
        audit_key_file=tmp_path / "audit-key.pem",
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4 * 366)  # past every retention floor
    paths = [
        archive(store_engine, settings=settings, key=key, now=later, before=OLD + dt.timedelta(days=d)).path
        for d in (1, 41)
    ]
    return store_engine, paths


def _check(engine: Engine, paths: list[Path]) -> Report:
    base, recorded = store_manifests(engine)
    return verify_archives(paths, store_base=base, recorded=recorded)


def test_deleting_an_archive_is_named(archived: tuple[Engine, list[Path]]) -> None:
    engine, (a1, a2) = archived
    _clean(_check(engine, [a1, a2]))
    _clean(verify_store(engine))
    found = _check(engine, [a1]).finding  # a2 deleted
    assert found is not None and found.kind == "archive-missing" and a2.name in found.detail, found
    found = _check(engine, [a2]).finding  # a1 deleted
    assert found is not None and found.kind == "archive-missing" and a1.name in found.detail, found


def test_every_archive_given_is_checked_and_a_replaced_one_is_named(
    archived: tuple[Engine, list[Path]], tmp_path: Path
) -> None:
    engine, (a1, a2) = archived
    lines = a1.read_bytes().splitlines(keepends=True)
    a1.write_bytes(b"".join([*lines[:5], lines[5].replace(b'"GET"', b'"PUT"'), *lines[6:]]))
    found = _check(engine, [a1, a2]).finding  # the first of two is checked too, not only the last
    assert found is not None and found.kind == "archive", found
    # Replaced by an archive that verifies on its own (someone holding the key re-signed it): the
    # manifest recorded in the log names it.
    header = orjson.loads(lines[0])
    header["note"] = "replaced"
    body = [orjson.dumps(header) + b"\n", *lines[1:-1]]
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    key = load_or_create_key(tmp_path / "audit-key.pem")
    a1.write_bytes(b"".join([*body, _signed_trailer(digest, key) + b"\n"]))
    assert verify_archive(a1).ok
    found = _check(engine, [a1, a2]).finding
    assert found is not None and found.kind == "archive-replaced" and a1.name in found.detail, found


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Return a runner of `gateway` against the test's store (set GATEWAY_DATABASE_URL first)."""
    runner = CliRunner()

    def invoke(url: str, *args: str) -> Result:
        monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
        monkeypatch.delenv("GATEWAY_AUDIT_KEY_FILE", raising=False)
        get_settings.cache_clear()
        return runner.invoke(gateway_cli, list(args))

    yield invoke
    get_settings.cache_clear()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_cli_names_truncation_with_a_pinned_key_and_witness(
    log: Log, cli: Callable[..., Result], tmp_path: Path
) -> None:
    pub = tmp_path / "audit.pub"
    pub.write_bytes(
        log.key.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    args = ["audit", "verify", "--trusted-key", str(pub), "--witness", str(log.witness_dir)]
    ok = cli(log.url, *args)
    assert ok.exit_code == 0, ok.output
    _truncate_at_200(log)
    unpinned = cli(log.url, "audit", "verify")
    assert unpinned.exit_code == 0 and "only holds against accidental damage" in unpinned.output
    bad = cli(log.url, *args)
    # (each verify run appended its own event: the store now ends at 202)
    assert bad.exit_code == 1 and "truncated: checkpoint 300 witnessed" in bad.output, bad.output
    assert "events 203..300 were removed" in bad.output


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_cli_checks_every_archive_given(
    archived: tuple[Engine, list[Path]], store_url: str, cli: Callable[..., Result]
) -> None:
    _, (a1, a2) = archived
    ok = cli(store_url, "audit", "verify", "--archive", str(a1), "--archive", str(a2))
    assert ok.exit_code == 0 and "OK: 2 archives" in ok.output, ok.output
    lines = a1.read_bytes().splitlines(keepends=True)
    a1.write_bytes(b"".join([*lines[:5], lines[5].replace(b'"GET"', b'"PUT"'), *lines[6:]]))
    first_bad = cli(store_url, "audit", "verify", "--archive", str(a1), "--archive", str(a2))
    assert first_bad.exit_code == 1 and "archive" in first_bad.output, first_bad.output
    missing = cli(store_url, "audit", "verify", "--archive", str(a2))
    assert missing.exit_code == 1 and f"archive-missing: archive {a1.name}" in missing.output, missing.output
