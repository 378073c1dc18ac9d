"""The first rows: the bare FastAPI ceiling, a resident by id, and a list page of 50."""

from __future__ import annotations

from bench.scenarios import HELLO_APP, Fixture, Scenario, register
from gateway.pagination import encode_cursor


def _hello(_fx: Fixture) -> list[str]:
    return ["/hello"]


def _by_id(fx: Fixture) -> list[str]:
    return [f"/v1/residents/{rid}" for rid in fx.resident_ids]


def _list_page(fx: Fixture) -> list[str]:
    # A page of 50 after a different key each time, so the rows served are spread over the table.
    return [f"/v1/residents?limit=50&cursor={encode_cursor([rid])}" for rid in fx.resident_ids]


register(
    Scenario(
        name="hello",
        title="bare FastAPI `GET /hello` (ceiling)",
        app=HELLO_APP,
        requests=_hello,
        needs_store=False,
        ceiling=True,
        order=0,
    )
)
register(
    Scenario(
        name="by-id",
        title="`GET /v1/residents/{id}`",
        requests=_by_id,
        order=10,
        target_ratio=0.40,
        notes="rotates through a random sample of resident ids",
    )
)
register(
    Scenario(
        name="list",
        title="`GET /v1/residents?limit=50` (a page of 50)",
        requests=_list_page,
        order=20,
        notes="each request starts after a different random id (cursor)",
    )
)
