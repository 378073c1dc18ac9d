"""The scope names: part of the public contract, never renamed (RFC 6749 §3.3)."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """An OAuth scope a client may be granted."""

    RESIDENTS_READ = "residents:read"
    RESIDENTS_SENSITIVE_READ = "residents.sensitive:read"
    HOUSEHOLDS_READ = "households:read"
    ENROLLMENTS_READ = "enrollments:read"
    EMPLOYMENT_READ = "employment:read"
    MIGRATIONS_READ = "migrations:read"
    SERVICES_READ = "services:read"
    NOTICES_READ = "notices:read"
    NOTICES_WRITE = "notices:write"
    QUARANTINE_READ = "quarantine:read"
    QUARANTINE_WRITE = "quarantine:write"
    AUDIT_READ = "audit:read"
    ADMIN_CLIENTS = "admin:clients"
    ADMIN_POLICIES = "admin:policies"
    DISCLOSURES_READ = "disclosures:read"
    SHARING_APPROVE = "sharing:approve"
    STATISTICS_READ = "statistics:read"
    CHANGES_READ = "changes:read"
    SUBSCRIPTIONS_WRITE = "subscriptions:write"
    CONSENTS_READ = "consents:read"
    CONSENTS_WRITE = "consents:write"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    APPEALS_READ = "appeals:read"
    APPEALS_WRITE = "appeals:write"
    INGEST_CIVIL_AFFAIRS = "ingest:civil_affairs"
    INGEST_HR_API = "ingest:hr_api"
    INGEST_HR_MIGRANT_REGISTER = "ingest:hr_migrant_register"
    INGEST_PUBLICITY = "ingest:publicity"
    TOKENS_INTROSPECT = "tokens:introspect"


DESCRIPTIONS: dict[Scope, str] = {
    Scope.RESIDENTS_READ: "Read residents (居民), masked sensitive fields; includes lookup by citizen ID.",
    Scope.RESIDENTS_SENSITIVE_READ: "See residents' national ID, phone and address unmasked (PIPL Art. 28).",
    Scope.HOUSEHOLDS_READ: "Read registered households (户).",
    Scope.ENROLLMENTS_READ: "Read programme enrolments.",
    Scope.EMPLOYMENT_READ: "Read residents' employment as HR records it (就业信息).",
    Scope.MIGRATIONS_READ: "Read residents' migrant-work records (外出务工登记).",
    Scope.SERVICES_READ: "Read public service items (服务事项).",
    Scope.NOTICES_READ: "Read notices (公告).",
    Scope.NOTICES_WRITE: "Publish notices.",
    Scope.QUARANTINE_READ: "Read records a connector quarantined, and each department's quality feedback.",
    Scope.QUARANTINE_WRITE: "Data steward: resolve quarantined records of the own department's sources.",
    Scope.AUDIT_READ: "Read the audit log.",
    Scope.ADMIN_CLIENTS: "Register, disable and rotate OAuth clients.",
    Scope.ADMIN_POLICIES: "Manage sharing policies.",
    Scope.DISCLOSURES_READ: "Read the disclosure record of a resident.",
    Scope.SHARING_APPROVE: "Approve data-sharing requests.",
    Scope.STATISTICS_READ: "Read aggregate statistics.",
    Scope.CHANGES_READ: "Follow the change feed of the records the caller may read.",
    Scope.SUBSCRIPTIONS_WRITE: "Create, list and delete webhook subscriptions; replay dead letters.",
    Scope.CONSENTS_READ: "Read the residents' consents this client recorded for assisted access (代办).",
    Scope.CONSENTS_WRITE: "Record and revoke residents' consents for assisted access (代办).",
    Scope.ALERTS_READ: "Read the early-warning worklist (预警) of the client's department.",
    Scope.ALERTS_WRITE: "Close early-warning items of the client's department with an outcome.",
    Scope.APPEALS_READ: "Read residents' requests (诉求) the client recorded or its department handles.",
    Scope.APPEALS_WRITE: "Record residents' requests (诉求) and forward, answer and close them.",
    Scope.INGEST_CIVIL_AFFAIRS: "Push changed civil-affairs (民政) rows: residents, enrolments, services.",
    Scope.INGEST_HR_API: "Push changed HR (人社) API items: persons and service items.",
    Scope.INGEST_HR_MIGRANT_REGISTER: "Push rows of the monthly migrant-worker register (外出务工登记).",
    Scope.INGEST_PUBLICITY: "Push new or edited notices from the county media centre's CMS (宣传).",
    Scope.TOKENS_INTROSPECT: "Introspect access tokens of other clients (a resource server); without it, "
    "a client introspects only its own.",
}

ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


class Role(StrEnum):
    """Separation of duties (三权分立, MLPS 2.0 8.1.4.1): a client holds scopes of one role only."""

    RESOURCE = "resource access"  # department systems reading and pushing data
    SECURITY = "security administration"  # clients, policies, sharing approvals
    AUDIT = "audit"  # the audit log and residents' disclosure records


def role_of(scope: str) -> Role:
    """Return the role a scope belongs to."""
    if scope.startswith("admin:") or scope == Scope.SHARING_APPROVE:
        return Role.SECURITY
    if scope in (Scope.AUDIT_READ, Scope.DISCLOSURES_READ):
        return Role.AUDIT
    return Role.RESOURCE


def mixed_roles(scopes: list[str] | tuple[str, ...]) -> str | None:
    """Return why these scopes cannot go to one client (None: they belong to one role)."""
    by_role: dict[Role, list[str]] = {}
    for name in dict.fromkeys(scopes):
        by_role.setdefault(role_of(name), []).append(name)
    if len(by_role) < 2:
        return None
    parts = "; ".join(f"{role.value}: {', '.join(names)}" for role, names in by_role.items())
    return (
        "a client holds the scopes of one role only (separation of duties: resource access, "
        f"security administration, audit); these mix {len(by_role)} roles ({parts}): "
        "register one client per role"
    )


# What a caller of the admin API may register: a security administrator registers department systems;
# security administration and audit clients are registered by an operator (`gateway clients create`,
# recorded in the audit log), never by a client over HTTP, so no client creates its own overseer.
ADMINISTERS: dict[Role, frozenset[Role]] = {Role.SECURITY: frozenset({Role.RESOURCE})}


def ingest_scope(source: str) -> Scope | None:
    """Return the scope that lets a client push records of `source`, or None when there is none."""
    try:
        return Scope(f"ingest:{source}")
    except ValueError:
        return None


def parse_scopes(raw: str | None) -> list[str]:
    """Split a space-delimited scope string into its distinct names, order kept (RFC 6749 §3.3)."""
    seen: dict[str, None] = {}
    for name in (raw or "").split():
        seen.setdefault(name, None)
    return list(seen)


def unknown_scopes(names: list[str] | frozenset[str]) -> list[str]:
    """Return the names that are not scopes of this gateway, sorted."""
    return sorted(set(names) - ALL_SCOPES)
