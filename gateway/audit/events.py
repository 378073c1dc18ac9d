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
from dataclasses import dataclass, field, fields
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
class RequestFacts:
    """What a request states and what it disclosed: gathered by its RequestRecord, kept by its AuditEvent."""

    client_id: str | None = None
    department: str | None = None
    token_id: str | None = None
    purpose: str | None = None
    end_user: str | None = None
    case_id: str | None = None
    on_behalf_of: str | None = None
    consent_id: str | None = None  # the resident's consent an assisted (代办) request acted under
    resource: str | None = None
    record_ids: list[str] = field(default_factory=list)
    fields_disclosed: list[str] = field(default_factory=list)
    fields_masked: list[str] = field(default_factory=list)
    policy_version: str | None = None
    # Who acted and on what, beyond the columns: e.g. the CLI operator and command, a token's client id
    # as claimed and as authenticated, an archive's manifest. Strings, integers and lists of strings only
    # (canonical JSON); absent from the body when empty, so older bodies keep their bytes.
    details: dict[str, Any] | None = None


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RequestFacts))
DISCLOSED_LISTS = ("record_ids", "fields_disclosed", "fields_masked")  # emptied when nothing was disclosed


@dataclass(slots=True, kw_only=True)
class AuditEvent(RequestFacts):
    """One decision: who asked for what, for which purpose, what was disclosed, and the outcome."""

    time: dt.datetime
    kind: str = KIND_ACCESS
    method: str | None = None
    route: str | None = None
    decision: str = "allow"
    reason: str | None = None
    status: int = 200
    trace_id: str | None = None
    duration_us: int = 0
    source: str | None = None

    def document(self, *, seq: int) -> dict[str, Any]:
        """Return the event as the JSON object that is canonicalised and hashed."""
        doc: dict[str, Any] = {"v": FORMAT_VERSION, "seq": seq}
        for name in _BODY_FIELDS:
            doc[name] = getattr(self, name)
        doc["time"] = format_time(self.time)
        for name in DISCLOSED_LISTS:
            doc[name] = list(doc[name])
        doc["duration_us"] = min(max(self.duration_us, 0), MAX_SAFE_INT)
        if self.details:
            doc["details"] = self.details
        return doc

    def encode(self, *, seq: int) -> bytes:
        """Return the canonical (RFC 8785) bytes of the event at sequence number `seq`."""
        return canonical(self.document(seq=seq))


_BODY_FIELDS = tuple(f.name for f in fields(AuditEvent) if f.name != "details")

# What a resident is told of an event that disclosed their data: who, when, why, which fields (PIPL Art. 45).
DISCLOSURE_FIELDS = (
    "seq",
    "time",
    "department",
    "client_id",
    "purpose",
    "case_id",
    "end_user",
    "on_behalf_of",
    "consent_id",
    "route",
    "resource",
    "fields_disclosed",
    "fields_masked",
)


def canonical(doc: Any) -> bytes:
    """Encode a JSON value of the event's types canonically (RFC 8785-equal, see module docstring)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
