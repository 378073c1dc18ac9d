"""Errors a connector raises: the runner decides from the class whether to stop, retry or quarantine."""

from __future__ import annotations


class SourceError(Exception):
    """A failure of the department source as a whole (not of one record)."""


class FatalSourceError(SourceError):
    """The source cannot be read at all (bad key, missing file, wrong schema): fail the sync now."""


class RetriableSourceError(SourceError):
    """The source failed transiently (timeouts, 503, internal errors) past the retry budget."""


class RecordInvalid(Exception):
    """One record cannot be translated; the runner quarantines it with a stable reason code.

    `retryable` marks a reason that depends on other records (an enrolment whose resident is not in the
    store yet): the runner replays such records from quarantine at the end of every sync of their source.
    """

    def __init__(self, reason: str, message: str, *, retryable: bool = False) -> None:
        """Hold the reason code (e.g. invalid_id) and a message for the operator."""
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retryable = retryable


class SyncLocked(Exception):
    """Another process holds the sync lease of this source."""


class ConfigError(Exception):
    """The sources configuration is missing, malformed or names an unknown source."""


class Reason:
    """Stable quarantine reason codes (samples/expected.json uses the first four)."""

    INVALID_ID = "invalid_id"  # GB 11643-1999 check character wrong or birth date impossible
    MISSING_ID = "missing_id"  # not quarantined: kept as a needs_review resident
    UNKNOWN_VILLAGE = "unknown_village"
    UNRECOVERABLE_ID = "unrecoverable_id"  # a spreadsheet turned the number into 5.11599E+17
    AMBIGUOUS_VILLAGE = "ambiguous_village"
    VILLAGE_MISMATCH = "village_mismatch"
    INVALID_CODE = "invalid_code"  # a value outside its national code table
    INVALID_DATE = "invalid_date"
    INVALID_REGION = "invalid_region"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_RECORD = "invalid_record"  # the payload does not have the source's documented shape
    MISSING_IDENTITY = "missing_identity"  # a person with neither an ID number nor a name and a village
    UNKNOWN_RESIDENT = "unknown_resident"  # refers to a person the source does not hold (or holds back)
    ID_CONFLICT = "id_conflict"  # one citizen ID, two people (重号): opened and closed by the refresh
    RESIDENT_HELD_BACK = "resident_held_back"  # its person record is in quarantine: kept, returns with it


# Reasons that depend on other records: such quarantined records are replayed at the end of each sync.
RETRYABLE_REASONS = frozenset({Reason.UNKNOWN_RESIDENT, Reason.RESIDENT_HELD_BACK})
