"""Push ingest's problem types (IETF draft-ietf-httpapi-idempotency-key-header §2.7 for the key's three)."""

from __future__ import annotations

from gateway.errors import BadRequest, Conflict, GatewayError, NotFound, Unavailable


class IdempotencyKeyMissing(BadRequest):
    """A push came without an Idempotency-Key header."""

    slug, title = "idempotency-key-missing", "Idempotency-Key required"


class IdempotencyKeyReused(GatewayError):
    """The Idempotency-Key was already used with a different batch."""

    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with another body"


class IdempotencyKeyInFlight(Conflict):
    """A push with this Idempotency-Key is still being processed."""

    slug, title = "idempotency-key-in-flight", "Push with this Idempotency-Key in progress"


class UnknownSource(NotFound):
    """No source of that name takes pushes."""

    slug, title = "unknown-source", "Unknown source"


class SourceNotConfigured(Unavailable):
    """The source takes pushes, but this server lacks what translating them needs (its settings)."""

    slug, title = "source-not-configured", "Source not configured"
