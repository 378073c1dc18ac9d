"""Table definitions of the store (SQLModel); the read path selects the `doc` column only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class RegionRow(SQLModel, table=True):
    """A gazetteer entry."""

    __tablename__ = "region"

    code: str = Field(primary_key=True, max_length=12)
    name: str
    level: str = Field(max_length=16)
    parent_code: str | None = Field(default=None, index=True, max_length=12)
    doc: str = Field(sa_column=Column(Text, nullable=False))


class ResidentRow(SQLModel, table=True):
    """One person across departments; `doc` is the served JSON, columns are for filtering."""

    __tablename__ = "resident"
    __table_args__ = (
        # Region subtree + keyset pagination: WHERE region_code LIKE '5115991002%' AND id > :c ORDER BY id.
        Index("ix_resident_region_id", "region_code", "id"),
        Index("ix_resident_status_id", "status", "id"),
        Index("ix_resident_household", "household_id"),
        Index("ix_resident_updated_id", "updated_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=16)
    national_id: str | None = Field(default=None, unique=True, max_length=18)
    region_code: str | None = Field(default=None, max_length=12)
    household_id: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    needs_review: bool = False
    # Lets a sync find who crossed an age threshold (60 elderly, 16 child) since its last run.
    birth_date: dt.date | None = Field(default=None, index=True)
    updated_at: dt.datetime = Field(sa_type=TS)
    created_at: dt.datetime = Field(sa_type=TS)
    doc: str = Field(sa_column=Column(Text, nullable=False))


class ResidentTagRow(SQLModel, table=True):
    """A derived tag of a resident, for tag filters that stay index-backed."""

    __tablename__ = "resident_tag"
    __table_args__ = (Index("ix_resident_tag_tag_id", "tag", "resident_id"),)

    resident_id: str = Field(primary_key=True, max_length=16)
    tag: str = Field(primary_key=True, max_length=32)


class ResidentSourceRow(SQLModel, table=True):
    """One source record's translated values for one resident, kept for provenance and merging."""

    __tablename__ = "resident_source"

    source: str = Field(primary_key=True, max_length=64)
    record_key: str = Field(primary_key=True, max_length=128)
    resident_id: str = Field(index=True, max_length=16)
    # Linking key (normalised citizen ID) and the household the record places the person in.
    national_id: str | None = Field(default=None, index=True, max_length=18)
    household_id: str | None = Field(default=None, index=True, max_length=16)
    source_updated_at: dt.datetime | None = Field(default=None, sa_type=TS)
    content_hash: str = Field(max_length=64)
    values: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: dt.datetime = Field(sa_type=TS)
    last_seen: dt.datetime = Field(sa_type=TS)


class ResidentSourceHistoryRow(SQLModel, table=True):
    """A source record withdrawn by reconciliation (its source no longer holds it): provenance history."""

    __tablename__ = "resident_source_history"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: str = Field(index=True, max_length=16)
    source: str = Field(max_length=64)
    record_key: str = Field(max_length=128)
    source_updated_at: dt.datetime | None = Field(default=None, sa_type=TS)
    values: str = Field(sa_column=Column(Text, nullable=False))
    withdrawn_at: dt.datetime = Field(sa_type=TS)


class HouseholdRow(SQLModel, table=True):
    """A registered household."""

    __tablename__ = "household"

    id: str = Field(primary_key=True, max_length=16)
    household_no: str = Field(unique=True, max_length=64)
    region_code: str | None = Field(default=None, index=True, max_length=12)
    head_resident_id: str | None = Field(default=None, max_length=16)
    updated_at: dt.datetime = Field(sa_type=TS)


class EnrollmentRow(SQLModel, table=True):
    """A benefit or insurance enrolment."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("source", "record_key", name="uq_enrollment_source_key"),)

    id: str = Field(primary_key=True, max_length=160)
    resident_id: str = Field(index=True, max_length=16)
    kind: str = Field(max_length=40)
    status: str = Field(max_length=16)
    source: str = Field(max_length=64)
    record_key: str = Field(max_length=128)
    updated_at: dt.datetime = Field(sa_type=TS)
    doc: str = Field(sa_column=Column(Text, nullable=False))


class PerSourceFact(SQLModel):
    """Columns of a fact about a resident kept once per source (the served JSON in `doc`)."""

    resident_id: str = Field(primary_key=True, max_length=16)
    source: str = Field(primary_key=True, max_length=64)
    record_key: str = Field(max_length=128)
    updated_at: dt.datetime = Field(sa_type=TS)
    # sa_type, not sa_column: a Column object cannot be shared by the tables that inherit it.
    doc: str = Field(sa_type=Text, nullable=False)


class EmploymentRow(PerSourceFact, table=True):
    """Employment of a resident as one source records it."""

    __tablename__ = "employment"

    status: str = Field(max_length=16)


class MigrationRow(PerSourceFact, table=True):
    """Where a migrant worker works, as one source records it (a later register month wins)."""

    __tablename__ = "migration"


class ServiceRow(SQLModel, table=True):
    """A public service item."""

    __tablename__ = "service"

    id: str = Field(primary_key=True, max_length=96)
    department: str = Field(index=True, max_length=32)
    active: bool = True
    updated_at: dt.datetime = Field(sa_type=TS)
    doc: str = Field(sa_column=Column(Text, nullable=False))


class NoticeRow(SQLModel, table=True):
    """A public notice; regions are also in notice_region for filtering."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_published_id", "published_at", "id"),)

    id: str = Field(primary_key=True, max_length=255)
    category: str = Field(index=True, max_length=32)
    audiences: str = Field(max_length=255)
    published_at: dt.datetime = Field(sa_type=TS)
    expires_at: dt.datetime | None = Field(default=None, sa_type=TS)
    updated_at: dt.datetime = Field(sa_type=TS)
    doc: str = Field(sa_column=Column(Text, nullable=False))


class NoticeRegionRow(SQLModel, table=True):
    """A region a notice addresses."""

    __tablename__ = "notice_region"
    __table_args__ = (Index("ix_notice_region_region", "region_code", "notice_id"),)

    notice_id: str = Field(primary_key=True, max_length=255)
    region_code: str = Field(primary_key=True, max_length=12)


class QuarantineRow(SQLModel, table=True):
    """A record a connector could not translate, with its raw payload."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("source", "record_key", name="uq_quarantine_source_key"),
        Index("ix_quarantine_open_reason", "released_at", "reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    record_key: str = Field(max_length=255)
    raw: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(max_length=64)
    message: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: dt.datetime = Field(sa_type=TS)
    last_seen: dt.datetime = Field(sa_type=TS)
    released_at: dt.datetime | None = Field(default=None, sa_type=TS)
    # How it was closed: released (translated again), withdrawn (gone from its source).
    resolution: str | None = Field(default=None, max_length=32)
    # The resident the record was linked to when held back: it returns under the same id.
    resident_id: str | None = Field(default=None, max_length=16)
    # The village a data steward chose for an `ambiguous_village` record: applied whenever it is read.
    chosen_region: str | None = Field(default=None, max_length=12)


class SyncStateRow(SQLModel, table=True):
    """Where a source's last sync stopped: watermark and resumable position."""

    __tablename__ = "sync_state"

    source: str = Field(primary_key=True, max_length=64)
    watermark: str | None = Field(default=None, max_length=64)
    position: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: dt.datetime = Field(sa_type=TS)


class SyncLockRow(SQLModel, table=True):
    """A lease on one source's sync, so two syncs of a source never run at once (across processes)."""

    __tablename__ = "sync_lock"

    source: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    acquired_at: dt.datetime = Field(sa_type=TS)
    expires_at: dt.datetime = Field(sa_type=TS)


class SyncDirtyRow(SQLModel, table=True):
    """A resident ('R…') or household ('H…') whose served documents and tags must be recomputed."""

    __tablename__ = "sync_dirty"

    key: str = Field(primary_key=True, max_length=16)
