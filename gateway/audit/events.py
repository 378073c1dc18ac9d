"""The audit event and its canonical encoding (RFC 8785 JSON Canonicalization Scheme).

The stored body of an event *is* its canonical encoding; hashes are taken over those bytes, so
verification never re-serialises. Encoding uses orjson with sorted keys, which is byte-identical
to RFC 8785 for the values an event holds: ASCII keys (sorted by code point = RFC 8785 §3.2.3's
UTF-16 order), strings, integers below 2**53, lists of strings and null; no floats (durations are
integer microseconds). `tests/audit/test_canonical.py` checks the equality against the `rfc8785`
package by property, and `verify` rejects any stored body that is not in canonical form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson

FORMAT_VERSION = 1
MAX_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3: integers beyond IEEE 754 double are not canonical

# Event kinds: what sort of decision the event records.
KIND_ACCESS = "access"
KIND_TOKEN = "token"  # noqa: S105 (an event kind, not a secret)
KIND_ADMIN = "admin"
KIND_AUDIT = "audit"
# Decisions: allow, deny, error, and not-found (allowed, then answered 404: nothing disclosed).
NOT_FOUND = "not-found"
REFUSALS = ("deny", NOT_FOUND)  # decisions that refused the caller something (denial summaries)


def format_time(moment: dt.datetime) -> str:
    """Render a moment as RFC 3339 UTC with microseconds (fixed width, so it sorts as text)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """Parse a time written by format_time."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


@dataclass(slots=True, kw_only=True)
class AuditEvent:
    """One decision: who asked for what, for which purpose, what was disclosed, and the outcome."""

    time: dt.datetime
    kind: str = KIND_ACCESS
    client_id: str | None = None
    department: str | None = None
    token_id: str | None = None
    purpose: str | None = None
    end_user: str | None = None
    case_id: str | None = None
    on_behalf_of: str | None = None
    consent_id: str | None = None  # the resident's consent an assisted (代办) request acted under
    method: str | None = None
    route: str | None = None
    resource: str | None = None
    record_ids: list[str] = field(default_factory=list)
    fields_disclosed: list[str] = field(default_factory=list)
    fields_masked: list[str] = field(default_factory=list)
    decision: str = "allow"
    reason: str | None = None
    policy_version: str | None = None
    status: int = 200
    trace_id: str | None = None
    duration_us: int = 0
    source: str | None = None
    # Who acted and on what, beyond the columns: e.g. the CLI operator and command, a token's client id
    # as claimed and as authenticated, an archive's manifest. Strings, integers and lists of strings only
    # (canonical JSON); absent from the body when empty, so older bodies keep their bytes.
    details: dict[str, Any] | None = None

    def document(self, *, seq: int) -> dict[str, Any]:
        """Return the event as the JSON object that is canonicalised and hashed."""
        doc = {
            "v": FORMAT_VERSION,
            "seq": seq,
            "time": format_time(self.time),
            "kind": self.kind,
            "client_id": self.client_id,
            "department": self.department,
            "token_id": self.token_id,
            "purpose": self.purpose,
            "end_user": self.end_user,
            "case_id": self.case_id,
            "on_behalf_of": self.on_behalf_of,
            "consent_id": self.consent_id,
            "method": self.method,
            "route": self.route,
            "resource": self.resource,
            "record_ids": list(self.record_ids),
            "fields_disclosed": list(self.fields_disclosed),
            "fields_masked": list(self.fields_masked),
            "decision": self.decision,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "status": self.status,
            "trace_id": self.trace_id,
            "duration_us": min(max(self.duration_us, 0), MAX_SAFE_INT),
            "source": self.source,
        }
        if self.details:
            doc["details"] = self.details
        return doc

    def encode(self, *, seq: int) -> bytes:
        """Return the canonical (RFC 8785) bytes of the event at sequence number `seq`."""
        return canonical(self.document(seq=seq))


def canonical(doc: Any) -> bytes:
    """Encode a JSON value of the event's types canonically (RFC 8785-equal, see module docstring)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
