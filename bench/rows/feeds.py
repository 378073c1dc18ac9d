"""Rows of the issue-20 list: a change feed page, an audit events page, and an audit export (events/s)."""

from __future__ import annotations

from bench import rowkit
from bench.access import sign_cursors
from bench.scenarios import Fixture, Scenario, register
from gateway.pagination import encode_cursor

PAGE = 50
EXPORT_EVENTS = rowkit.SEEDED_EVENTS // rowkit.EVENT_CLIENTS  # events in each export answer


def _change_pages(fx: Fixture) -> list[str]:
    entries = rowkit.seed_changes(fx)
    sign_cursors(fx)
    starts = rowkit.spread(0, max(0, entries - PAGE), n=2000)
    return [f"/v1/changes?limit={PAGE}&since={encode_cursor([pos])}" for pos in starts]


def _event_pages(fx: Fixture) -> list[str]:
    low, high = rowkit.seed_audit(fx)
    sign_cursors(fx)
    # Newest first: a page holds the 50 events before the cursor's seq.
    starts = rowkit.spread(low + PAGE, high + 1, n=2000)
    return [f"/v1/audit/events?limit={PAGE}&cursor={encode_cursor([seq])}" for seq in starts]


def _exports(fx: Fixture) -> list[str]:
    rowkit.seed_audit(fx)
    return [f"/v1/audit/events/export?format=jsonl&client=client-{i}" for i in range(rowkit.EVENT_CLIENTS)]


register(
    Scenario(
        name="changes",
        title=f"`GET /v1/changes?limit={PAGE}` (a change feed page), full path",
        requests=_change_pages,
        env=rowkit.env,
        headers=lambda fx: rowkit.headers(fx, rowkit.FEED),
        order=40,
        notes="one `created` entry per resident, seeded as a sync writes it; pages after random positions",
    )
)
register(
    Scenario(
        name="audit-page",
        title=f"`GET /v1/audit/events?limit={PAGE}` (an auditor's page), full path",
        requests=_event_pages,
        env=rowkit.env,
        headers=lambda fx: rowkit.headers(fx, rowkit.AUDITOR),
        order=41,
        notes=f"{rowkit.SEEDED_EVENTS:,} varied events seeded by the sequencer; pages before random seqs",
    )
)
register(
    Scenario(
        name="audit-export",
        title=(
            f"`GET /v1/audit/events/export?format=jsonl&client=…` ({EXPORT_EVENTS:,} events an answer: "
            f"events/s = req/s × {EXPORT_EVENTS:,}), full path"
        ),
        requests=_exports,
        env=rowkit.env,
        headers=lambda fx: rowkit.headers(fx, rowkit.AUDITOR),
        connections=4,
        order=42,
        notes="an auditor's streamed JSON Lines export, one client's events each; 4 connections",
    )
)
