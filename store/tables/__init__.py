"""The store's table declarations (SQLModel), one module per room; importing this package loads them all.

Every module imports only `store.tables.base` (column types, metadata), never a sibling, so there is
no import cycle; this package imports every module so `metadata` holds every table (Alembic, tests).
"""

from store.tables import (
    alerts,  # the village's worklists: early-warning items and residents' requests (诉求)
    audit,  # the audit log: events, disclosed record ids, chain head, checkpoints, keys
    auth,  # the OAuth server and the consoles' sign-in: clients, keys, revocations, sessions
    changes,  # the change feed and webhook subscriptions: change log, subscriptions, deliveries
    consent,  # assisted access (代办): residents' consents for village agents
    ingest,  # push ingest's Idempotency-Keys
    policy,  # the access policy: sharing requests, approval grants, rate counters
    records,  # the unified records (residents, households, enrolments, …) and the sync's bookkeeping
    stats,  # the statistics releases (one per county and day; the kept ones are the series)
)
from store.tables.base import SEQ, TS, metadata, table_of

__all__ = [
    "SEQ",
    "TS",
    "alerts",
    "audit",
    "auth",
    "changes",
    "consent",
    "ingest",
    "metadata",
    "policy",
    "records",
    "stats",
    "table_of",
]
