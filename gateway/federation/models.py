"""The federation document (members, trust pins, who may ask whom) and the federation API's models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,63}$")]
ClientId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")]
RegionCode12 = Annotated[str, Field(pattern=r"^\d{12}$")]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=512)]
# RFC 7638 thumbprints (our kids) are 43 base64url characters; other gateways may use shorter kids.
Kid = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{8,128}$")]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt pin must not silently trust nothing (or everything)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberKind(StrEnum):
    """A peer county gateway, or a city/provincial platform relaying to other counties."""

    COUNTY = "county"
    HUB = "hub"


class Member(Strict):
    """One gateway of the federation this gateway talks to, and how it trusts it."""

    name: Ident = Field(description="Short name used in URLs, e.g. `county-b`.")
    title: str = Field(default="", max_length=128, description="Human name, e.g. 乙县数据共享网关.")
    kind: MemberKind = MemberKind.COUNTY
    region_code: RegionCode12 = Field(description="The member's county (or city/province) region code.")
    base_url: HttpUrl = Field(description="Where the member's gateway serves its API.")
    metadata_url: HttpUrl | None = Field(
        default=None,
        description="Its RFC 8414 metadata; default: base_url + /.well-known/oauth-authorization-server.",
    )
    jwks_uri: HttpUrl | None = Field(
        default=None, description="Its published keys; default: base_url + /.well-known/jwks.json."
    )
    pins: list[Kid] = Field(
        min_length=1, description="Key ids (RFC 7638 thumbprints) this gateway accepts from the member."
    )
    client_id: ClientId | None = Field(
        default=None,
        description="The member's client id in our registry (it may call us); none: outbound only.",
    )
    as_client_id: ClientId | None = Field(
        default=None,
        description="Our client id in the member's registry (we may call it); none: inbound only.",
    )
    scopes: list[str] = Field(default_factory=lambda: ["residents:read"], description="Scopes we ask it for.")
    via: Ident | None = Field(default=None, description="Reach the member through this hub member.")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Per attempt.")
    attempts: int = Field(default=3, ge=1, le=10, description="Attempts of one call (retried on failure).")
    requests_per_minute: int = Field(default=120, ge=1, le=100_000, description="Our calls to it.")
    breaker_failures: int = Field(
        default=5, ge=1, le=100, description="Failures in a row that open the circuit."
    )
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600, description="Open circuit's pause.")

    def metadata(self) -> str:
        """Return the URL of the member's authorization server metadata."""
        return self.metadata_url or self.base_url.rstrip("/") + "/.well-known/oauth-authorization-server"

    def keys_url(self) -> str:
        """Return the URL of the member's JWKS."""
        return self.jwks_uri or self.base_url.rstrip("/") + "/.well-known/jwks.json"


class Rule(Strict):
    """Who of ours (a client, a department, or a member relaying through us) may ask which members."""

    client: str | None = None
    department: str | None = None
    members: list[str] = Field(min_length=1, description="Member names, or `*` for every member.")
    purposes: list[Ident] = Field(min_length=1, description="Purposes of ours the request may state.")

    @model_validator(mode="after")
    def _one_subject(self) -> Rule:
        if (self.client is None) == (self.department is None):
            raise ValueError("a rule names exactly one of `client` or `department`")
        return self


class FederationDocument(Strict):
    """The federation document: our own identity in the federation, members and outbound rules."""

    name: Ident = Field(description="Our own member name (what others call us in their documents).")
    region_code: RegionCode12
    members: list[Member] = Field(default_factory=list)
    allow: list[Rule] = Field(
        default_factory=list, description="Who may ask other members (default: nobody)."
    )

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Return cross-reference problems (location, message): repeated names, unknown hubs and members."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        names = [m.name for m in self.members]
        hubs = {m.name for m in self.members if m.kind is MemberKind.HUB}
        for i, m in enumerate(self.members):
            if m.name == self.name or m.name in names[:i]:
                out.append((("members", i, "name"), f"member {m.name} is listed twice (or is us)"))
            if m.via is not None and m.via not in hubs:
                out.append((("members", i, "via"), f"via {m.via} is not a hub member"))
        for i, r in enumerate(self.allow):
            for j, name in enumerate(r.members):
                if name not in {*names, "*"}:
                    out.append((("allow", i, "members", j), f"unknown member {name}"))
        return out

    def member(self, name: str) -> Member | None:
        """Return the member called `name`, or None."""
        return next((m for m in self.members if m.name == name), None)

    def member_by_client(self, client_id: str) -> Member | None:
        """Return the member that calls us as `client_id`, or None."""
        return next((m for m in self.members if m.client_id == client_id), None)


class MemberView(BaseModel):
    """A member as department clients see it: whom they may ask."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "county-b", "title": "乙县", "kind": "county", "region_code": "511600000000"}
            ]
        }
    )

    name: str
    title: str
    kind: str
    region_code: str


class MemberList(BaseModel):
    """The members this gateway federates with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "county-a",
                    "items": [
                        {"name": "county-b", "title": "乙县", "kind": "county", "region_code": "511600000000"}
                    ],
                }
            ]
        }
    )

    name: str | None = Field(description="This gateway's own member name (null: federation off).")
    items: list[MemberView]


def view(member: Member) -> dict[str, Any]:
    """Return the public description of a member."""
    return {
        "name": member.name,
        "title": member.title,
        "kind": member.kind.value,
        "region_code": member.region_code,
    }
