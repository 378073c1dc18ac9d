"""Cost of the audit log: by-id read throughput with audit on vs off (SQLite and PostgreSQL), and
`gateway audit verify` speed.

Target (the Audit issue): audit on costs at most 25% of the full path's throughput; verify runs at
200,000 events/s or more over 1M events (issue 20; medians of 3 runs, also per CPU second, which
moves less when other work shares the box). Each backend's on/off servers are real uvicorn
processes loaded by wrk (or the Python client) with 32 connections; runs alternate on/off so machine
load drifts hit both, and the best run of each is kept. Usage: python -m bench.audit_bench
[--seconds 5] [--runs 3] [--backends sqlite,postgresql] [--verify-events 1000000] [--verify-runs 3]
[--verify-only].
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.load import LoadResult, choose_tool, run_load, write_rotation
from bench.runner import log_stderr
from bench.scenarios import Request, uvicorn_command
from bench.server import free_port
from bench.store import prepare
from gateway import migrate
from gateway.audit.checkpoints import load_or_create_key
from gateway.audit.verify import verify_store
from store.engines import make_sync_engine
from tests.support.callers import register
from tests.support.live import stop_process

REPO = Path(__file__).resolve().parents[1]


def _key(path: Path) -> Path:
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@contextlib.contextmanager
def _server(url: str, *, audit: bool, work: Path, fernet: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        PYTHONPATH=str(REPO),
        GATEWAY_DATABASE_URL=url,
        GATEWAY_AUDIT_KEY_FILE=str(work / "audit-key.pem"),
        GATEWAY_KEY_ENCRYPTION_KEY=fernet,
        GATEWAY_TRACE_SAMPLE_RATIO="0",
    )
    with (work / f"server-{'on' if audit else 'off'}.log").open("wb") as log:
        proc = subprocess.Popen(
            # The policy's per-client rate limit would cap both runs alike (429s): policy off in both.
            uvicorn_command("bench.apps:lean" if not audit else "bench.apps:no_policy", port=port),
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(work / 'server.log')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        stop_process(proc, grace=20)


def _bench_client(database_url: str) -> tuple[str, str]:
    """Migrate the store and register the benchmark's client; return its id and secret."""
    engine = make_sync_engine(database_url)
    migrate.upgrade(engine)
    client_id, secret = register(engine, scopes=["residents:read"], department="civil_affairs")
    engine.dispose()
    return client_id, secret or ""


def read_cost(backend: str, *, seconds: float, runs: int, residents: int, work: Path) -> dict[str, float]:
    """Return best by-id req/s with audit off and on, and the throughput audit costs (%)."""
    tool = choose_tool("auto", log=log_stderr)
    fernet = Fernet.generate_key().decode()
    _key(work / "audit-key.pem")
    best = {"off": 0.0, "on": 0.0}
    with contextlib.ExitStack() as stack:
        fx = stack.enter_context(
            prepare(
                backend,
                residents=residents,
                seed=2026,
                work_dir=work,
                cache_dir=work / "cache",
                log=log_stderr,
            )
        )
        assert fx.database_url is not None
        client_id, secret = _bench_client(fx.database_url)
        requests = [Request(f"/v1/residents/{rid}") for rid in fx.resident_ids]
        for i in range(runs * 2):
            mode = "off" if i % 2 == 0 else "on"
            with _server(fx.database_url, audit=mode == "on", work=work, fernet=fernet) as base:
                token = httpx.post(
                    base + "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret),
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}", "X-Purpose": "social-assistance-review"}
                probe = httpx.get(base + requests[0].path, headers=headers)
                if probe.status_code != 200:
                    raise RuntimeError(f"{backend}: probe answered {probe.status_code}: {probe.text[:300]}")
                script, reqs = write_rotation(requests, headers=headers, lua=None, out_dir=work, name=mode)
                run_load(
                    tool,
                    base_url=base,
                    script=script,
                    requests_file=reqs,
                    connections=32,
                    duration=1,
                    threads=1,
                )  # warm-up
                res: LoadResult = run_load(
                    tool,
                    base_url=base,
                    script=script,
                    requests_file=reqs,
                    connections=32,
                    duration=seconds,
                    threads=1,
                )
                if res.non2xx or res.errors:
                    raise RuntimeError(f"{backend} audit {mode}: {res.non2xx} non-2xx, {res.errors} errors")
                best[mode] = max(best[mode], res.rps)
                log_stderr(f"{backend} audit {mode}: {res.rps:,.0f} req/s (p99 {res.p99_ms:.1f} ms)")
    return {"off_rps": best["off"], "on_rps": best["on"], "cost_pct": 100 * (1 - best["on"] / best["off"])}


VERIFY_TARGET = 200_000  # events/s (issue 20)


def _verify_store(events: int, *, cache: Path) -> Path:
    """Return a SQLite store of `events` events, checkpointed every 10,000 (built once per schema head)."""
    from tests.audit.support import write_events  # the tests' realistic event generator

    path = cache / f"audit-{events}-{'-'.join(sorted(migrate.head_revisions()))}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    url = f"sqlite:///{partial}"
    engine = make_sync_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    key = load_or_create_key(_key(cache / "verify-key.pem"))
    log_stderr(f"verify: writing {events:,} events into {path.name}")
    asyncio.run(write_events(url, events, key=key, batch=2000, checkpoint_every=10_000))
    partial.rename(path)
    return path


WALKS: dict[str, dict[str, Any]] = {
    "exact walk, event by event (what verify did before the batched walk)": {"batched": False},
    "batched walk, one process": {"workers": 1},
    "batched walk, default workers (`gateway audit verify`)": {},
}


def _cpu() -> float:
    t = os.times()  # workers count once they are reaped, which verify_store does before it returns
    return t.user + t.system + t.children_user + t.children_system


def verify_rates(events: int, *, runs: int, cache: Path) -> dict[str, list[tuple[float, float]]]:
    """Return (events/s, events per CPU second) of each walk over `events` events, runs interleaved."""
    engine = make_sync_engine(f"sqlite:///{_verify_store(events, cache=cache)}")
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in WALKS}
    try:
        for run in range(runs):
            for name, options in WALKS.items():
                cpu = _cpu()
                report = verify_store(engine, **options)
                cpu = _cpu() - cpu
                assert report.ok and report.events == events, report.finding
                out[name].append((report.rate, events / cpu))
                log_stderr(
                    f"verify run {run + 1}, {name}: {report.rate:,.0f} events/s, {events / cpu:,.0f}/CPU s"
                )
    finally:
        engine.dispose()
    return out


def verify_lines(events: int, *, runs: int, cache: Path) -> list[str]:
    """Return the verify bench's report lines: every run, the medians, the target, met or not."""
    lines = [
        f"| `gateway audit verify`, {events:,} events (SQLite, a checkpoint every 10,000) | runs (events/s) "
        "| median events/s | median events per CPU s | target | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, rates in verify_rates(events, runs=runs, cache=cache).items():
        wall, cpu = statistics.median(r for r, _ in rates), statistics.median(c for _, c in rates)
        verdict = "met" if wall >= VERIFY_TARGET else "not met"
        lines.append(
            f"| {name} | {', '.join(f'{r:,.0f}' for r, _ in rates)} | {wall:,.0f} | {cpu:,.0f} | "
            f"{VERIFY_TARGET:,} | {verdict} |"
        )
    return lines


def main() -> None:
    """Run the audit bench and print a small report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--residents", type=int, default=20_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--verify-events", type=int, default=1_000_000)
    ap.add_argument("--verify-runs", type=int, default=3)
    ap.add_argument("--verify-only", action="store_true", help="only the verify rows (no read cost)")
    ap.add_argument("--cache-dir", type=Path, default=REPO / "bench" / "results" / "tmp" / "stores")
    args = ap.parse_args()
    if args.verify_only:
        print("\n".join(verify_lines(args.verify_events, runs=args.verify_runs, cache=args.cache_dir)))
        return
    lines = ["| backend | audit off req/s | audit on req/s | audit cost | target |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="xz-audit-bench-") as tmp:
        for backend in [b for b in args.backends.split(",") if b]:
            work = Path(tmp) / backend
            work.mkdir()
            r = read_cost(backend, seconds=args.seconds, runs=args.runs, residents=args.residents, work=work)
            verdict = "ok" if r["cost_pct"] <= 25 else "MISSED"
            lines.append(
                f"| {backend} | {r['off_rps']:,.0f} | {r['on_rps']:,.0f} | {r['cost_pct']:.1f}% | "
                f"<= 25% {verdict} |"
            )
    lines.append("")
    lines += verify_lines(args.verify_events, runs=args.verify_runs, cache=args.cache_dir)
    print("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
