"""Policy refusals as problem types (403: the caller is known but the policy does not allow this)."""

from __future__ import annotations

from gateway.errors import Forbidden, GatewayError


class PurposeRequired(Forbidden):
    """Personal data asked for without an X-Purpose (PIPL Art. 6)."""

    slug, title = "purpose-required", "Purpose of use required"


class GrantMissing(Forbidden):
    """No grant allows this client this resource for this purpose."""

    slug, title = "grant-missing", "No grant allows this"


class ConsentRequired(Forbidden):
    """The grant allows this only acting for one resident under their consent (代办, PIPL Art. 14)."""

    slug, title = "consent-required", "The resident's consent is required"


class ConsentInvalid(Forbidden):
    """The consent presented does not cover this request: unknown to the client, another resident or
    purpose, outside its period, or revoked."""

    slug, title = "consent-invalid", "The consent does not cover this request"


class FilterNotAllowed(Forbidden):
    """A parameter filters, sorts or targets on a field the caller's policy does not show it (a filter
    discloses its field as surely as the field itself)."""

    slug, title = "filter-not-allowed", "Filtering on this field is not allowed"


class PolicyRejected(GatewayError):
    """A policy reload failed validation; the running policy stays."""

    status, slug, title = 422, "policy-invalid", "Policy failed validation"


class SharingRequestInvalid(GatewayError):
    """A sharing request cannot be made as asked."""

    status, slug, title = 422, "sharing-request-invalid", "Sharing request not acceptable"
