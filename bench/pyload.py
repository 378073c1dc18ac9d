"""Fallback load client when wrk cannot be had: asyncio, raw HTTP/1.1 keep-alive, run as its own process.

`python -m bench.pyload --base-url http://127.0.0.1:PORT --requests FILE --connections 32 --duration 10`
prints one JSON line with rps, p50_ms, p99_ms, requests, non2xx, errors. It stops by itself after
`--duration` seconds. It is slower than wrk and shares the CPU with the server, so its ceiling is lower.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _encode(req: dict[str, Any], *, host: str) -> bytes:
    body = (req.get("body") or "").encode()
    lines = [f"{req['method']} {req['path']} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (req.get("headers") or {}).items()]
    if body or req["method"] not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length > 0:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str,
    *,
    port: int,
    wires: list[bytes],
    start: int,
    deadline: float,
    lat: list[float],
    stats: dict[str, int],
) -> None:
    i = start
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            t0 = time.perf_counter()
            writer.write(wires[i % len(wires)])
            status = await asyncio.wait_for(_read_response(reader), timeout=5)
            lat.append(time.perf_counter() - t0)
            if not 200 <= status < 400:
                stats["non2xx"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            stats["errors"] += 1
            if writer is not None:
                writer.close()
            writer = None
        i += 1
    if writer is not None:
        writer.close()


async def run(
    base_url: str, *, requests: list[dict[str, Any]], connections: int, duration: float
) -> dict[str, Any]:
    """Load base_url for `duration` seconds from `connections` keep-alive connections; return the stats."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host != "127.0.0.1":
        raise SystemExit("the bench only loads 127.0.0.1")
    wires = [_encode(r, host=f"{host}:{port}") for r in requests]
    lat: list[float] = []
    stats = {"non2xx": 0, "errors": 0}
    t0 = time.perf_counter()
    deadline = t0 + duration
    step = max(1, len(wires) // connections)
    await asyncio.gather(
        *(
            _worker(host, port=port, wires=wires, start=c * step, deadline=deadline, lat=lat, stats=stats)
            for c in range(connections)
        )
    )
    elapsed = time.perf_counter() - t0
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0

    n = len(lat)
    return {"rps": n / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "requests": n, **stats}


def main() -> None:
    """Parse arguments, run one bounded load, print the JSON result."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--requests", type=Path, required=True)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=float, default=10.0)
    args = ap.parse_args()
    reqs = json.loads(args.requests.read_text(encoding="utf-8"))
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(args.base_url, requests=reqs, connections=args.connections, duration=args.duration))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
