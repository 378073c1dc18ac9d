"""Per-source sync state (watermark and resumable position) and the per-source sync lease."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from typing import Any

import orjson
from sqlalchemy import or_

from connectors.sdk.errors import SyncLocked
from schemas.time import as_utc
from store.bulk import Store
from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import SyncLockRow, SyncStateRow

log = logging.getLogger(__name__)
# A sync renews its lease at every commit and at least every HEARTBEAT while it reads.
HEARTBEAT = dt.timedelta(seconds=60)
# A lease outlives any one transaction of a sync by far; a crashed sync frees its source after it.
LEASE = dt.timedelta(minutes=10)
TAGS_STATE = "__tags__"  # sync_state row holding the date tags were last computed for

_SAVE_STATE = RowInsert(
    table_of(SyncStateRow),
    ("source", "watermark", "position", "updated_at"),
    update_on=("source",),
    update=("watermark", "position", "updated_at"),
)
# The lease is taken over when it expired before now (the new row's acquired_at) or is ours already.
_TAKE_LEASE = RowInsert(
    table_of(SyncLockRow),
    ("source", "holder", "acquired_at", "expires_at"),
    update_on=("source",),
    update=("holder", "acquired_at", "expires_at"),
    where=lambda lock, new: or_(lock.c.expires_at < new.acquired_at, lock.c.holder == new.holder),
)


def load_state(store: Store, source: str) -> dict[str, Any]:
    """Return the saved position of a source (empty before its first sync)."""
    rows = store.rows("SELECT position FROM sync_state WHERE source = ?", (source,))
    if not rows or not rows[0][0]:
        return {}
    state = orjson.loads(rows[0][0])
    return state if isinstance(state, dict) else {}


def save_state(
    store: Store, source: str, *, state: dict[str, Any], watermark: str | None, now: dt.datetime
) -> None:
    """Save a source's position and watermark, in the transaction that committed its records."""
    store.insert_one(
        _SAVE_STATE,
        (source, watermark, orjson.dumps(state).decode(), store.ts(now)),
    )


def new_holder() -> str:
    """Return an identifier of this sync run: host, process and a random part."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def _host() -> str:
    return socket.gethostname()[:32]


def holder_gone(holder: str) -> bool:
    """Tell whether a lease holder was a process on this host that no longer runs (kill -9, a crash)."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
        return False  # another host (or a foreign holder): only its lease's expiry can tell
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def acquire_lease(store: Store, source: str, *, holder: str, now: dt.datetime) -> str | None:
    """Take the sync lease of a source, or raise SyncLocked while another live sync holds it.

    A lease whose holder ran on this host and is gone is taken over at once; one past its expiry (no
    heartbeat for LEASE) too. Return a note naming the holder taken over from, if any.
    """
    store.insert_one(_TAKE_LEASE, (source, holder, store.ts(now), store.ts(now + LEASE)))
    rows = store.rows("SELECT holder, acquired_at FROM sync_lock WHERE source = ?", (source,))
    if not rows or rows[0][0] == holder:
        return None
    other = str(rows[0][0])
    if holder_gone(other):
        store.run(
            "UPDATE sync_lock SET holder = ?, acquired_at = ?, expires_at = ? "
            "WHERE source = ? AND holder = ?",
            (holder, store.ts(now), store.ts(now + LEASE), source, other),
        )
        note = f"took over the sync lease of {source} from {other}: that process is gone"
        log.warning(note)
        return note
    since = as_utc(rows[0][1])
    raise SyncLocked(
        f"a sync of {source} is already running ({other}, since {since:%Y-%m-%d %H:%M:%S} UTC); "
        f"try again when it ends (a lease with no heartbeat for {LEASE} is taken over; "
        f"`gateway sync --break-lock {source}` breaks it)"
    )


def break_lease(store: Store, source: str) -> str | None:
    """Remove a source's lease whoever holds it; return the holder it named (None: there was none)."""
    rows = store.rows("SELECT holder FROM sync_lock WHERE source = ?", (source,))
    store.run("DELETE FROM sync_lock WHERE source = ?", (source,))
    return str(rows[0][0]) if rows else None


def renew_lease(store: Store, source: str, *, holder: str, now: dt.datetime) -> None:
    """Extend the lease while the sync makes progress."""
    store.run(
        "UPDATE sync_lock SET expires_at = ? WHERE source = ? AND holder = ?",
        (store.ts(now + LEASE), source, holder),
    )


def release_lease(store: Store, source: str, *, holder: str) -> None:
    """Give the lease back."""
    store.run("DELETE FROM sync_lock WHERE source = ? AND holder = ?", (source, holder))


def _reconciled_key(source: str) -> str:
    return f"__reconciled__:{source}"


def reconcile_due(store: Store, source: str, *, every: float, now: dt.datetime) -> bool:
    """Tell whether a source that cannot list its keys is due a full pass (to notice deletions)."""
    rows = store.rows("SELECT watermark FROM sync_state WHERE source = ?", (_reconciled_key(source),))
    if not rows or not rows[0][0]:
        # Never reconciled (a store from before reconciliation, or a first pass that was resumed):
        # count the interval from now rather than restart a pass that may be under way.
        save_reconciled(store, source, now=now)
        return False
    last = dt.datetime.fromisoformat(rows[0][0])
    return now - last >= dt.timedelta(hours=every)


def save_reconciled(store: Store, source: str, *, now: dt.datetime) -> None:
    """Remember when a source's stored records were last reconciled with a complete pass."""
    save_state(store, _reconciled_key(source), state={}, watermark=now.isoformat(), now=now)


def tags_date(store: Store) -> dt.date | None:
    """Return the date derived tags were last computed for (None before the first sync)."""
    rows = store.rows("SELECT watermark FROM sync_state WHERE source = ?", (TAGS_STATE,))
    return dt.date.fromisoformat(rows[0][0]) if rows and rows[0][0] else None


def save_tags_date(store: Store, day: dt.date, *, now: dt.datetime) -> None:
    """Remember the date derived tags are now computed for."""
    save_state(store, TAGS_STATE, state={}, watermark=day.isoformat(), now=now)
