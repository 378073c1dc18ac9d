"""`gateway audit verify`: recompute every hash, root and signature; name the first event that is wrong.

Checks, in order (docs/audit-verification.md): published keys and checkpoint signatures; the archive
base; then each event in sequence order: no gap (deleted), the body's own seq (reordered or
inserted), the chain hash, canonical form, the filter columns and the record index against the body,
and the Merkle root and chain hash at every checkpoint; finally the head row and the tail.
"""

from __future__ import annotations

import hashlib
import operator
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Engine

from gateway.audit.anchors import Marks, StoredCheckpoints, check_tail
from gateway.audit.batch import COLUMNS, Base, columns_of, index_ids
from gateway.audit.events import format_time
from gateway.audit.findings import Failed, Finding, Report, failed
from gateway.audit.trust import UNPINNED_NOTE, Trust, timestamp_problem, truncated, witness_problems
from gateway.audit.verify_batch import Doubt, Spans, Walk, batched_events
from gateway.audit.verify_parallel import parallel_spans, workers_for

FETCH = 20_000
# Fast path: stored columns equal the body's values unless a value was clipped to its column width.
_COLUMN_GETTER = operator.itemgetter(*COLUMNS)
WINDOW = 4096  # recent chain hashes kept to tell an insertion from a modification


def _bytes(value: Any) -> bytes:
    # A tamperer's UPDATE may turn a BLOB into TEXT (SQLite's replace()); still compare the bytes.
    return value.encode() if isinstance(value, str) else bytes(value)


def _columns_match(cols: tuple[Any, ...], doc: dict[str, Any]) -> bool:
    try:
        if cols == _COLUMN_GETTER(doc):
            return True
    except KeyError:
        return False
    return cols == columns_of(doc)


def _ts_text(value: Any) -> str:
    # PostgreSQL returns datetimes; SQLite returns SQLAlchemy's naive-UTC text.
    if isinstance(value, str):
        return value.replace(" ", "T") + "Z"
    return format_time(value)


def _rows(
    dbapi: Any, sql: str, params: tuple[Any, ...], *, postgres: bool, name: str
) -> Iterator[tuple[Any, ...]]:
    # A server-side cursor on PostgreSQL streams millions of rows in constant memory.
    cur = dbapi.cursor(name=name) if postgres else dbapi.cursor()
    if postgres:
        cur.itersize = FETCH
        sql = sql.replace("?", "%s")
    cur.execute(sql, params)
    while batch := cur.fetchmany(FETCH):
        yield from batch
    cur.close()


def verify_store(
    engine: Engine,
    *,
    progress: Callable[[int], None] | None = None,
    trust: Trust | None = None,
    batched: bool = True,
    workers: int | None = None,
) -> Report:
    """Verify the audit log in the store behind `engine`; stop at the first finding.

    With `trust`, checkpoints must be signed by its pinned keys, the events must reproduce every
    witnessed checkpoint, and the events after the last checkpoint must stay within its bound.
    The events are checked a batch at a time (verify_batch.py), event by event where that doubts
    or with `batched=False`; a large log by `workers` processes (default: up to 4 cores from 200,000
    events, verify_parallel.py).
    """
    report = Report(walk="batched" if batched else "exact")
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        dbapi: Any = raw.dbapi_connection
        try:
            at = Walk(dbapi=dbapi, report=report, postgres=postgres, progress=progress, url=_url(engine))
            _walk(replace(at, workers=workers), trust=trust)
        except Failed as failed:
            report.finding = failed.finding
    finally:
        raw.rollback()
        raw.close()
    report.seconds = time.perf_counter() - started
    return report


def _one(dbapi: Any, sql: str, *, postgres: bool) -> list[tuple[Any, ...]]:
    cur = dbapi.cursor()
    cur.execute(sql)
    rows = list(cur.fetchall())
    cur.close()
    return rows


def _url(engine: Engine) -> str | None:
    """Return the URL workers can open the store at (None for an in-memory SQLite store)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and (url.database in (None, "", ":memory:") or url.query):
        return None
    return url.render_as_string(hide_password=False)


def _walk(at: Walk, *, trust: Trust | None) -> None:
    """Check keys, checkpoints, the archive base, every event, the head and the tail, in that order."""
    dbapi, report, postgres = at.dbapi, at.report, at.postgres
    cps = _checkpoints(dbapi, report, trust=trust, postgres=postgres)
    head_seq, head_hash, base = _archive_base(dbapi, cps, report, postgres=postgres)
    pending = [r for r in cps.rows if r[0] > base.size]
    report.first_seq = base.size + 1
    marks = Marks(
        cps,
        [w for w in (trust.witnessed if trust else []) if w.checkpoint.tree_size > base.size],
        last_cp=base.size,
    )
    if trust is not None and len(marks.pending) < len(trust.witnessed):
        report.notes.append(
            f"witnessed checkpoints up to {base.size} precede the archive base: verify the archives for them"
        )
    expected_last, last_hash = _all_events(replace(at, base=base, pending=pending, marks=marks))
    if marks.pending:
        raise failed(truncated(marks.pending[0], store_last=expected_last))
    if pending:
        size = pending[0][0]
        raise Failed(
            Finding(
                expected_last + 1,
                "deleted",
                f"checkpoint {size} signs events up to {size}; the store ends at {expected_last}",
            )
        )
    if expected_last != head_seq or last_hash != head_hash:
        kind = "deleted" if expected_last < head_seq else "inserted"
        seq = expected_last + 1 if expected_last < head_seq else head_seq + 1
        raise Failed(
            Finding(seq, kind, f"the chain head says {head_seq} events; the store ends at {expected_last}")
        )
    if trust is not None:
        check_tail(dbapi, report, trust=trust, anchor=max(marks.last_cp, marks.matched), postgres=postgres)


def _all_events(walk: Walk) -> tuple[int, bytes]:
    """Walk the events batch by batch; on any doubt walk them again event by event to name the finding."""
    if walk.report.walk == "exact":
        return _events(walk)
    fast = walk.fork()
    try:
        found = batched_events(fast, spans=_parallel(fast))
    except Doubt:
        walk.report.walk = "exact"
        if walk.postgres:
            walk.dbapi.rollback()  # close the fast walk's server-side cursor before reading again
        return _events(walk)
    walk.adopt(fast)
    return found


def _parallel(walk: Walk) -> Spans | None:
    """Return the events as spans checked by worker processes, or None to check them here."""
    events = _one(walk.dbapi, "SELECT max(seq) FROM audit_event", postgres=walk.postgres)[0][0] or 0
    if walk.url is None or workers_for(events - walk.base.size, asked=walk.workers) < 2:
        return None
    first = walk.base.size + 1
    n = workers_for(events - walk.base.size, asked=walk.workers)
    return parallel_spans(
        walk.url, postgres=walk.postgres, first=first, prev=walk.base.chain, last=events, workers=n
    )


def _checkpoints(dbapi: Any, report: Report, *, trust: Trust | None, postgres: bool) -> StoredCheckpoints:
    """Read the checkpoints and check their signatures, the witnesses' and the time-stamps."""
    keys = {
        k: bytes(p) for k, p in _one(dbapi, "SELECT key_id, public_key FROM audit_key", postgres=postgres)
    }
    cps = StoredCheckpoints(
        _one(
            dbapi,
            "SELECT tree_size, ts, root_hash, chain_hash, key_id, body, signature, frontier "
            "FROM audit_checkpoint ORDER BY tree_size",
            postgres=postgres,
        ),
        keys,
    )
    if trust is None or not trust.pinned:
        report.notes.append(UNPINNED_NOTE)
    cps.check_signatures(trust)
    if trust is not None:
        if problem := witness_problems(trust):
            raise failed(problem)
        stamped, problem = timestamp_problem(trust)
        if problem:
            raise failed(problem)
        if stamped:
            report.notes.append(stamped)
    report.checkpoints = len(cps.rows)
    return cps


def _archive_base(
    dbapi: Any, cps: StoredCheckpoints, report: Report, *, postgres: bool
) -> tuple[int, bytes, Base]:
    """Return the head's seq and hash and the base events are verified from (a signed checkpoint)."""
    head_seq, head_hash, base_seq, base_hash, base_frontier = _one(
        dbapi,
        "SELECT seq, hash, base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1",
        postgres=postgres,
    )[0]
    base = Base.stored(base_seq, bytes(base_hash), base_frontier)
    if base_seq:
        anchor = [r for r in cps.rows if r[0] == base_seq]
        if not anchor or bytes(anchor[0][3]) != base.chain or base.frontier.root() != bytes(anchor[0][2]):
            raise Failed(
                Finding(
                    base_seq, "archive-base", f"the archive base at {base_seq} is not a signed checkpoint"
                )
            )
        report.notes.append(f"events 1..{base_seq} are archived; verified from checkpoint {base_seq}")
    return head_seq, bytes(head_hash), base


class _RecordIndex:
    """The record index (audit_event_record), read in seq order alongside the events."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def ids_of(self, seq: int) -> list[str]:
        """Return the record ids indexed for event `seq`; raise when the index names a missing event."""
        ids: list[str] = []
        rec = self._next
        while rec is not None and rec[0] <= seq:
            if rec[0] < seq:
                raise Failed(
                    Finding(rec[0], "index", f"record index names event {rec[0]}, which is not there")
                )
            ids.append(rec[1])
            rec = next(self._rows, None)
        self._next = rec
        return ids

    def finish(self) -> None:
        """Raise when the index names events after the last one."""
        if self._next is not None:
            seq = self._next[0]
            raise Failed(Finding(seq, "index", f"record index names event {seq}, which is not there"))


def _check_event(
    seq: int, ts: Any, body: bytes, stored: bytes, columns: tuple[Any, ...], *, recent: deque[bytes]
) -> tuple[bytes, bytes, dict[str, Any]]:
    """Return one event's leaf hash, chain hash and document; raise the first check it fails."""
    sha256 = hashlib.sha256
    leaf = sha256(b"\x00" + body).digest()  # link() inlined: this is verify's hot path
    chained = sha256(recent[-1] + leaf).digest()
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Failed(Finding(seq, "modified", f"event {seq}: body is not JSON")) from None
    own = doc.get("seq") if isinstance(doc, dict) else None
    if own != seq:
        raise Failed(_misplaced(seq, own, leaf, stored, recent))
    if chained != stored:
        raise Failed(Finding(seq, "modified", f"event {seq}: body or hash changed (chain hash differs)"))
    if orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) != body:
        raise Failed(Finding(seq, "modified", f"event {seq}: body is not in canonical form"))
    if not _columns_match(columns, doc) or _ts_text(ts) != doc.get("time"):
        raise Failed(Finding(seq, "modified", f"event {seq}: a filter column differs from the hashed body"))
    return leaf, chained, doc


def _events(walk: Walk) -> tuple[int, bytes]:
    """Check the events one by one; raise the first finding."""
    dbapi, base, pending, report = walk.dbapi, walk.base, walk.pending, walk.report
    postgres, progress, marks = walk.postgres, walk.progress, walk.marks
    cols = ", ".join(COLUMNS)
    events = _rows(
        dbapi,
        f"SELECT seq, ts, body, hash, {cols} FROM audit_event ORDER BY seq",  # noqa: S608 (constant columns)
        (),
        postgres=postgres,
        name="audit_verify_events",
    )
    index = _RecordIndex(
        _rows(
            dbapi,
            "SELECT seq, record_id FROM audit_event_record ORDER BY seq, record_id",
            (),
            postgres=postgres,
            name="audit_verify_records",
        )
    )
    frontier = base.frontier.copy()
    prev = base.chain
    expected = base.size + 1
    recent: deque[bytes] = deque(maxlen=WINDOW)  # recent[-1] is the hash before `expected`
    recent.append(prev)
    next_cp = pending.pop(0) if pending else None
    last_cp = base.size
    n = 0
    for seq, ts, body, stored, *columns in events:
        if seq != expected:
            raise Failed(_gap(seq, expected=expected, base=base.size))
        leaf, prev, doc = _check_event(seq, ts, _bytes(body), _bytes(stored), tuple(columns), recent=recent)
        if index.ids_of(seq) != sorted(index_ids(doc.get("record_ids") or [])):
            raise Failed(Finding(seq, "index", f"event {seq}: the record index differs from the hashed body"))
        frontier.append(leaf)
        recent.append(prev)
        expected += 1
        n += 1
        if marks.pending and marks.pending[0].checkpoint.tree_size == seq:
            marks.check(seq, root=frontier.root(), chain=prev)
        if next_cp is not None and next_cp[0] == seq:
            _check_checkpoint(next_cp, root=frontier.root(), chain=prev, since=last_cp)
            last_cp = marks.last_cp = seq
            next_cp = pending.pop(0) if pending else None
        if progress is not None and not n % 100_000:
            progress(n)
    index.finish()
    if next_cp is not None:
        pending.insert(0, next_cp)
    report.events = n
    report.last_seq = expected - 1
    return expected - 1, prev


def _check_checkpoint(cp: tuple[Any, ...], *, root: bytes, chain: bytes, since: int) -> None:
    """Raise unless the events up to a signed checkpoint reproduce its Merkle root and chain hash."""
    if root != bytes(cp[2]) or chain != bytes(cp[3]):
        size = cp[0]
        message = f"events {since + 1}..{size} do not reproduce checkpoint {size}: rewritten after signing"
        raise Failed(Finding(since + 1, "checkpoint", message))


def _gap(seq: int, *, expected: int, base: int) -> Finding:
    """Return the finding of an event found where `expected` should be."""
    if seq < expected:
        return Finding(seq, "inserted", f"event {seq} lies before the archive base {base}")
    return Finding(expected, "deleted", f"events {expected}..{seq - 1} are missing")


def _misplaced(seq: int, own: Any, leaf: bytes, stored: bytes, recent: deque[bytes]) -> Finding:
    if not isinstance(own, int):
        return Finding(seq, "modified", f"event {seq}: body has no valid seq")
    back = seq - own  # how far back the event's original predecessor would be
    if 0 < back < len(recent) and link_matches(recent[-1 - back], leaf, stored):
        return Finding(own, "inserted", f"events {own}..{seq - 1} were inserted before original event {own}")
    if own > seq:
        return Finding(
            seq, "reordered", f"row {seq} holds event {own}: events deleted and renumbered or moved"
        )
    return Finding(seq, "reordered", f"row {seq} holds event {own}: events renumbered or moved")


def link_matches(prev: bytes, leaf: bytes, stored: bytes) -> bool:
    """Tell whether `stored` is the chain hash of `leaf` after `prev`."""
    return hashlib.sha256(prev + leaf).digest() == stored
