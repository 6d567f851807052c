"""Checks of Chinese identifiers and formats (RULES.md §6): resident ID numbers,
unified social credit codes, organisation codes, case numbers and published dates.

Each check returns a problem description (what was expected) or None when the value
is good, so callers can wrap it in their own error type.
"""

from __future__ import annotations

import re
from datetime import date

from contract.vocab import PROVINCE_OF_COURT_PREFIX

# GB 11643-1999, ISO 7064 MOD 11-2.
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"
RIC = re.compile(r"^\d{17}[\dX]$")
MASKED_RIC = re.compile(r"^(\d{10}\*{4}\d{3}[\dX]|\d{11}\*{4}\d{3}[\dX])$")

# GB 32100-2015 and GB 11714-1997.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")

# Case numbers (SPC-CASENO 2016 style and the pre-2016 style), any province.
_PREFIXES = "".join(PROVINCE_OF_COURT_PREFIX)
CASE_NUMBER = re.compile(
    r"^[（(](?P<year>\d{4})[）)]"
    rf"(?P<court>最高法|[{_PREFIXES}]\d{{0,4}})"
    r"(?P<type>(?:(?!字第)[\u4e00-\u9fff]){1,4}?)(?P<seq>\d+)号(?:之[一二三四五六七八九十]+)?$"
)
ENFORCEMENT_CASE_TYPES = ("执恢", "执保", "执异", "执复", "执监", "执协", "执他", "执")
OLD_CASE_NUMBER = re.compile(
    r"^[（(](?P<year>\d{4})[）)](?P<court>[\u4e00-\u9fff]{1,8}?)"
    r"(?P<type>[\u4e00-\u9fff]{0,3})字第(?P<seq>\d+)号(?:之[一二三四五六七八九十]+)?$"
)
MEASURE_CODE = re.compile(r"^[A-Z][A-Z_]*\.[A-Z][A-Z_]*$")
_CHINESE_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def ric_check_char(body: str) -> str:
    total = sum(int(c) * w for c, w in zip(body, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECK[total % 11]


def check_resident_id(value: str) -> str | None:
    """Problem with a full 18-character resident ID number, or None."""
    if MASKED_RIC.match(value):
        return (
            "a full resident ID number; "
            "masked numbers belong only in the published card number"
        )
    if not RIC.match(value):
        return "an 18-character resident ID number (17 digits and a check digit or X)"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "a resident ID number whose characters 7-14 are a birth date"
    expected = ric_check_char(value[:17])
    if value[17] != expected:
        return (
            f"a resident ID number with check digit {expected!r} (GB 11643, MOD 11-2)"
        )
    return None


def org_code_check_char(body: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def check_org_code(value: str) -> str | None:
    """Problem with a 9-character organisation code (GB 11714), or None."""
    if not ORG_CODE.match(value):
        return "a 9-character organisation code (8 digits or capitals and a check char)"
    expected = org_code_check_char(value[:8])
    if value[8] != expected:
        return f"an organisation code with check character {expected!r} (GB 11714)"
    return None


def uscc_check_char(body: str) -> str:
    total = sum(
        _USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> str | None:
    """Problem with an 18-character unified social credit code (GB 32100), or None."""
    if not USCC.match(value):
        return (
            "an 18-character unified social credit code "
            f"(characters from {_USCC_ALPHABET!r}, positions 3-8 digits)"
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return (
            f"a unified social credit code with check character {expected!r} (GB 32100)"
        )
    problem = check_org_code(value[8:17])
    if problem:
        return f"a unified social credit code whose characters 9-17 are {problem}"
    return None


def check_published_card_number(value: str) -> str | None:
    """Problem with a card number as published: masked ID, org code or USCC."""
    if "*" in value:
        if MASKED_RIC.match(value):
            return None
        return "a masked resident ID number (first 10 or 11 characters, ****, last 4)"
    if RIC.match(value) and check_resident_id(value) is None:
        return "a masked resident ID number; a full ID number must not be published"
    if len(value) == 9:
        return check_org_code(value)
    if len(value) == 18:
        return check_uscc(value)
    return "a masked resident ID number, a 9-character org code or an 18-character USCC"


def check_case_number(value: str, enforcement: bool = False) -> str | None:
    """Problem with a case number in either bracket style, or the pre-2016 style."""
    match = CASE_NUMBER.match(value)
    if match:
        if enforcement and match["type"] not in ENFORCEMENT_CASE_TYPES:
            return f"an enforcement case number (type one of {ENFORCEMENT_CASE_TYPES})"
        return None
    old = OLD_CASE_NUMBER.match(value)
    if old:
        if enforcement and not old["type"].startswith("执"):
            return "an enforcement case number (执字第…号)"
        return None
    return (
        "a case number such as （2019）闽0203执7784号, (2019)闽0203执7784号 "
        "or （2015）思执字第03834号"
    )


def province_of_case_number(value: str) -> str | None:
    """Two-digit province code from the court code of a 2016-style case number."""
    match = CASE_NUMBER.match(value)
    if not match or match["court"] == "最高法":
        return None
    return PROVINCE_OF_COURT_PREFIX.get(match["court"][0])


def parse_published_date(value: str) -> date | None:
    """A date written 2016年06月01日, 20160601 or 2016-06-01; None if not a date."""
    match = (
        _ISO_DATE.match(value)
        or _CHINESE_DATE.match(value)
        or _COMPACT_DATE.match(value)
    )
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
