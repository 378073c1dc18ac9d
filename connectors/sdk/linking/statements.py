"""The refresh's statements: the served resident, its tags, its employment and migration details."""

from __future__ import annotations

from connectors.sdk.linking.tags import DISABLED, LOW_INCOME
from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import EmploymentRow, MigrationRow, ResidentRow, ResidentTagRow

# The enrolment kinds tags read (low income, disabled), as a SQL list of constants.
TAG_KINDS = ",".join(f"'{k}'" for k in sorted(LOW_INCOME | DISABLED))

UPSERT_RESIDENT = RowInsert(
    table_of(ResidentRow),
    ("id", "national_id", "region_code", "household_id", "status", "needs_review", "birth_date",
     "updated_at", "created_at", "doc"),
    update_on=("id",),
    update=("national_id", "region_code", "household_id", "status", "needs_review", "birth_date",
            "updated_at", "doc"),
)  # fmt: skip
INSERT_TAG = RowInsert(table_of(ResidentTagRow), ("resident_id", "tag"))
UPSERT_DETAIL = {
    "employment": RowInsert(
        table_of(EmploymentRow),
        ("resident_id", "source", "record_key", "status", "updated_at", "doc"),
        update_on=("resident_id", "source"),
        update=("record_key", "status", "updated_at", "doc"),
    ),
    "migration": RowInsert(
        table_of(MigrationRow),
        ("resident_id", "source", "record_key", "updated_at", "doc"),
        update_on=("resident_id", "source"),
        update=("record_key", "updated_at", "doc"),
    ),
}
