"""verify's fast walk: the same checks as the exact walk (verify.py), a batch of events at a time.

Each batch of rows is checked with list operations instead of per-event calls: every leaf hash in
one comprehension, every chain link against the *stored* previous hash (so links need not be
computed in order), the canonical form of the whole batch with one `orjson.dumps`, the filter
columns and the record index as lists compared in one go, and the Merkle frontier extended up to
each checkpoint. It names nothing: on any doubt it raises `Doubt`, and the caller reruns the exact
walk, which names the first finding. So the fast walk only has to be sound: it may accept a batch
only when the exact walk would accept every event in it.
"""

from __future__ import annotations

import gc
import hashlib
import operator
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from gateway.audit.anchors import Marks, StoredCheckpoints
from gateway.audit.batch import COLUMNS, RECORD_ID_WIDTH, Base, index_ids
from gateway.audit.findings import Failed, Report
from gateway.audit.merkle import Frontier

BATCH = 5_000  # events per fetch and per list operation (bigger batches only grow the heap)
# Only TEXT and NULL values can be in SQLite's text columns (a BLOB makes json_array fail: a doubt);
# a status that is not an integer, or a time that is not text, becomes null here and so a doubt.
_SQLITE_STORED = (
    "CAST(json_array(CASE WHEN typeof(ts) = 'text' THEN replace(ts, ' ', 'T') || 'Z' END, "
    + ", ".join(f"CASE WHEN typeof({c}) = 'integer' THEN {c} END" if c == "status" else c for c in COLUMNS)
    + ") AS BLOB)"
)
_PG_STORED = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " + ", ".join(COLUMNS)
_EXPECTED = operator.itemgetter("time", *COLUMNS)  # the body's values of the columns, as selected
_STORED = operator.itemgetter(slice(3, None))  # a row's stored time and columns
_SEQ = operator.itemgetter("seq")


@dataclass(slots=True, kw_only=True)
class Walk:
    """What a walk over the events reads, and the checkpoints it consumes as it reaches them."""

    dbapi: Any
    report: Report
    postgres: bool
    progress: Callable[[int], None] | None
    url: str | None = None  # where workers can open the store (None: an in-memory one, this process only)
    workers: int | None = None  # processes checking chunks of the log (verify_parallel.py); None: by size
    base: Base = field(default_factory=lambda: Base(0, b"", Frontier()))
    pending: list[tuple[Any, ...]] = field(default_factory=list)  # signed checkpoints after the base
    marks: Marks = field(default_factory=lambda: Marks(StoredCheckpoints([], {}), []))

    def fork(self) -> Walk:
        """Return a walk over the same events that consumes its own copies of the checkpoints."""
        m = self.marks
        marks = Marks(m.cps, list(m.pending), m.matched, m.last_cp)
        return replace(self, pending=list(self.pending), marks=marks)

    def adopt(self, other: Walk) -> None:
        """Take over what a forked walk consumed."""
        self.pending[:] = other.pending
        self.marks.pending, self.marks.matched = other.marks.pending, other.marks.matched
        self.marks.last_cp = other.marks.last_cp


class Doubt(Exception):
    """A batch is not exactly as the writer leaves it; the exact walk must name what is wrong."""


@contextmanager
def _collector_paused() -> Iterator[None]:
    # A batch is thousands of fresh dicts and lists: the cycle collector would rescan them again and
    # again as they are made (a third of the walk's time), yet they hold no cycles; refcounting frees them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _batches(dbapi: Any, sql: str, *, postgres: bool) -> Iterator[list[tuple[Any, ...]]]:
    # A server-side cursor on PostgreSQL streams millions of rows in constant memory.
    cur = dbapi.cursor(name="audit_verify_batches") if postgres else dbapi.cursor()
    try:
        if postgres:
            cur.itersize = BATCH
        while batch := _fetch(cur, sql):
            yield batch
            sql = ""
    finally:
        cur.close()


def _fetch(cur: Any, sql: str) -> list[tuple[Any, ...]]:
    try:
        if sql:
            cur.execute(sql)
        return list(cur.fetchmany(BATCH))
    except Exception as exc:  # the driver's error, e.g. json_array refusing a BLOB in a text column
        raise Doubt from exc


def _index_rows(dbapi: Any, *, low: int | None, high: int | None) -> list[tuple[Any, ...]]:
    """Return the record index rows (seq, record_id) with low <= seq <= high, in the exact walk's order."""
    bounds = (f"seq >= {int(low)}" if low is not None else "", f"seq <= {int(high)}" if high else "")
    where = " AND ".join(b for b in bounds if b)
    cur = dbapi.cursor()
    cur.execute(
        "SELECT seq, record_id FROM audit_event_record"  # noqa: S608 (ints only)
        + (f" WHERE {where}" if where else "")
        + " ORDER BY seq, record_id"
    )
    rows = [tuple(r) for r in cur.fetchall()]
    cur.close()
    return rows


def _check_rows(
    rows: list[tuple[Any, ...]], *, first: int, prev: bytes
) -> tuple[list[bytes], list[Any], tuple[bytes, ...]]:
    """Return a batch's leaf hashes, documents and stored hashes; raise Doubt unless each event checks out."""
    n = len(rows)
    transposed = zip(*rows, strict=True)
    seqs, bodies, hashes = next(transposed), next(transposed), next(transposed)
    # seq is the primary key and rows come in seq order: first and last pin down every seq between.
    if seqs[0] != first or seqs[-1] != first + n - 1:
        raise Doubt
    if not all(type(b) is bytes for b in bodies) or not all(type(h) is bytes for h in hashes):
        raise Doubt  # a BLOB turned into TEXT by a tamperer's UPDATE: the exact walk compares its bytes
    sha256 = hashlib.sha256
    leaves = [sha256(b"\x00" + body).digest() for body in bodies]
    # Each link is checked against the stored previous hash; all equal means the chain from `prev` holds.
    if [sha256(p + leaf).digest() for p, leaf in zip((prev, *hashes[:-1]), leaves, strict=True)] != list(
        hashes
    ):
        raise Doubt
    try:
        docs = [orjson.loads(body) for body in bodies]
        if list(map(_SEQ, docs)) != list(seqs):
            raise Doubt
    except (orjson.JSONDecodeError, TypeError, KeyError, IndexError):
        raise Doubt from None
    # Every body parses alone and the batch re-encodes to the joined bodies: each body is canonical.
    if orjson.dumps(docs, option=orjson.OPT_SORT_KEYS) != b"[" + b",".join(bodies) + b"]":
        raise Doubt
    return leaves, docs, hashes


def _check_columns(rows: list[tuple[Any, ...]], docs: list[Any], *, postgres: bool) -> None:
    """Raise Doubt unless every row's time and filter columns equal its body's values."""
    try:
        expected = list(map(_EXPECTED, docs))
        if postgres:
            if list(map(_STORED, rows)) == expected:
                return
        # SQLite hands the stored values over as one JSON array a row (json_array, far cheaper than
        # fourteen Python objects): equal JSON texts hold equal values. Any other spelling of equal
        # values (an escape, a REAL status) is a doubt, and the exact walk compares value by value.
        elif orjson.dumps(expected) == b"[" + b",".join([r[3] for r in rows]) + b"]":
            return
    except (KeyError, TypeError):
        pass
    raise Doubt  # a clipped value, a missing key, or a tampered column


def _index_matches(stored: list[tuple[Any, ...]], seqs: range, docs: list[Any]) -> bool:
    """Tell whether the index rows (seq, record_id), in order, are exactly the ones the bodies name."""
    try:
        # Every (seq, id) pair sorted at once. Equal to the stored rows (a primary key: no two alike)
        # means no body named an id twice, and then it is what index_ids gives event by event.
        width = RECORD_ID_WIDTH
        pairs = [
            (s, r)
            for s, d in zip(seqs, docs, strict=True)
            for r in d.get("record_ids") or ()
            if len(r) <= width
        ]
        pairs.sort()
        if pairs == stored:
            return True
        exact: list[tuple[int, str]] = []
        for seq, doc in zip(seqs, docs, strict=True):
            if ids := doc.get("record_ids"):
                exact.extend([(seq, rid) for rid in sorted(index_ids(ids))])
    except TypeError:
        return False  # ids that are not strings: the exact walk looks at them
    return exact == stored


def _extend(
    frontier: Frontier,
    leaves: Sequence[bytes],
    hashes: Sequence[bytes],
    *,
    first: int,
    cps: list[tuple[Any, ...]],
    marks: Marks,
) -> None:
    """Extend the frontier by a batch, checking every signed and witnessed checkpoint falling inside it."""
    last = first + len(leaves) - 1
    stops = sorted(
        {r[0] for r in cps if first <= r[0] <= last}
        | {w.checkpoint.tree_size for w in marks.pending if first <= w.checkpoint.tree_size <= last}
    )
    done = first - 1
    for size in stops:
        frontier.extend(leaves[done - first + 1 : size - first + 1])
        done = size
        root, chain = frontier.root(), hashes[size - first]
        if marks.pending and marks.pending[0].checkpoint.tree_size == size:
            try:
                marks.check(size, root=root, chain=chain)
            except Failed:
                raise Doubt from None
        if cps and cps[0][0] == size:
            cp = cps.pop(0)
            if root != bytes(cp[2]) or chain != bytes(cp[3]):
                raise Doubt
            marks.last_cp = size
    frontier.extend(leaves[done - first + 1 :])


@dataclass(slots=True)
class Span:
    """A run of checked events: the first seq, their leaf hashes and their stored chain hashes."""

    first: int
    leaves: Sequence[bytes]
    hashes: Sequence[bytes]


Spans = Generator[Span, None, None]


def check_spans(
    dbapi: Any, *, postgres: bool, first: int, prev: bytes, high: int | None, below: bool
) -> Spans:
    """Yield the events from `first` (to `high`, or the end) a checked batch at a time; raise Doubt.

    `prev` is the chain hash before `first`. With `below`, rows and index rows before `first` are read
    too (there must be none): the first span of a walk reads them, later ones start at `first`.
    """
    bounds = [f"seq >= {int(first)}"] if not below else []
    bounds += [f"seq <= {int(high)}"] if high is not None else []
    sql = (
        f"SELECT seq, body, hash, {_PG_STORED if postgres else _SQLITE_STORED} FROM audit_event "  # noqa: S608 (constants, ints)
        + (f"WHERE {' AND '.join(bounds)} " if bounds else "")
        + "ORDER BY seq"
    )
    expected, low = first, None if below else first
    with _collector_paused():
        for rows in _batches(dbapi, sql, postgres=postgres):
            leaves, docs, hashes = _check_rows(rows, first=expected, prev=prev)
            _check_columns(rows, docs, postgres=postgres)
            last = expected + len(rows) - 1
            # The first batch also reads index rows below it: any there names an event that is not stored.
            if not _index_matches(_index_rows(dbapi, low=low, high=last), range(expected, last + 1), docs):
                raise Doubt
            yield Span(expected, leaves, hashes)
            prev, expected, low = hashes[-1], last + 1, last + 1
    if high is None and _index_rows(dbapi, low=expected, high=None):
        raise Doubt  # the index names events after the last one
    if high is not None and expected != high + 1:
        raise Doubt


def batched_events(walk: Walk, *, spans: Spans | None = None) -> tuple[int, bytes]:
    """Check every event as verify._events does; return (last seq, last chain hash) or raise Doubt.

    The walk's checkpoints (signed and witnessed) are consumed as the exact walk would. `spans` are
    the events checked elsewhere (verify_parallel.py); by default they are checked here, in order.
    """
    base, progress = walk.base, walk.progress
    if spans is None:
        first = base.size + 1
        spans = check_spans(
            walk.dbapi, postgres=walk.postgres, first=first, prev=base.chain, high=None, below=True
        )
    frontier = base.frontier.copy()
    prev, expected = base.chain, base.size + 1
    # Closed at once on a doubt: its cursor, and any workers still checking chunks, stop before the
    # exact walk starts (not when the exception's traceback lets go of it).
    with closing(spans):
        for span in spans:
            if span.first != expected:
                raise Doubt
            _extend(frontier, span.leaves, span.hashes, first=expected, cps=walk.pending, marks=walk.marks)
            last = expected + len(span.leaves) - 1
            if progress is not None and last // 100_000 > (expected - 1) // 100_000:
                progress(last - base.size)
            prev, expected = span.hashes[-1], last + 1
    walk.report.events = expected - 1 - base.size
    walk.report.last_seq = expected - 1
    return expected - 1, prev
