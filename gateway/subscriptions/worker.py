"""The webhook worker: fan changes out to subscriptions, deliver due messages, retry, dead-letter.

Runs as `gateway worker`, never in a request. One pass: for every subscription, read the change log after
its cursor as the subscriber's policy shows it (the same rules as GET /v1/changes), queue one message per
matching change and move the cursor, in one transaction; then claim due messages, POST them signed,
and record and audit every attempt. Delivery is at least once: a worker dying between the POST and the
commit leaves the message to be sent again when its claim lapses, with the same webhook-id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.events import AuditEvent
from gateway.audit.sequencer import Sequencer, open_sequencer
from gateway.auth.keys import KeyConfigError, key_encryption
from gateway.auth.scopes import parse_scopes
from gateway.changes.service import read_visible
from gateway.changes.visibility import Viewer, alert_rules_for, decide_all, quarantine_sources_for
from gateway.policy.state import PolicyState, start_policy, stop_policy
from gateway.settings import Settings
from gateway.subscriptions import repository, signing
from gateway.subscriptions.targets import TargetRefused, check_target
from policies.decision import Subject
from policies.loader import DEFAULT_DIR
from store.engines import make_async_engine
from store.read import Row

log = logging.getLogger(__name__)
FAN_OUT_BATCH = 500
CLAIM_BATCH = 64
PARALLEL = 8
ERROR_WIDTH = 500


class _ConnReads:
    """The read-store interface over one connection, so the worker reads the log as the feed does."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def fetch_one(self, stmt: Any, params: Mapping[str, Any] | None = None) -> Row | None:
        return (await self.conn.execute(stmt, dict(params or {}))).first()

    async def fetch_all(self, stmt: Any, params: Mapping[str, Any] | None = None) -> list[Row]:
        return list((await self.conn.execute(stmt, dict(params or {}))).all())

    async def close(self) -> None:
        return None


@dataclass
class PassReport:
    """What one pass did."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    audited: list[int] = field(default_factory=list)


@dataclass(kw_only=True)
class Worker:
    """The worker's engine, policy, HTTP client, audit sequencer and secrets key (built by open_worker)."""

    settings: Settings
    engine: AsyncEngine
    policy: PolicyState
    http: httpx.AsyncClient
    sequencer: Sequencer
    fernet: Fernet
    lease: dt.timedelta = dt.timedelta(minutes=5)

    async def run_once(self, *, now: dt.datetime | None = None) -> PassReport:
        """Fan out new changes, then deliver every message due at `now` (default: the clock)."""
        report = PassReport()
        async with self.engine.connect() as conn:
            subscribers = await repository.subscribers(conn)
        for sub in subscribers:
            while True:  # a backlog goes out in batches, each its own short transaction
                queued, more = await self._fan_out(sub, now=now or _now())
                report.queued += queued
                if not more:
                    break
        while True:
            moment = now or _now()
            async with self.engine.begin() as conn:
                claimed = await repository.claim_due(conn, now=moment, lease=self.lease, limit=CLAIM_BATCH)
                targets = await repository.targets(conn, sorted({r[1] for r in claimed}))
            if not claimed:
                return report
            await self._deliver_all(claimed, targets, report=report, now=moment)
            if len(claimed) < CLAIM_BATCH:
                return report

    async def _fan_out(self, sub: Row, *, now: dt.datetime) -> tuple[int, bool]:
        sid, client_id, purpose, events, region, _cursor, department, client_region, scopes, status = sub
        if status != "active":
            return 0, False  # a disabled client's changes wait; they flow again if it is re-enabled
        subject = Subject(client_id=client_id, department=department, region_code=client_region)
        viewer = Viewer(
            decide_all(
                self.policy.engine, subject, purpose, scopes=parse_scopes(scopes), enabled=self.policy.enabled
            ),
            alert_rules=alert_rules_for(self.policy.engine, subject, purpose),
            quarantine_sources=quarantine_sources_for(department, parse_scopes(scopes)),
        )
        async with self.engine.begin() as conn:
            cursor = await repository.lock_subscription(conn, sid)
            if cursor is None:
                return 0, False  # another worker is fanning this subscription out
            seen = await read_visible(
                _ConnReads(conn),
                viewer,
                after=cursor,
                limit=FAN_OUT_BATCH,
                region=region,
                events=frozenset(events.split(",")),
            )
            rows = [
                {
                    "id": signing.new_message_id(),
                    "subscription_id": sid,
                    "change_seq": change.seq,
                    "event": shown["event"],
                    "record_id": change.record_id,
                    "body": orjson.dumps(
                        {"type": shown["event"], "timestamp": shown["changed_at"], "data": shown}
                    ).decode(),
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for change, shown in seen.items
            ]
            if seen.position == cursor:
                return 0, False
            if not await repository.enqueue(
                conn, rows, subscription_id=sid, start=cursor, cursor=seen.position
            ):
                return 0, False  # another worker fanned these changes out first
        return len(rows), seen.more

    async def _deliver_all(
        self, claimed: Sequence[Row], targets: Mapping[str, Row], *, report: PassReport, now: dt.datetime
    ) -> None:
        gate = asyncio.Semaphore(PARALLEL)

        async def one(row: Row) -> AuditEvent | None:
            async with gate:
                target = targets.get(row[1])
                if target is None:  # deleted meanwhile: its messages went with it
                    return None
                return await self._deliver(row, target, report=report, now=now)

        events = [e for e in await asyncio.gather(*(one(r) for r in claimed)) if e is not None]
        if events:
            report.audited.extend(await self.sequencer.append(events))

    async def _deliver(self, row: Row, target: Row, *, report: PassReport, now: dt.datetime) -> AuditEvent:
        msg_id, _sid, body, attempts, event, record_id, _due = row
        _tid, url, secret_enc, client_id, purpose, department = target
        try:
            secret = self.fernet.decrypt(secret_enc.encode()).decode()
        except InvalidToken as exc:
            # Every later message would fail the same way: stop, and say which setting is wrong.
            raise KeyConfigError(
                "cannot decrypt the webhook secrets: GATEWAY_KEY_ENCRYPTION_KEY is not the key "
                "the API that created the subscriptions uses"
            ) from exc
        status, error = await self._post(url, secret=secret, msg_id=msg_id, body=body)
        attempts += 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
        if error is None:
            values.update(state="delivered", delivered_at=_now())
            report.delivered += 1
            outcome = "delivered"
        elif attempts >= self.settings.webhook_max_attempts:
            values.update(state="dead")
            report.dead += 1
            outcome = f"dead after {attempts} attempts: {error}"
        else:
            delay = self.settings.webhook_backoff_seconds * 2 ** (attempts - 1)
            values.update(next_attempt_at=now + dt.timedelta(seconds=delay))
            report.failed += 1
            outcome = f"attempt {attempts} failed: {error}"
        async with self.engine.begin() as conn:
            await repository.finish(conn, msg_id, **values)
        data = orjson.loads(body)["data"]
        return AuditEvent(
            time=_now(),
            client_id=client_id,
            department=department,
            purpose=purpose,
            method="POST",
            route=url,
            resource=data["resource"],
            record_ids=list(dict.fromkeys(r for r in (data.get("resident_id"), record_id) if r)),
            fields_disclosed=list(data.get("fields") or ()),
            decision="allow",
            reason=f"webhook {msg_id} {event}: {outcome}",
            status=status or 0,
        )

    async def _post(self, url: str, *, secret: str, msg_id: str, body: str) -> tuple[int | None, str | None]:
        """POST one signed message; return the status and the error (None when delivered)."""
        raw = body.encode()
        stamp = int(dt.datetime.now(dt.UTC).timestamp())
        try:
            # Checked at every attempt: the operator may withdraw a prefix, and a name may re-point.
            checked = await check_target(url, self.settings.webhook_allowed_urls)
        except TargetRefused as exc:
            return None, str(exc)[:ERROR_WIDTH]
        headers = signing.headers(secret, msg_id=msg_id, timestamp=stamp, body=raw)
        try:
            response = await self.http.post(
                checked.url,
                content=raw,
                headers={**headers, "Host": checked.host_header},
                extensions={"sni_hostname": checked.server_name} if checked.server_name else None,
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_WIDTH]
        status = response.status_code
        return status, None if 200 <= status < 300 else f"HTTP {status}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def open_worker(settings: Settings) -> Worker:
    """Build the worker's engine, policy, HTTP client and audit sequencer for this process."""
    engine = make_async_engine(settings.database_url, pool_size=4)
    policy = await start_policy(
        directory=settings.policy_dir or DEFAULT_DIR,
        store=engine,
        refresh_seconds=settings.policy_refresh_seconds,
        enabled=True,
    )
    # Redirects are never followed: an allowed host must not bounce a signed delivery elsewhere.
    http = httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
    )
    sequencer = await open_sequencer(settings.database_url)
    return Worker(
        settings=settings,
        engine=engine,
        policy=policy,
        http=http,
        sequencer=sequencer,
        fernet=key_encryption(settings),
    )


async def close_worker(worker: Worker) -> None:
    """Release what open_worker built."""
    await worker.sequencer.close()
    await worker.http.aclose()
    await stop_policy(worker.policy)
    await worker.engine.dispose()


async def serve(settings: Settings, *, once: bool, stop: asyncio.Event | None = None) -> PassReport:
    """Run passes every worker_poll_seconds until `stop` is set (or one pass with `once`)."""
    stop = stop or asyncio.Event()
    worker = await open_worker(settings)
    total = PassReport()
    try:
        while not stop.is_set():
            try:
                report = await worker.run_once()
            except KeyConfigError:
                raise  # no later pass can succeed with the wrong key
            except Exception:  # a store hiccup or a bug: log it, keep the worker alive for the next pass
                if once:
                    raise
                log.exception("webhook worker pass failed")
                report = PassReport()
            for name in ("queued", "delivered", "failed", "dead"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if once:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)
        return total
    finally:
        await close_worker(worker)
