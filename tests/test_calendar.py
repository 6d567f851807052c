"""Legal time: CPL art.85 day counting, working days with 调休, provisional years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import (
    CALENDAR_DAYS,
    MONTHS,
    WORKING_DAYS,
    CalendarDataError,
    LegalCalendar,
    add_months,
    default_calendar,
)

CAL = default_calendar()
COVERED = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30))


@pytest.mark.parametrize(
    ("start", "n", "unit", "due"),
    [
        # last day a Sunday rolls to Monday (LC-021)
        (date(2023, 3, 9), 3, CALENDAR_DAYS, date(2023, 3, 13)),
        # last day a working Friday stays (LC-024)
        (date(2024, 4, 9), 3, CALENDAR_DAYS, date(2024, 4, 12)),
        # last day inside the 2020 Spring Festival extension rolls to 2020-02-03
        (date(2020, 1, 13), 15, CALENDAR_DAYS, date(2020, 2, 3)),
        # last day on National Day 2023 rolls past the holiday
        (date(2023, 9, 28), 3, CALENDAR_DAYS, date(2023, 10, 7)),
        # working days: the adjusted working Saturday 2023-10-07 counts (LC-026)
        (date(2023, 9, 26), 3, WORKING_DAYS, date(2023, 10, 7)),
        # working days skip a weekend
        (date(2024, 4, 11), 3, WORKING_DAYS, date(2024, 4, 16)),
        # zero days is the start day itself
        (date(2024, 4, 11), 0, WORKING_DAYS, date(2024, 4, 11)),
        # months clamp to the end of a shorter month
        (date(2024, 1, 31), 1, MONTHS, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, MONTHS, date(2023, 2, 28)),
        (date(2022, 5, 11), 6, MONTHS, date(2022, 11, 11)),
    ],
)
def test_deadline_last_day(start: date, n: int, unit: str, due: date) -> None:
    deadline = CAL.add(start, n, unit, "CN-35")
    assert deadline.due_date == due
    assert deadline.provisional is False


def test_deadline_into_uncovered_year_is_provisional_weekends_only() -> None:
    deadline = CAL.add(date(2026, 12, 29), 5, WORKING_DAYS, "CN")
    # 30, 31 Dec 2026; 1 Jan 2027 counted as a working day (no data): 1, 4, 5 Jan
    assert deadline.due_date == date(2027, 1, 5)
    assert deadline.provisional is True
    assert "holidays.yaml v1" in deadline.calendar_version


def test_deadline_inside_covered_year_is_not_provisional() -> None:
    assert CAL.add(date(2026, 12, 1), 3, WORKING_DAYS).provisional is False


def test_calendar_day_deadline_ending_in_uncovered_weekend_rolls_to_monday() -> None:
    deadline = CAL.add(date(2027, 1, 6), 3, CALENDAR_DAYS)  # Sat 2027-01-09
    assert deadline.due_date == date(2027, 1, 11)
    assert deadline.provisional is True


def test_due_at_is_midnight_shanghai_after_the_last_day() -> None:
    deadline = CAL.add(date(2024, 4, 9), 3, CALENDAR_DAYS)
    assert deadline.due_at.isoformat() == "2024-04-13T00:00:00+08:00"


def test_regional_layer_adds_rest_days_for_its_jurisdiction_only() -> None:
    data = {"version": "test", "regions": {"CN-35": {"holidays": ["2024-04-12"]}}}
    cal = LegalCalendar(data, "x")
    assert cal.add(date(2024, 4, 9), 3, CALENDAR_DAYS, "CN-35").due_date == date(
        2024, 4, 15
    )
    assert cal.add(date(2024, 4, 9), 3, CALENDAR_DAYS, "CN-11").due_date == date(
        2024, 4, 12
    )


def test_national_layer_covers_a_year_the_package_does_not() -> None:
    data = {"version": "t", "national": {2027: {"holidays": ["2027-01-01"]}}}
    cal = LegalCalendar(data, "x")
    deadline = cal.add(date(2026, 12, 31), 1, CALENDAR_DAYS)
    assert deadline.due_date == date(2027, 1, 4)  # Fri holiday, then weekend
    assert deadline.provisional is False


def test_layer_listing_a_date_twice_is_rejected() -> None:
    data = {
        "version": "t",
        "regions": {"CN-35": {"holidays": ["2024-01-02"], "workdays": ["2024-01-02"]}},
    }
    with pytest.raises(CalendarDataError, match="both holiday and workday"):
        LegalCalendar(data, "x")


def test_unknown_unit_is_rejected() -> None:
    with pytest.raises(ValueError, match="unit 'WEEKS' is unknown"):
        CAL.add(date(2024, 1, 1), 1, "WEEKS")


@settings(max_examples=200, deadline=None)
@given(start=COVERED, n=st.integers(min_value=1, max_value=30))
def test_working_day_deadline_is_a_working_day(start: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add(start, n, WORKING_DAYS).due_date)


@settings(max_examples=200, deadline=None)
@given(start=COVERED, n=st.integers(min_value=1, max_value=30))
def test_calendar_day_deadline_never_ends_on_a_rest_day(start: date, n: int) -> None:
    due = CAL.add(start, n, CALENDAR_DAYS).due_date
    assert CAL.is_working_day(due)
    assert due >= start + timedelta(days=n)


@settings(max_examples=150, deadline=None)
@given(
    start=COVERED,
    n=st.integers(min_value=0, max_value=20),
    unit=st.sampled_from([CALENDAR_DAYS, WORKING_DAYS]),
)
def test_deadline_monotonic_in_n(start: date, n: int, unit: str) -> None:
    assert CAL.add(start, n, unit).due_date <= CAL.add(start, n + 1, unit).due_date


@settings(max_examples=150, deadline=None)
@given(
    start=COVERED,
    n=st.integers(min_value=0, max_value=20),
    unit=st.sampled_from([CALENDAR_DAYS, WORKING_DAYS]),
)
def test_deadline_monotonic_in_start(start: date, n: int, unit: str) -> None:
    later = start + timedelta(days=1)
    assert CAL.add(start, n, unit).due_date <= CAL.add(later, n, unit).due_date


@settings(max_examples=100, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    n=st.integers(min_value=0, max_value=36),
)
def test_add_months_keeps_day_or_clamps(start: date, n: int) -> None:
    result = add_months(start, n)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == n
    assert result.day == start.day or result.day < start.day


@settings(max_examples=300, deadline=None)
@given(d=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_working_day_agrees_with_chinese_calendar(d: date) -> None:
    import chinese_calendar

    assert CAL.is_working_day(d) == chinese_calendar.is_workday(d)
