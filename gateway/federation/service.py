"""Federation state of one process (built in the lifespan) and the exchange: decide, forward, pass on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine

from gateway.auth.keys import KeyRing
from gateway.federation.client import CLAIMS_HEADER, Answer, Caller, MemberClient, forwarded_claims
from gateway.federation.document import FederationInvalid, load_federation
from gateway.federation.errors import (
    FederationNotAllowed,
    MemberBadAnswer,
    MemberNotFound,
    MemberRateLimited,
    MemberRefused,
    UnknownMember,
)
from gateway.federation.models import FederationDocument, Member
from gateway.federation.trust import MemberKeys
from gateway.policy.ratelimit import StoreLimiter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FederationState:
    """The federation document, members' pinned keys, one HTTP client per process, one breaker per member."""

    doc: FederationDocument | None
    keys: MemberKeys
    http: httpx.AsyncClient
    keyring: Callable[[], KeyRing]
    limiter: StoreLimiter
    public_url: str
    engine: Engine  # the token server's sync engine: used-jti records (replays) live there
    leeway: int
    path: Path | None = None
    purposes: list[str] = field(default_factory=list)
    clients: dict[str, MemberClient] = field(default_factory=dict)
    last_error: str | None = None
    _mtime: int = -1
    _task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str | None:
        """Return our own member name (None: federation is off)."""
        return self.doc.name if self.doc else None

    def member(self, name: str) -> Member:
        """Return a listed member or raise UnknownMember (we only talk to members we list)."""
        found = self.doc.member(name) if self.doc else None
        if found is None:
            raise UnknownMember(f"no federation member {name}", member=name)
        return found

    def member_keys(self, client_id: str) -> Any:
        """Return the pinned keys of the member registered as `client_id`, or None for other clients."""
        member = self.doc.member_by_client(client_id) if self.doc else None
        return self.keys.keyset(member) if member is not None else None

    def reload(self) -> None:
        """Re-read the document; an invalid one is refused (logged) and the running one stays."""
        if self.path is None:
            return
        self._mtime = _mtime(self.path)
        try:
            doc = load_federation(self.path, purposes=self.purposes)
        except FederationInvalid as exc:
            self.last_error = str(exc)
            log.error("federation document refused, keeping the running one:\n%s", exc)
            return
        old = {m.name: m for m in self.doc.members} if self.doc else {}
        for member in doc.members:
            if old.get(member.name) != member:
                self.keys.forget(member.name)  # new pins or URL: read its keys afresh
                self.clients.pop(member.name, None)
        self.doc, self.last_error = doc, None
        log.info("federation document reloaded: %d member(s)", len(doc.members))

    async def watch(self, interval: float) -> None:
        """Reload when the file changes (an operator adding a pin, a member, a rule)."""
        assert self.path is not None
        while True:
            await asyncio.sleep(interval)
            if _mtime(self.path) != self._mtime:
                await asyncio.to_thread(self.reload)

    def client(self, member: Member) -> MemberClient:
        """Return the member's HTTP client (with its breaker and token cache)."""
        found = self.clients.get(member.name)
        if found is None:
            found = self.clients[member.name] = MemberClient(member, http=self.http, keyring=self.keyring)
        return found


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


async def start_federation(
    path: Path | None,
    *,
    refresh_seconds: float = 2.0,
    keyring: Callable[[], KeyRing],
    limiter: StoreLimiter,
    public_url: str,
    engine: Engine,
    leeway: int,
    purposes: list[str],
) -> FederationState:
    """Load and check the federation document (fail fast when invalid); no file: federation off."""
    doc = await asyncio.to_thread(load_federation, path, purposes=purposes) if path is not None else None
    if doc is not None:
        log.info("federation %s: %d member(s) from %s", doc.name, len(doc.members), path)
    state = FederationState(
        doc=doc,
        keys=MemberKeys(),
        http=httpx.AsyncClient(follow_redirects=False, trust_env=False),
        keyring=keyring,
        limiter=limiter,
        public_url=public_url.rstrip("/"),
        engine=engine,
        leeway=leeway,
        path=path,
        purposes=purposes,
    )
    if path is not None:
        state._mtime = _mtime(path)
        state._task = asyncio.create_task(state.watch(refresh_seconds), name="federation-watch")
    return state


async def stop_federation(state: FederationState) -> None:
    """Stop the watcher and close the HTTP client."""
    if state._task is not None:
        state._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state._task
    await state.http.aclose()


def may_ask(
    doc: FederationDocument, *, client_id: str, department: str, member: str, purpose: str | None
) -> bool:
    """Tell whether our rules let this client (or relaying member) ask `member` (for `purpose`, if given)."""
    for rule in doc.allow:
        if rule.client is not None and rule.client != client_id:
            continue
        if rule.department is not None and rule.department != department:
            continue
        if (member in rule.members or "*" in rule.members) and (purpose is None or purpose in rule.purposes):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Exchange:
    """One call to make: who asks (as decided by us), for what purpose, under which trace."""

    caller: Caller
    client_id: str  # our direct caller (a department client, or a member relaying)
    department: str
    purpose: str | None
    trace_id: str


async def forward(
    state: FederationState, name: str, ex: Exchange, *, resource: str, body: Any = None
) -> dict[str, Any]:
    """Check our rules, spend the member's rate limit, call it (directly or via a hub), pass on its answer."""
    member = state.member(name)
    assert state.doc is not None
    if not may_ask(
        state.doc, client_id=ex.client_id, department=ex.department, member=name, purpose=ex.purpose
    ):
        asked = f" for {ex.purpose}" if ex.purpose else ""
        raise FederationNotAllowed(
            f"the federation rules do not let {ex.client_id} ask {name}{asked}",
            member=name,
            purpose=ex.purpose,
        )
    await state.limiter.take(f"federation:{name}", n=1, limit=member.requests_per_minute, period=60)
    hop = state.member(member.via) if member.via else member
    if hop.as_client_id is None:
        raise UnknownMember(f"this gateway is not registered with {hop.name}", member=name)
    lookup = resource == "residents:lookup"
    if hop is not member:
        path = f"/v1/federation/{name}/" + ("residents:lookup" if lookup else "catalog")
    else:
        path = "/v1/federated/residents:lookup" if lookup else "/v1/catalog"
    headers = {
        "traceparent": f"00-{ex.trace_id}-{secrets.token_hex(8)}-01",
        CLAIMS_HEADER: forwarded_claims(
            state.keyring(),
            issuer_id=hop.as_client_id,
            audience=hop.base_url,
            caller=ex.caller,
            purpose=ex.purpose or "",
            trace_id=ex.trace_id,
        ),
    }
    if ex.purpose:
        headers["X-Purpose"] = ex.purpose
    answer = await state.client(hop).call("POST" if lookup else "GET", path, headers=headers, json=body)
    return pass_on(name, answer)


def pass_on(name: str, answer: Answer) -> dict[str, Any]:
    """Return the member's JSON body, or raise its refusal as our problem (its own problem attached)."""
    try:
        body = orjson.loads(answer.body) if answer.body else {}
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise MemberBadAnswer(f"{name} answered {answer.status} without a JSON object", member=name)
    if 200 <= answer.status < 300:
        return body
    detail = f"{name}: {body.get('detail') or body.get('title') or answer.status}"
    extra: dict[str, Any] = {"member": name, "member_status": answer.status, "member_type": body.get("type")}
    if answer.status == 404:
        raise MemberNotFound(detail, **extra)
    if answer.status in (401, 403):
        raise MemberRefused(detail, **extra)
    if answer.status == 429:
        retry = answer.headers.get("retry-after", "60")
        raise MemberRateLimited(detail, headers={"Retry-After": retry if retry.isdigit() else "60"}, **extra)
    raise MemberBadAnswer(detail, **extra)
