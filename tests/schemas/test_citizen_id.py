"""Citizen ID numbers per GB 11643-1999: the standard's example, upgrade, check character, dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.citizen_id import CitizenId, InvalidCitizenId, birth_date_of, normalise_citizen_id, sex_code_of

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(body17: str) -> str:
    """Compute the check character as the standard states it (independent of the code under test)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def test_the_standards_own_example() -> None:
    # GB 11643-1999 Appendix: 11010519491231002X, Chaoyang District, Beijing, born 1949-12-31, female.
    assert normalise_citizen_id("11010519491231002X") == "11010519491231002X"
    assert birth_date_of("11010519491231002X") == dt.date(1949, 12, 31)
    assert sex_code_of("11010519491231002X") == "2"
    assert check_char("11010519491231002") == "X"


def test_fifteen_digit_numbers_are_upgraded() -> None:
    # Insert 19 before the 2-digit year and append the check character.
    assert normalise_citizen_id("110105491231002") == "11010519491231002X"
    assert normalise_citizen_id("511599880421137") == "51159919880421137X"


def test_lowercase_x_spaces_and_full_width_digits_are_normalised() -> None:
    assert normalise_citizen_id(" 11010519491231002x ") == "11010519491231002X"
    assert normalise_citizen_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("110105194912310021", "invalid_id"),  # wrong check character
        ("11010519491231002Y", "invalid_id"),  # not a check character at all
        ("110105194902300029", "invalid_id"),  # 30 February
        ("110105194913010029", "invalid_id"),  # month 13
        ("110105491331002", "invalid_id"),  # 15-digit with month 13
        ("5.11599E+17", "invalid_id"),  # a spreadsheet's scientific notation
        ("1101051949123100", "invalid_id"),  # too short
        ("", "missing_id"),
        ("   ", "missing_id"),
    ],
)
def test_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidCitizenId) as err:
        normalise_citizen_id(raw)
    assert err.value.reason == reason


def test_pydantic_type_validates_and_normalises() -> None:
    class M(BaseModel):
        national_id: CitizenId

    assert M(national_id="110105491231002").national_id == "11010519491231002X"
    with pytest.raises(ValidationError):
        M(national_id="110105194912310021")


@given(
    region=st.integers(110000, 659999),
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 11, 1)),
    seq=st.integers(0, 999),
)
def test_every_valid_number_round_trips(region: int, birth: dt.date, seq: int) -> None:
    body = f"{region:06d}{birth:%Y%m%d}{seq:03d}"
    number = body + check_char(body)
    assert normalise_citizen_id(number.lower()) == number
    assert birth_date_of(number) == birth
    wrong = next(c for c in "0123456789X" if c != number[-1])
    with pytest.raises(InvalidCitizenId):
        normalise_citizen_id(body + wrong)
    if 1900 <= birth.year <= 1999:  # a legacy 15-digit number upgrades to the same 18-digit one
        assert normalise_citizen_id(f"{region:06d}{birth:%y%m%d}{seq:03d}") == number
