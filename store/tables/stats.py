"""Table of the statistics releases (村级统计): one suppressed release per county and day, kept for series."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, Index, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class StatsReleaseRow(SQLModel, table=True):
    """A county's statistics of one day with every cell's count and mark (gateway/stats/snapshots.py)."""

    __tablename__ = "stats_release"
    __table_args__ = (Index("ix_stats_release_kept", "root", "kept", "as_of"),)

    root: str = Field(primary_key=True, max_length=12)
    as_of: dt.date = Field(sa_column=Column(Date, primary_key=True))
    min_cell: int
    kept: bool = Field(default=False)  # a snapshot of the series (monthly or on demand), not only a day's
    taken_at: dt.datetime = Field(sa_type=TS)
    taken_by: str = Field(max_length=128)
    body: str = Field(sa_column=Column(Text, nullable=False))
