"""Push ingest's problem types (IETF draft-ietf-httpapi-idempotency-key-header §2.7 for the key's three)."""

from __future__ import annotations

from gateway.errors import BadRequest, Conflict, GatewayError, NotFound, Unavailable, occurrence


class IdempotencyKeyMissing(
    BadRequest,
    slug="idempotency-key-missing",
    title="Idempotency-Key required",
    title_zh="缺少幂等键",
    detail_zh="推送请求必须带 Idempotency-Key 请求头。",
    example=occurrence("a push needs an Idempotency-Key header"),
):
    """A push came without an Idempotency-Key header."""


class IdempotencyKeyReused(
    GatewayError,
    status=422,
    slug="idempotency-key-reused",
    title="Idempotency-Key reused with another body",
    title_zh="幂等键已用于其他内容",
    detail_zh="该 Idempotency-Key 已用于另一批不同的数据。",
    example=occurrence("Idempotency-Key 2026-11-01-0001 was used with another body"),
):
    """The Idempotency-Key was already used with a different batch."""


class IdempotencyKeyInFlight(
    Conflict,
    slug="idempotency-key-in-flight",
    title="Push with this Idempotency-Key in progress",
    title_zh="同一幂等键的推送正在处理",
    detail_zh="使用该 Idempotency-Key 的推送仍在处理中，请稍后再查。",
    example=occurrence("a push with Idempotency-Key 2026-11-01-0001 is in progress"),
):
    """A push with this Idempotency-Key is still being processed."""


class UnknownSource(
    NotFound,
    slug="unknown-source",
    title="Unknown source",
    title_zh="未知数据源",
    detail_zh="没有该名称的数据源接受推送。",
    example=occurrence("no source nosuch takes pushes"),
):
    """No source of that name takes pushes."""


class SourceNotConfigured(
    Unavailable,
    slug="source-not-configured",
    title="Source not configured",
    title_zh="数据源未配置",
    detail_zh="该数据源接受推送，但本服务缺少转换所需的配置。",
    example=occurrence("source hr_api is not configured on this server"),
):
    """The source takes pushes, but this server lacks what translating them needs (its settings)."""
