"""Change feed route: thin; reading and filtering live in service.py and repository.py."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.changes import service
from gateway.changes.deps import FeedAccessDep
from gateway.changes.models import ChangePage
from gateway.deps import LimitQuery, ReadDep
from gateway.errors import BadRequest, Forbidden, InvalidCursor, RateLimited, ValidationFailed
from gateway.pagination import decode_cursor, encode_cursor
from gateway.routing import api_router, operation

router = api_router(prefix="/v1/changes", tags=["changes"], dependencies=[require_scope(Scope.CHANGES_READ)])

SinceQuery = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque, signed cursor: a previous page's `next`, passed back unchanged (an altered "
        "or made-up one is 400 invalid-cursor). Absent: from the start of the log.",
    ),
]


FEED_DESCRIPTION = """\
List changes to the records the caller may read, oldest first, with the fields it is shown.

Resume with `since` set to the last page's `next`: no change is repeated and none is skipped.
`next` is never null; when `more` is false the caller is up to date and polls again later with it.
A resident change is shown when the caller's grants reach the resident's region and tags for the
stated purpose (X-Purpose), an enrolment change when its resident is readable too, a notice to
every caller holding notices:read. An event is shown only with the field it reveals (a death: `status`).
`record.withdrawn` tells that a source no longer holds a record of a resident you may read (a
`removed` entry follows when no source holds the person any more). A data steward's decision about a
held-back record (`quarantine.resolved`, the action as `status`) is shown to the holders of
quarantine:read in the department owning the source.
"""


def _position(since: str | None) -> int:
    key = decode_cursor(since, arity=1)
    if key is None:
        return 0
    if not isinstance(key[0], int) or key[0] < 0:
        raise InvalidCursor("the cursor is not one this gateway issued")
    return key[0]


@router.get(
    "",
    **operation(
        "Follow the change feed",
        BadRequest,
        Forbidden,
        ValidationFailed,
        RateLimited,
        model=ChangePage,
        description=FEED_DESCRIPTION,
    ),
)
async def list_changes(
    db: ReadDep, feed: FeedAccessDep, since: SinceQuery = None, limit: LimitQuery = 50
) -> Response:
    """List changes to the records the caller may read, oldest first."""
    seen = await service.read_visible(db, feed.viewer, after=_position(since), limit=limit)
    residents = [
        shown["resident_id"] or change.resident_id or change.record_id
        for change, shown in seen.items
        if change.resource not in ("notice", "quarantine")  # about no resident
    ]
    await feed.access.disclose("resident", [r for r in residents if r])
    body = {
        "items": [shown for _, shown in seen.items],
        "next": encode_cursor([seen.position]),
        "more": seen.more,
    }
    return Response(orjson.dumps(body), media_type="application/json")
