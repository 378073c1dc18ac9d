"""Merge every source record of one resident into the served Resident document, by a documented policy.

Per-field precedence (first source holding a value wins; sources not listed follow, freshest first):

| field | order | why |
|---|---|---|
| status, household_id, relation, ethnicity, address | civil_affairs | the household register (户籍) |
| name, sex, birth_date, region_code | civil_affairs, hr_api, hr_migrant_register | HR fills in its own |
| employment_status | hr_api | HR keeps employment |
| phone | freshest source | people change phones; the latest update knows best |

Within one source a person may have several records (two months of the migrant register, a duplicate
registration): the one with the greatest `version` is that source's view. `sex` "unknown" (HR's 未知)
yields to a known value from a later source. A resident with no citizen ID (needs_review) has one record
and is never merged. Every served field carries its FieldProvenance; `status` defaults to active for a
person only HR or the register knows (they list living people; civil affairs has no record to say more):
that status names the source that listed the person, is marked `authoritative: false`, and flags the
resident needs_review until civil affairs confirms it.

Identity conflicts (重号): a record under the resident's citizen ID whose name AND birth date both differ
from the anchor record's (civil affairs' view first, then HR's, then the register's) is another person
sharing the number. It is never merged on the ID alone: its values are left out of the served document,
the resident is flagged needs_review, and the refresh holds the record open in quarantine as
`id_conflict` for a data steward, until the records agree again (a correction) or one goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

CIVIL, HR, REGISTER = "civil_affairs", "hr_api", "hr_migrant_register"
IDENTITY: Final = (CIVIL, HR, REGISTER)

PRECEDENCE: Final[dict[str, tuple[str, ...]]] = {
    "name": IDENTITY,
    "sex": IDENTITY,
    "birth_date": IDENTITY,
    "ethnicity": (CIVIL,),
    "region_code": IDENTITY,
    "address": (CIVIL,),
    "household_id": (CIVIL,),
    "relation": (CIVIL,),
    "status": (CIVIL,),
    "employment_status": (HR,),
}
FRESHEST: Final = ("phone",)
# Values that yield to a known value from a later source.
WEAK: Final[dict[str, frozenset[str]]] = {"sex": frozenset({"unknown"})}
SERVED: Final = (*PRECEDENCE, *FRESHEST)


class SourceRow(NamedTuple):
    """One stored source record of a resident (a resident_source row, its values decoded)."""

    source: str
    record_key: str
    updated_at: str | None  # RFC 3339 UTC 'YYYY-MM-DDTHH:MM:SSZ': sorts as time
    values: dict[str, Any]

    @property
    def version(self) -> str:
        """Return the record's version within its source."""
        return str(self.values.get("version") or "")


@dataclass(slots=True)
class Merged:
    """The served values of one resident, with provenance, employment and migration."""

    resident_id: str
    national_id: str | None
    values: dict[str, Any]
    provenance: dict[str, dict[str, Any]]
    sources: list[str]
    needs_review: bool
    employment: dict[str, Any] | None = None
    migration: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    # Records sharing the citizen ID that belong to someone else: (row, the anchor row it clashes with).
    conflicts: list[tuple[SourceRow, SourceRow]] = field(default_factory=list)


def _provenance(row: SourceRow) -> dict[str, Any]:
    return {
        "source": row.source,
        "department": row.values.get("department"),
        "record_key": row.record_key,
        "updated_at": row.updated_at,
    }


def _freshness(row: SourceRow) -> tuple[str, str]:
    return (row.updated_at or "", row.source)


def _choose(
    views: dict[str, SourceRow], values: dict[str, Any], provenance: dict[str, dict[str, Any]]
) -> None:
    """Pick every served field from several sources' views, by precedence or freshness."""
    marks = {source: _provenance(row) for source, row in views.items()}
    by_freshness = sorted(views.values(), key=_freshness, reverse=True)
    rankings: dict[tuple[str, ...], list[SourceRow]] = {}
    for name, order in PRECEDENCE.items():
        ranked = rankings.get(order)
        if ranked is None:
            listed = [views[s] for s in order if s in views]
            ranked = rankings[order] = listed + [r for r in by_freshness if r.source not in order]
        weak = WEAK.get(name, frozenset())
        chosen: SourceRow | None = None
        for row in ranked:
            value = row.values.get(name)
            if value is None:
                continue
            if chosen is None or (chosen.values[name] in weak and value not in weak):
                chosen = row
            if value not in weak:
                break
        if chosen is not None:
            values[name] = chosen.values[name]
            provenance[name] = marks[chosen.source]
    for name in FRESHEST:
        for row in by_freshness:
            if row.values.get(name) is not None:
                values[name] = row.values[name]
                provenance[name] = marks[row.source]
                break


def primary_rows(rows: list[SourceRow]) -> dict[str, SourceRow]:
    """Return each source's view of the person: its record with the greatest version."""
    best: dict[str, SourceRow] = {}
    for row in rows:
        seen = best.get(row.source)
        if seen is None or (row.version, row.record_key) > (seen.version, seen.record_key):
            best[row.source] = row
    return best


def split_conflicts(
    rows: list[SourceRow], views: dict[str, SourceRow], *, linked: frozenset[tuple[str, str]]
) -> list[tuple[SourceRow, SourceRow]]:
    """Return the rows that clash with the anchor record (name and birth date both differ), each with it.

    `linked` holds (source, record_key) of records a data steward declared the same person anyway.
    """
    if len(rows) < 2 or rows[0].values.get("national_id") is None:
        return []
    for source in IDENTITY:  # the identity-authoritative record anchors; else the first source by name
        if source in views:
            anchor = views[source]
            break
    else:
        anchor = views[min(views)]
    name, birth = anchor.values.get("name"), anchor.values.get("birth_date")
    if name is None or birth is None:
        return []
    # A plain loop: this runs for every resident with two records or more (py-spy, 100k sync).
    out = []
    for r in rows:
        v = r.values
        other_name, other_birth = v.get("name"), v.get("birth_date")
        if (
            other_name is not None
            and other_birth is not None
            and other_name != name
            and other_birth != birth
            and (r.source, r.record_key) not in linked
        ):
            out.append((r, anchor))
    return out


def merge(
    resident_id: str, rows: list[SourceRow], *, linked: frozenset[tuple[str, str]] = frozenset()
) -> Merged:
    """Merge a resident's source records by the policy of this module."""
    views = primary_rows(rows)
    conflicts = split_conflicts(rows, views, linked=linked)
    if conflicts:
        apart = {id(r) for r, _ in conflicts}
        rows = [r for r in rows if id(r) not in apart]
        views = primary_rows(rows)
    values: dict[str, Any] = {}
    provenance: dict[str, dict[str, Any]] = {}
    if len(views) == 1:  # most people: one source, nothing to choose
        (only,) = views.values()
        mark = _provenance(only)
        for name in SERVED:
            value = only.values.get(name)
            if value is not None:
                values[name] = value
                provenance[name] = mark
    else:
        _choose(views, values, provenance)
    national_id = rows[0].values.get("national_id")  # linking gives every record of a resident the same ID
    unconfirmed = _default_status(views, values, provenance)
    merged = Merged(
        resident_id=resident_id,
        national_id=national_id,
        values=values,
        provenance=provenance,
        sources=sorted(views),
        needs_review=national_id is None or unconfirmed or bool(conflicts),
        conflicts=conflicts,
    )
    hr = views.get(HR)
    if hr is not None and hr.values.get("employment"):
        job = hr.values["employment"]
        merged.employment = {
            "resident_id": resident_id,
            "status": job.get("status"),
            "employer": job.get("employer"),
            "since": job.get("since"),
            "source": HR,
            "record_key": hr.record_key,
        }
    register = views.get(REGISTER)  # the latest month's record: a later file wins
    if register is not None and register.values.get("migration"):
        trip = register.values["migration"]
        merged.migration = {
            "resident_id": resident_id,
            "work_province": trip.get("work_province"),
            "work_city": trip.get("work_city"),
            "left_on": trip.get("left_on"),
            "returned_on": trip.get("returned_on"),
            "registered_on": trip.get("registered_on"),
            "source": REGISTER,
            "record_key": register.record_key,
        }
    return merged


def _default_status(
    views: dict[str, SourceRow], values: dict[str, Any], provenance: dict[str, dict[str, Any]]
) -> bool:
    """Serve `active` for a person no authoritative source describes, naming who listed them.

    Return True when the status is such an unconfirmed default (the resident then needs review).
    """
    if values.get("status") is not None or not views:
        return False
    listed = next((views[s] for s in IDENTITY if s in views), None) or views[min(views)]
    values["status"] = "active"
    provenance["status"] = {**_provenance(listed), "authoritative": False}
    return True


_DOC_FIELDS: Final = (
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "region_code",
    "address",
    "phone",
    "household_id",
    "relation",
)


def resident_body(merged: Merged) -> dict[str, Any]:
    """Return the Resident document of a merged resident, without updated_at (added when written)."""
    values = merged.values
    doc: dict[str, Any] = {"id": merged.resident_id, "national_id": merged.national_id}
    for name in _DOC_FIELDS:
        doc[name] = values.get(name)
    doc["status"] = values.get("status") or "active"
    doc["tags"] = merged.tags
    doc["needs_review"] = merged.needs_review
    doc["employment_status"] = values.get("employment_status")
    doc["provenance"] = merged.provenance
    return doc
