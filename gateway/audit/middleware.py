"""Plain ASGI middleware: hold each response's start until its audit event is committed.

GB/T 22239-2019 8.1.4.3 (a) every user's important events are audited, (c) records are protected
and (d) the audit process cannot be bypassed: a response whose event cannot be committed is
replaced by 503 problem+json, never sent without its event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit.events import (
    DISCLOSED_LISTS,
    FACT_FIELDS,
    KIND_ACCESS,
    KIND_ADMIN,
    KIND_AUDIT,
    KIND_TOKEN,
    NOT_FOUND,
    AuditEvent,
)
from gateway.audit.headers import DuplicateHeader, HeaderError, InvalidAuditHeader, read_audit_headers
from gateway.audit.writer import AuditUnavailable, AuditWriter
from gateway.context import RequestRecord, record_of_scope
from gateway.errors import GatewayError
from gateway.problem_json import problem_response
from gateway.runtime import runtime_in

# Paths whose every request is a decision to audit: the API, the token endpoint, administration and
# the auditor console (auditors' own queries are audited too).
AUDITED_PREFIXES: tuple[str, ...] = ("/v1/", "/oauth/", "/oauth2/", "/admin/", "/audit/", "/dashboard/")
UNAUDITED_PREFIXES: tuple[str, ...] = ("/audit/static/", "/dashboard/static/")
DENIAL_STATUSES = frozenset({401, 403, 429})
# Headers that decide who asks, for what and for whom: given twice, which one counts is ambiguous.
SINGLE_HEADERS = (
    b"authorization",
    b"x-purpose",
    b"x-on-behalf-of",
    b"x-consent-id",
    b"x-end-user",
    b"x-case-id",
)


def kind_of(path: str) -> str:
    """Return the event kind a request path records."""
    if path.startswith(("/oauth/", "/oauth2/")):
        return KIND_TOKEN
    if path.startswith(("/v1/audit/", "/audit/")) or path.endswith("/disclosures"):
        return KIND_AUDIT
    if path.startswith(("/admin/", "/v1/admin/", "/v1/policy/", "/v1/consents")):
        return KIND_ADMIN
    return KIND_ACCESS


def audited(path: str) -> bool:
    """Tell whether requests to `path` are audited."""
    return path.startswith(AUDITED_PREFIXES) and not path.startswith(UNAUDITED_PREFIXES)


def trace_id_for(scope: Scope) -> str:
    """Return the W3C trace id: the OpenTelemetry span's, else an incoming traceparent's, else a new one."""
    state = scope.get("state") or {}
    value = state.get("trace_id")
    if isinstance(value, str) and len(value) == 32:
        return value
    for name, raw in scope.get("headers") or ():
        if name == b"traceparent":
            parts = raw.decode("latin-1").split("-")
            # W3C Trace Context §3.2: version-traceid-parentid-flags; an all-zero trace id is invalid.
            if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
                try:
                    int(parts[1], 16)
                except ValueError:
                    break
                return parts[1].lower()
            break
    return secrets.token_hex(16)


def build_event(
    scope: Scope, record: RequestRecord, *, status: int, started: float, now: dt.datetime
) -> AuditEvent:
    """Assemble the event of a finished decision from the request's record and the response status."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "(unmatched)"
    decision = record.decision or (
        "allow" if status < 400 else "deny" if status in DENIAL_STATUSES else "error"
    )
    reason = record.reason or (None if status < 400 else f"http-{status}")
    disclosed = status < 400 or decision != "allow"
    if not disclosed:
        # Allowed by the policy, then answered with an error: nothing was disclosed (a 404 outside the
        # caller's rows looks exactly like a missing record), so the event must not say `allow`.
        decision = NOT_FOUND if status == 404 else "deny" if status < 500 else "error"
        reason = f"http-{status}"
    client = scope.get("client")
    facts = {name: getattr(record, name) for name in FACT_FIELDS}
    for name in DISCLOSED_LISTS:
        facts[name] = list(facts[name]) if disclosed else []
    return AuditEvent(
        **facts,
        time=now,
        kind=kind_of(scope.get("path", "")),
        method=scope.get("method"),
        route=template,
        decision=decision,
        reason=reason,
        status=status,
        trace_id=trace_id_for(scope),
        duration_us=int((time.perf_counter() - started) * 1_000_000),
        source=client[0] if client else None,
    )


class AuditMiddleware:
    """Commit one audit event per audited request before its response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; send its response only after its event is committed."""
        if scope["type"] != "http" or not audited(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        writer: AuditWriter | None = runtime.audit_writer if (runtime := runtime_in(scope)) else None
        if writer is None:  # LegalControls(audit=False): bench/apps.py only
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        record = record_of_scope(scope)
        state: dict[str, Any] = {"started": False, "replaced": False}

        async def send_audited(message: Message) -> None:
            if state["replaced"]:
                return  # the original response was refused; its body is dropped
            if message["type"] != "http.response.start":
                await send(message)
                return
            state["started"] = True
            event = build_event(scope, record, status=message["status"], started=started, now=now)
            try:
                seq = await writer.append(event)
            except GatewayError as exc:
                state["replaced"] = True
                # The refusal is an answer too: its event is written once the log can commit again.
                refused = build_event(scope, record, status=503, started=started, now=now)
                refused.decision, refused.reason = "error", "audit-unavailable"
                writer.defer(refused)
                await _send_problem(scope, receive, send, exc)
                return
            message["headers"] = [*message.get("headers", []), (b"x-audit-seq", str(seq).encode())]
            await send(message)

        try:
            fill_from_headers(scope, record)
        except GatewayError as exc:
            await problem_response(exc, scope=scope)(scope, receive, send_audited)
            return
        try:
            await self.app(scope, receive, send_audited)
        except Exception:
            if not state["started"]:
                # The server's error handler answers 500 after us; its event goes first.
                event = build_event(scope, record, status=500, started=started, now=now)
                with contextlib.suppress(GatewayError):
                    await writer.append(event)
            raise


def fill_from_headers(scope: Scope, record: RequestRecord) -> None:
    """Copy X-End-User, X-Case-Id and X-On-Behalf-Of into the record, or raise InvalidAuditHeader."""
    names = [name for name, _ in scope.get("headers") or () if name in SINGLE_HEADERS]
    twice = sorted({n.decode() for n in names if names.count(n) > 1})
    if twice:
        # Answered for one value and audited with another is the worst case: refuse instead.
        raise DuplicateHeader(f"header {', '.join(twice)} given more than once", headers_repeated=twice)
    try:
        end_user, case_id, on_behalf_of = read_audit_headers(scope.get("headers") or ())
    except HeaderError as exc:
        raise InvalidAuditHeader(str(exc)) from exc
    record.end_user = record.end_user or end_user
    record.case_id = record.case_id or case_id
    record.on_behalf_of = record.on_behalf_of or on_behalf_of


async def _send_problem(scope: Scope, receive: Receive, send: Send, exc: GatewayError) -> None:
    if not isinstance(exc, AuditUnavailable):
        exc = AuditUnavailable(exc.detail)
    await problem_response(exc, scope=scope)(scope, receive, send)
