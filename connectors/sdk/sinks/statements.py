"""The people sink's statements: source records, enrolments and households."""

from __future__ import annotations

from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import EnrollmentRow as EnrollmentTableRow
from store.tables.records import HouseholdRow, ResidentSourceRow

UPSERT_SOURCE = RowInsert(
    table_of(ResidentSourceRow),
    ("source", "record_key", "resident_id", "national_id", "household_id", "source_updated_at",
     "content_hash", "values", "first_seen", "last_seen"),
    update_on=("source", "record_key"),
    update=("resident_id", "national_id", "household_id", "source_updated_at", "content_hash", "values",
            "last_seen"),
)  # fmt: skip
UPSERT_ENROLLMENT = RowInsert(
    table_of(EnrollmentTableRow),
    ("id", "resident_id", "kind", "status", "source", "record_key", "updated_at", "doc"),
    update_on=("id",),
    update=("resident_id", "kind", "status", "updated_at", "doc"),
)
INSERT_HOUSEHOLD = RowInsert(
    table_of(HouseholdRow), ("id", "household_no", "region_code", "head_resident_id", "updated_at")
)
