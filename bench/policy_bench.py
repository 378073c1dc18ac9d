"""Policy cost: in-process by-id and list throughput with the access policy on vs off (SQLite store).

Run: python -m bench.policy_bench [--residents N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from gateway import migrate
from gateway.app import LegalControls, create_app
from gateway.auth.tokens import issue_access_token
from gateway.settings import Settings
from policies.loader import DEFAULT_DIR
from store.engines import make_sync_engine
from tests.support import factories
from tests.support.callers import register

PURPOSE = "social-assistance-review"


def _prepare(db: Path, residents: int) -> list[str]:
    engine = make_sync_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    factories.county(engine)
    register(
        engine,
        scopes=["residents:read"],
        department="township",
        region_code="511599100000",
        client_id="qingshan-township",
    )
    ids = []
    for n in range(residents):
        r = factories.add_resident(
            engine,
            region_code=("511599100201", "511599100202")[n % 2],
            name="王建国",
            national_id=None,
            phone="13800000000",
        )
        ids.append(r.id)
    engine.dispose()
    return ids


async def _rate(
    client: httpx.AsyncClient, paths: list[str], headers: dict[str, str], seconds: float
) -> float:
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        r = await client.get(paths[n % len(paths)], headers=headers)
        assert r.status_code == 200, r.text
        n += 1
    return n / seconds


async def _run(db: Path, ids: list[str], *, enabled: bool, seconds: float) -> dict[str, float]:
    policy_dir = db.parent / "policy"
    if not policy_dir.exists():  # the shipped policy with limits a benchmark cannot reach
        shutil.copytree(DEFAULT_DIR, policy_dir)
        (policy_dir / "rate_limits.yaml").write_text(
            "default: {requests_per_minute: 100000000, records_per_day: 1000000000}\n"
        )
    settings = Settings(database_url=f"sqlite:///{db}", policy_dir=policy_dir, trace_sample_ratio=0.0)
    app = create_app(settings, controls=LegalControls(policy=enabled))
    async with app.router.lifespan_context(app):
        token = issue_access_token(
            app.state.runtime.auth.keyring,
            client_id="qingshan-township",
            scopes=["residents:read"],
            settings=settings,
        )["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            by_id = [f"/v1/residents/{i}" for i in ids[:200]]
            await _rate(c, by_id, headers, 0.5)  # warm up
            return {
                "by_id": await _rate(c, by_id, headers, seconds),
                "list": await _rate(c, ["/v1/residents?limit=50"], headers, seconds),
            }


def main() -> None:
    """Print requests per second with the policy on and off, and the relative cost."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        ids = _prepare(db, args.residents)
        off = asyncio.run(_run(db, ids, enabled=False, seconds=args.seconds))
        on = asyncio.run(_run(db, ids, enabled=True, seconds=args.seconds))
    for k in ("by_id", "list"):
        print(f"{k:6} policy off {off[k]:8.0f} req/s  on {on[k]:8.0f} req/s  cost {1 - on[k] / off[k]:6.1%}")


if __name__ == "__main__":
    main()
