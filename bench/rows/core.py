"""The first rows: the bare FastAPI ceiling, a resident by id, and a list page of 50."""

from __future__ import annotations

from collections.abc import Callable

from bench.access import full_path_env, full_path_headers, with_env
from bench.scenarios import GATEWAY_APP, HELLO_APP, Fixture, Scenario, register, uvicorn_command
from gateway.pagination import encode_cursor, set_cursor_key

FULL = "token, policy, read, audit, tracing"


def _hello(_fx: Fixture) -> list[str]:
    return ["/hello"]


def _by_id(fx: Fixture) -> list[str]:
    return [f"/v1/residents/{rid}" for rid in fx.resident_ids]


def _list_page(fx: Fixture) -> list[str]:
    # A page of 50 after a different key each time, so the rows served are spread over the table.
    # Cursors are signed: sign them with the key the server derives from the same key-encryption key.
    set_cursor_key(full_path_env(fx)["GATEWAY_KEY_ENCRYPTION_KEY"].encode())
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


def _workers(n: int) -> Callable[..., list[str]]:
    def command(_fx: Fixture, *, port: int) -> list[str]:
        cmd = uvicorn_command(GATEWAY_APP, port=port)
        cmd[cmd.index("--workers") + 1] = str(n)
        return cmd

    return command


register(
    Scenario(
        name="by-id",
        title=f"`GET /v1/residents/{{id}}`, full path ({FULL})",
        requests=_by_id,
        env=full_path_env,
        headers=full_path_headers,
        order=10,
        target_ratio=0.40,
        notes="rotates through a random sample of resident ids; a county-wide civil-affairs client",
    )
)
for name, extra, what in (
    ("by-id-no-policy", {"GATEWAY_POLICY_ENABLED": "false"}, "policy off"),
    ("by-id-no-audit", {"GATEWAY_AUDIT_ENABLED": "false"}, "audit off"),
    ("by-id-no-tracing", {"GATEWAY_TRACING_ENABLED": "false"}, "tracing off"),
    (
        "by-id-lean",
        {
            "GATEWAY_POLICY_ENABLED": "false",
            "GATEWAY_AUDIT_ENABLED": "false",
            "GATEWAY_TRACING_ENABLED": "false",
        },
        "token and read only",
    ),
):
    register(
        Scenario(
            name=name,
            title=f"`GET /v1/residents/{{id}}`, {what}",
            requests=_by_id,
            env=with_env(extra),
            headers=full_path_headers,
            order=11,
        )
    )
register(
    Scenario(
        name="by-id-2w",
        title="`GET /v1/residents/{id}`, full path, 2 workers",
        requests=_by_id,
        env=full_path_env,
        headers=full_path_headers,
        command=_workers(2),
        order=15,
    )
)
register(
    Scenario(
        name="list",
        title=f"`GET /v1/residents?limit=50` (a page of 50), full path ({FULL})",
        requests=_list_page,
        env=full_path_env,
        headers=full_path_headers,
        order=20,
        notes="each request starts after a different random id (cursor)",
    )
)
register(
    Scenario(
        name="list-no-policy",
        title="`GET /v1/residents?limit=50`, policy off",
        requests=_list_page,
        env=with_env({"GATEWAY_POLICY_ENABLED": "false"}),
        headers=full_path_headers,
        order=21,
    )
)
