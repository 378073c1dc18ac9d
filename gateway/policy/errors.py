"""Policy refusals as problem types (403: the caller is known but the policy does not allow this)."""

from __future__ import annotations

from gateway.errors import Forbidden, GatewayError, occurrence


class PurposeRequired(
    Forbidden,
    slug="purpose-required",
    title="Purpose of use required",
    title_zh="需要说明使用目的",
    detail_zh="所请求的数据含个人信息：请在 X-Purpose 中说明使用目的。",
    example=occurrence(
        "residents holds personal data: state a purpose in X-Purpose",
        missing="purpose-required",
        resource="residents",
    ),
):
    """Personal data asked for without an X-Purpose (PIPL Art. 6)."""


class GrantMissing(
    Forbidden,
    slug="grant-missing",
    title="No grant allows this",
    title_zh="无共享授权",
    detail_zh="没有任何授权允许该客户端为此目的访问此资源。",
    example=occurrence(
        "no grant allows client hr residents for purpose elderly-care",
        missing="grant-missing",
        purpose="elderly-care",
        resource="residents",
    ),
):
    """No grant allows this client this resource for this purpose."""


class ConsentRequired(
    Forbidden,
    slug="consent-required",
    title="The resident's consent is required",
    title_zh="需要居民本人同意",
    detail_zh="仅在代办某位居民且有其同意记录时才允许：请提供 X-On-Behalf-Of 和 X-Consent-Id。",
    example=occurrence(
        "qingshan-agent-residents reach residents for 'pension-eligibility' only acting for one "
        "resident with their recorded consent (代办): send X-On-Behalf-Of and X-Consent-Id",
        missing="consent-required",
        purpose="pension-eligibility",
        resource="residents",
    ),
):
    """The grant allows this only acting for one resident under their consent (代办, PIPL Art. 14)."""


class ConsentInvalid(
    Forbidden,
    slug="consent-invalid",
    title="The consent does not cover this request",
    title_zh="同意记录不适用",
    detail_zh="所提供的同意记录不适用于本次请求：不属于该客户端、居民或目的不符、不在有效期内或已撤回。",
    example=occurrence(
        "consent C3F9A1B27C4D5E6F0 ended on 2027-05-31", consent_id="C3F9A1B27C4D5E6F0", problem="expired"
    ),
):
    """The consent presented does not cover this request: unknown to the client, another resident or
    purpose, outside its period, or revoked."""


class FilterNotAllowed(
    Forbidden,
    slug="filter-not-allowed",
    title="Filtering on this field is not allowed",
    title_zh="不允许按此字段筛选",
    detail_zh="策略不向该客户端展示此字段，因此也不允许按它筛选、排序或定位。",
    example=occurrence(
        "parameter tag filters on tags, which the policy does not show this client for purpose "
        "social-assistance-review",
        parameter="tag",
        field="tags",
    ),
):
    """A parameter filters, sorts or targets on a field the caller's policy does not show it (a filter
    discloses its field as surely as the field itself)."""


class PolicyRejected(
    GatewayError,
    status=422,
    slug="policy-invalid",
    title="Policy failed validation",
    title_zh="策略校验失败",
    detail_zh="新策略未通过校验，仍沿用当前策略。",
    example=occurrence("grants.yaml: grant civil-affairs-residents names unknown field nickname"),
):
    """A policy reload failed validation; the running policy stays."""


class SharingRequestInvalid(
    GatewayError,
    status=422,
    slug="sharing-request-invalid",
    title="Sharing request not acceptable",
    title_zh="共享申请不可受理",
    detail_zh="该共享申请无法按所请求的方式提出。",
    example=occurrence("field nickname is not in the catalogue of residents"),
):
    """A sharing request cannot be made as asked."""
