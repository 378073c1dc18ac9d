"""Citizen ID numbers (公民身份号码) per GB 11643-1999: validation, normalisation, 15-to-18 upgrade."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

__all__ = ["CitizenId", "InvalidCitizenId", "normalise_citizen_id"]


class InvalidCitizenId(ValueError):
    """Raised for a number that cannot be a valid citizen ID; `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# Full-width digits and X as typed by some input methods; folded before checking.
_FOLD = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")


def normalise_citizen_id(raw: str) -> str:
    """Return the canonical 18-character form of `raw`, or raise InvalidCitizenId.

    Accepts surrounding spaces, lowercase x and legacy 15-digit numbers (GB 11643-1999
    upgrade: insert 19 before the 2-digit year, append the computed check character).
    Refuses a wrong check character and an impossible birth date: both are data-entry errors.
    """
    number = ric.compact(raw.translate(_FOLD).strip().replace(" ", "")).upper()
    if not number:
        raise InvalidCitizenId("missing_id", "no citizen ID number")
    if len(number) == 15:
        if not number.isdigit():
            raise InvalidCitizenId("invalid_id", "a 15-digit citizen ID has only digits")
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")  # it expects a placeholder check
    if len(number) != 18:
        raise InvalidCitizenId("invalid_id", f"a citizen ID has 18 characters, not {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidCitizenId("invalid_id", "a citizen ID is 17 digits and a check character 0-9 or X")
    try:
        ric.get_birth_date(number)
    except ValidationError as exc:
        raise InvalidCitizenId("invalid_id", "the birth date in the citizen ID is impossible") from exc
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidCitizenId("invalid_id", "the check character of the citizen ID is wrong")
    return number


def birth_date_of(number: str) -> dt.date:
    """Return the birth date encoded in a normalised citizen ID."""
    return ric.get_birth_date(number)


def sex_code_of(number: str) -> str:
    """Return the GB/T 2261.1 sex code the sequence digit implies (odd male, even female)."""
    return "1" if int(number[16]) % 2 else "2"


def _to_str(value: object) -> object:
    return str(value) if isinstance(value, int) else value


CitizenId = Annotated[
    str,
    BeforeValidator(_to_str),
    AfterValidator(normalise_citizen_id),
    Field(
        description="National citizen ID number (公民身份号码, GB 11643-1999), normalised to 18 characters "
        "with an upper-case X. Legacy 15-digit numbers are upgraded.",
        examples=["511599198503120415"],
        # The check character is no regular expression; the named format tells generators (the fuzz
        # hooks in tests/contract/formats.py) and integrators to compute it.
        json_schema_extra={"format": "gb11643"},
    ),
]
