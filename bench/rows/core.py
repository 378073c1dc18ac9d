"""The first rows: the bare FastAPI ceiling, a resident by id, and a list page of 50."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

from bench.access import full_path_env, full_path_headers, sign_cursors, with_env
from bench.scenarios import GATEWAY_APP, HELLO_APP, Fixture, Scale, Scenario, register, uvicorn_command
from gateway.pagination import encode_cursor

FULL = "token, policy, read, audit, tracing"
# Issue 20's targets for the full path, one worker (CPU ratio: hello's µs per request ÷ the row's).
BY_ID_CPU = {"sqlite": 0.30, "postgresql": 0.25}
BY_ID_P99_MS = {"sqlite": 25.0, "postgresql": 40.0}


def _hello(_fx: Fixture) -> list[str]:
    return ["/hello"]


def _by_id(fx: Fixture) -> list[str]:
    return [f"/v1/residents/{rid}" for rid in fx.resident_ids]


def _list_page(fx: Fixture) -> list[str]:
    # A page of 50 after a different key each time, so the rows served are spread over the table.
    sign_cursors(fx)
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
        target_cpu_ratio=BY_ID_CPU,
        target_p99_ms=BY_ID_P99_MS,
        notes="rotates through a random sample of resident ids; a county-wide civil-affairs client",
    )
)
# Policy and audit are switched off in code (bench/apps.py), never by a setting.
for name, app, extra, what in (
    ("by-id-no-policy", "bench.apps:no_policy", {}, "policy off"),
    ("by-id-no-audit", "bench.apps:no_audit", {}, "audit off"),
    ("by-id-no-tracing", GATEWAY_APP, {"GATEWAY_TRACING_ENABLED": "false"}, "tracing off"),
    ("by-id-lean", "bench.apps:lean", {"GATEWAY_TRACING_ENABLED": "false"}, "token and read only"),
):
    register(
        Scenario(
            name=name,
            title=f"`GET /v1/residents/{{id}}`, {what}",
            app=app,
            requests=_by_id,
            env=with_env(extra),
            headers=full_path_headers,
            order=11,
        )
    )


def _witness_env(fx: Fixture) -> dict[str, str]:
    # Every checkpoint (every 1000 events, or 60 s) is also written to an append-only directory.
    return {**full_path_env(fx), "GATEWAY_AUDIT_WITNESS_DIR": str(fx.work_dir / "audit-witness")}


register(
    Scenario(
        name="by-id-witness",
        title="`GET /v1/residents/{id}`, full path, checkpoints witnessed in a directory",
        requests=_by_id,
        env=_witness_env,
        headers=full_path_headers,
        order=12,
        notes="the witness must cost by-id at most 3% (issue 13)",
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
        target_scale=Scale("by-id", {"sqlite": 1.8}),  # two workers: at least 1.8 × one worker's req/s
        notes="the server's CPU counts both workers",
    )
)


def _granian(app: str) -> Callable[..., list[str]]:
    def command(_fx: Fixture, *, port: int) -> list[str]:
        # The same app, one worker, served by granian (Rust HTTP, uvloop) instead of uvicorn.
        exe = str(Path(sys.executable).with_name("granian"))
        cmd = [exe, "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port)]
        return [*cmd, "--workers", "1", "--loop", "uvloop", "--no-ws", "--log-level", "warning", app]

    return command


if find_spec("granian") is not None:  # measured side by side; not a dependency (issue 20: adopt if it wins)
    for name, app, title in (
        ("hello-granian", HELLO_APP, "bare FastAPI `GET /hello` under granian"),
        ("by-id-granian", GATEWAY_APP, f"`GET /v1/residents/{{id}}`, full path ({FULL}), granian"),
    ):
        register(
            Scenario(
                name=name,
                title=title,
                app=app,
                requests=_hello if app == HELLO_APP else _by_id,
                env={} if app == HELLO_APP else full_path_env,
                headers={} if app == HELLO_APP else full_path_headers,
                needs_store=app != HELLO_APP,
                command=_granian(app),
                order=16,
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
        target_cpu_ratio=0.10,
        notes="each request starts after a different random id (cursor)",
    )
)
register(
    Scenario(
        name="list-no-policy",
        title="`GET /v1/residents?limit=50`, policy off",
        app="bench.apps:no_policy",
        requests=_list_page,
        env=full_path_env,
        headers=full_path_headers,
        order=21,
    )
)
