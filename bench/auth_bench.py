"""Cost of bearer-token auth: JWT verify per algorithm, the cache-hit path, and by-id read throughput
in-process with auth on vs off (`python -m bench.auth_bench [--quick] [--json]`).

"Off" overrides the bearer dependency with one returning a fixed principal, so the difference is
exactly what auth adds: header parsing, token hash, cache lookup, revocation and disable checks.
Policy and audit are disabled in both runs, so auth's share is measured against the leanest read path.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select

from bench.store import load_county
from gateway import migrate
from gateway.app import create_app
from gateway.auth.clients import create_client
from gateway.auth.dependencies import authenticate
from gateway.auth.keys import KeyRing, generate_key, public_jwk
from gateway.auth.tokens import Principal, issue_access_token, verify_access_token
from gateway.db import make_sync_engine
from gateway.settings import Settings
from schemas.tables import ResidentRow

ALGS = ("EdDSA", "ES256", "RS256")


def _ring(alg: str) -> KeyRing:
    key = generate_key(alg)
    kid = key.thumbprint()
    return KeyRing(
        signer_kid=kid,
        signer_alg=alg,
        signer=key,
        public={kid: (alg, key)},
        jwks={"keys": [public_jwk(key, alg=alg, kid=kid)]},
    )


def _per_call_us(fn: Callable[[], object], *, seconds: float) -> float:
    """Return the median per-call cost in µs over 5 timed batches."""
    fn()
    batch = 1
    while True:  # size a batch to ~seconds/5
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - t > seconds / 5 or batch > 1_000_000:
            break
        batch *= 2
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t) / batch * 1e6)
    return statistics.median(samples)


def _verify_one(alg: str, settings: Settings, *, seconds: float) -> dict[str, float]:
    ring = _ring(alg)
    body = issue_access_token(ring, client_id="bench", scopes=["residents:read"], settings=settings)
    token = body["access_token"]
    return {
        "verify_us": _per_call_us(
            lambda: verify_access_token(token, ring, settings=settings), seconds=seconds
        ),
        "sign_us": _per_call_us(
            lambda: issue_access_token(ring, client_id="bench", scopes=["r"], settings=settings),
            seconds=seconds / 2,
        ),
        "token_bytes": float(len(token)),
    }


def verify_costs(*, seconds: float) -> dict[str, dict[str, float]]:
    """Measure sign and full verify (header, signature, claims) per algorithm."""
    settings = Settings(key_encryption_key=Fernet.generate_key().decode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that "EdDSA" is deprecated by RFC 9864
        return {alg: _verify_one(alg, settings, seconds=seconds) for alg in ALGS}


class _Asgi:
    """Drive an ASGI app in-process with minimal overhead (no sockets, no HTTP client)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def get(self, path: str, headers: list[tuple[bytes, bytes]]) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


async def _throughput(
    app: Any, paths: list[str], headers: list[tuple[bytes, bytes]], seconds: float
) -> float:
    client = _Asgi(app)
    for p in paths[:200]:  # warm: compiled statements, the verified-token cache
        assert await client.get(p, headers) == 200, p
    rates = []
    for _ in range(3):
        n, i = 0, 0
        deadline = time.perf_counter() + seconds / 3
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            for _ in range(50):
                await client.get(paths[i % len(paths)], headers)
                i += 1
            n += 50
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


async def read_throughput(*, seconds: float, residents: int) -> dict[str, float]:
    """By-id reads per second in-process, auth on vs off, on a fresh SQLite store."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_sync_engine(url)
        migrate.upgrade(engine)
        load_county(engine, residents=residents, seed=2026)
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(ResidentRow.id).limit(500))]  # type: ignore[call-overload]
        record, _secret = create_client(
            engine, name="bench", department="civil_affairs", subsystem="bench", scopes=["residents:read"]
        )
        engine.dispose()
        settings = Settings(
            database_url=url,
            key_encryption_key=Fernet.generate_key().decode(),
            policy_enabled=False,
            audit_enabled=False,
            trace_sample_ratio=0.0,
        )
        paths = [f"/v1/residents/{i}" for i in ids]
        fixed = Principal(
            client_id=record.client_id,
            department="civil_affairs",
            subsystem="bench",
            region_code=None,
            scopes=frozenset({"residents:read"}),
            token_id="bench",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )

        async def _fixed() -> Principal:
            return fixed

        results: dict[str, float] = {}
        for mode in ("off", "on"):
            app = create_app(settings)
            if mode == "off":
                app.dependency_overrides[authenticate] = _fixed
            async with app.router.lifespan_context(app):
                ring = app.state.auth.keyring
                body = issue_access_token(
                    ring, client_id=record.client_id, scopes=["residents:read"], settings=settings
                )
                headers = [
                    (b"authorization", f"Bearer {body['access_token']}".encode()),
                    (b"x-purpose", b"social-assistance-review"),
                ]
                results[f"auth_{mode}_rps"] = await _throughput(app, paths, headers, seconds)
                if mode == "on":
                    guard = app.state.auth.guard
                    results["cache_hit_us"] = await _hit_cost(
                        guard, body["access_token"], seconds=seconds / 4
                    )
        results["auth_cost_pct"] = 100.0 * (1 - results["auth_on_rps"] / results["auth_off_rps"])
        return results


async def _hit_cost(guard: Any, token: str, *, seconds: float) -> float:
    await guard.authenticate(token)
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(1000):
            await guard.authenticate(token)
        n += 1000
    return (time.perf_counter() - started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    """Run both measurements; print a table (or JSON)."""
    ap = argparse.ArgumentParser(prog="python -m bench.auth_bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--residents", type=int, default=5000)
    args = ap.parse_args(argv)
    seconds = 1.0 if args.quick else 6.0
    verify = verify_costs(seconds=seconds)
    reads = asyncio.run(read_throughput(seconds=seconds * 2, residents=args.residents))
    if args.json:
        print(json.dumps({"verify": verify, "reads": reads}, indent=2))
        return 0
    print("JWT per algorithm (joserfc; full verify = header + signature + claims)")
    for alg, v in verify.items():
        size = f"{v['token_bytes']:.0f} B"
        print(f"  {alg:6} verify {v['verify_us']:7.1f} µs   sign {v['sign_us']:7.1f} µs   {size}")
    print("By-id reads in-process (GET /v1/residents/{id}, SQLite, policy and audit off)")
    print(f"  auth off {reads['auth_off_rps']:8.0f} req/s")
    print(
        f"  auth on  {reads['auth_on_rps']:8.0f} req/s   cost {reads['auth_cost_pct']:.1f}% (target <= 10%)"
    )
    print(f"  verified-token cache hit {reads['cache_hit_us']:.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
