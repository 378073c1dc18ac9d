"""Quality feedback routes: thin; the report is built in service.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.deps import EngineDep
from gateway.errors import Forbidden
from gateway.quality import service
from gateway.routing import ITEM_PROBLEMS, api_router, operation

router = api_router(
    prefix="/v1/quality", tags=["quality"], dependencies=[require_scope(Scope.QUARANTINE_READ)]
)


class QualityLine(BaseModel):
    """One held-back (or released) record, in the department's own key."""

    record_key: str
    reason: str
    message: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    released_at: dt.datetime | None = None


class QualityDay(BaseModel):
    """Records first held back on one day (UTC), by reason."""

    day: str
    reasons: dict[str, int]


class QualityReport(BaseModel):
    """A source's quality feedback (数据质量反馈)."""

    source: str
    open_by_reason: dict[str, int] = Field(description="Records held back now, by reason code.")
    held_back_by_day: list[QualityDay]
    released_total: int = Field(description="Records released after the source corrected them.")
    to_correct: list[QualityLine]
    released: list[QualityLine]


@router.get(
    "/{source}",
    **operation(
        "Quality feedback of a source",
        Forbidden,
        *ITEM_PROBLEMS,
        model=QualityReport,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    ),
)
async def get_quality(
    principal: PrincipalDep,
    engine: EngineDep,
    record: RecordDep,
    source: Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")],
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: the records to correct, for the department.")
    ] = "json",
) -> Any:
    """Return counts by reason over time, the records to correct and those released after correction."""
    report = await service.feedback(engine, source, principal=principal)
    record.disclose("quality", [source])
    if format == "csv":
        return Response(
            service.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{source}-to-correct.csv"'},
        )
    return report
