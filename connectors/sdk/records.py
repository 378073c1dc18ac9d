"""What extract yields (raw items, checkpoints) and what the pure translations return."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

import orjson
from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import EnrollmentKind, EnrollmentStatus
from schemas.models import Notice, Region, Service

# Translations build their dicts in a fixed order, so keys need no sorting for a stable hash.
_HASH_OPTS = orjson.OPT_NON_STR_KEYS


# Widest values the sources' interfaces hold (column widths of the department databases, the HR API's
# documented limits, the RSS feed's), so a pushed 20 MB "name" is refused (invalid_record), never stored.
KEY_LEN = 64
NAME_LEN = 64
ID_LEN = 32  # citizen ID numbers as typed: 18 characters, with stray spaces and dashes
CODE_LEN = 16  # code-table values (sex, ethnicity, relation, status, region codes)
DATE_LEN = 32
PHONE_LEN = 32
TEXT_LEN = 256  # addresses, employers, places, titles
URL_LEN = 2048
BODY_LEN = 100_000  # a notice's text


def _text_field(limit: int) -> Callable[..., Any]:
    """Return a declarer of text fields of raw records at most `limit` characters long."""

    def declare(
        alias: str | None = None, description: str | None = None, *, required: bool = False, **more: Any
    ) -> Any:
        """Declare the field, read under `alias`: optional (None) unless `required`; `more`: constraints."""
        default = ... if required else None
        return Field(default, max_length=limit, alias=alias, description=description, **more)

    return declare


class _TextKinds:
    """The kinds of text fields of the sources' raw records, each with its width above."""

    key = staticmethod(_text_field(KEY_LEN))
    name = staticmethod(_text_field(NAME_LEN))
    id = staticmethod(_text_field(ID_LEN))
    code = staticmethod(_text_field(CODE_LEN))
    date = staticmethod(_text_field(DATE_LEN))
    phone = staticmethod(_text_field(PHONE_LEN))
    long = staticmethod(_text_field(TEXT_LEN))


# Declares a raw record's field: `xb: str | None = text.code("XB", "sex, GB/T 2261.1")`.
text = _TextKinds()


class RawRecord(BaseModel):
    """A source record as the department delivers it; fields carry the legacy names as aliases."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", str_strip_whitespace=False)

    # The alias of the field that keys a record in its source (JMID, personId, ...).
    key_alias: ClassVar[str] = ""
    # What the record translates to: person, enrollment, service, notice or region.
    kind: ClassVar[str] = "person"

    @classmethod
    def key_of(cls, payload: Mapping[str, Any]) -> str:
        """Return the record key of a payload, even one that fails validation."""
        return str(payload.get(cls.key_alias) or "?")

    @classmethod
    def with_village(cls, payload: dict[str, Any], code: str | None) -> dict[str, Any]:
        """Return the payload naming the village a data steward chose for it (sources naming villages
        by name only override this; the others have no ambiguous village to choose)."""
        return payload

    # A person record names its attributes holding the citizen ID, the name and the village.
    identity: ClassVar[tuple[str, str, str] | None] = None

    def missing_identity(self) -> str | None:
        """Return why the record lacks the identity its source requires (None: it has it)."""
        if self.identity is None:
            return None
        id_attr, name_attr, village_attr = self.identity
        return identity_missing(getattr(self, id_attr), getattr(self, name_attr), getattr(self, village_attr))

    def key(self) -> str:
        """Return the key of this record within its source."""
        return str(getattr(self, self._key_field()))

    @classmethod
    def _key_field(cls) -> str:
        for name, info in cls.model_fields.items():
            if info.alias == cls.key_alias or name == cls.key_alias:
                return name
        raise TypeError(f"{cls.__name__}.key_alias {cls.key_alias!r} names no field")


@dataclass(frozen=True, slots=True)
class RawItem:
    """One extracted record: the raw model to validate it with, and the payload exactly as read."""

    model: type[RawRecord]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A point the runner may commit at: `state` resumes extraction right after it.

    `final` marks the end of a complete pass (the watermark may advance); `watermark` is shown to operators.
    """

    state: dict[str, Any]
    final: bool = False
    watermark: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """Keys of one kind of record the source holds now: stored keys not listed were deleted there.

    A connector yields them when its source can list keys cheaply (a key column of a table), in as many
    Listings as it likes (one kind's are complete once the pass ends); the runner withdraws what the
    source no longer holds at the end of the sync, incremental syncs included.
    """

    kind: str
    keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class EnrollmentRecord:
    """A benefit or insurance enrolment, linked to a resident through a person record of its source."""

    record_key: str
    person_key: str  # record_key of the person record (same source) that links it to a resident
    kind: EnrollmentKind
    status: EnrollmentStatus
    amount_monthly: str | None = None  # decimal text, 2 places ("580.00")
    start: dt.date | None = None
    end: dt.date | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One source's view of one person, keyed by the source's own key and linked by citizen ID.

    `values` holds Resident field names (name, sex, birth_date, ethnicity, region_code, address, phone,
    relation, status, employment_status) plus `employment` and `migration` objects, all JSON-ready
    (codes as enum values, dates ISO); a missing value is left out. `national_id` is normalised, or None
    when the source has no number at all (the person is kept apart, flagged needs_review).
    """

    record_key: str
    national_id: str | None
    values: dict[str, Any]
    updated_at: dt.datetime | None = None
    version: str = ""  # sortable within the source: of two records of one person, the greater wins
    household_no: str | None = None
    enrollments: tuple[EnrollmentRecord, ...] = ()


Translation: TypeAlias = PersonRecord | EnrollmentRecord | Service | Notice | Region


def content_hash(record: Translation) -> str:
    """Return a stable hash of a translated record (identical input, identical hash)."""
    if isinstance(record, BaseModel):
        data: bytes = record.model_dump_json().encode()
    else:
        data = orjson.dumps(record, option=_HASH_OPTS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def identity_missing(id_number: str | None, name: str | None, village: str | None) -> str | None:
    """Return why a person record cannot be told apart: it needs a citizen ID, or a name and a village."""
    if _filled(id_number) or (_filled(name) and _filled(village)):
        return None
    return "neither a citizen ID number nor a name with a village"


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())
