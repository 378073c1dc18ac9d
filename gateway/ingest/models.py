"""What a push answers: every record received is counted once, and each one held back is named."""

from __future__ import annotations

from pydantic import BaseModel, Field

from connectors.api import PushResult


class HeldBack(BaseModel):
    """A pushed record held back in quarantine, with the reason a sync of the source would give."""

    key: str = Field(description="The record's key in its source (JMID, personId, guid, '<file>#<序号>').")
    reason: str = Field(description="Quarantine reason code.", examples=["invalid_id"])
    message: str = Field(description="What is wrong with it, for the department's operators.")


class IngestResult(BaseModel):
    """The outcome of one push; `received` = created + updated + unchanged + superseded + quarantined."""

    source: str = Field(examples=["civil_affairs"])
    idempotency_key: str = Field(description="The push's Idempotency-Key.", examples=["mz-2026-11-02-0931-7"])
    received: int = Field(description="Records in the batch.", examples=[2])
    created: int = Field(description="Records new to the gateway.", examples=[0])
    updated: int = Field(description="Records stored before and now changed.", examples=[1])
    unchanged: int = Field(description="Records identical to what is stored.", examples=[0])
    superseded: int = Field(
        description="Earlier copies of a record key within this batch (the later copy is stored).",
        examples=[0],
    )
    quarantined: int = Field(description="Records held back (listed in `held_back`).", examples=[1])
    quarantined_by_reason: dict[str, int] = Field(examples=[{"invalid_id": 1}])
    held_back: list[HeldBack] = Field(
        examples=[
            [
                {
                    "key": "MZ00000148",
                    "reason": "invalid_id",
                    "message": "SFZHM: check character of '511599198001011234' should be 7",
                }
            ]
        ]
    )
    released: int = Field(
        description="Pushed records that were in quarantine and are stored now (corrected at the source). "
        "Records that were waiting on the pushed ones (an enrolment on its resident) are stored too, as in "
        "a sync, but are not counted here.",
        examples=[0],
    )

    @classmethod
    def of(cls, result: PushResult, *, key: str) -> IngestResult:
        """Build the answer from the runner's result."""
        return cls(
            source=result.source,
            idempotency_key=key,
            received=result.received,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            superseded=result.superseded,
            quarantined=len(result.quarantined),
            quarantined_by_reason=dict(sorted(result.reasons.items())),
            held_back=[HeldBack(key=h.key, reason=h.reason, message=h.message) for h in result.quarantined],
            released=result.released,
        )
