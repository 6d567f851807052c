"""Legal time: day counting for deadlines under Civil Procedure Law art.85.

Three units:

- calendar days (`N日`, CALENDAR_DAYS): the start day does not count; the period ends
  on the Nth following day, and when that last day is a rest day (a weekend or a
  statutory holiday, `chinese_calendar.is_holiday`) it ends on the next working day;
- working days (`N个工作日`, WORKING_DAYS): the Nth official working day after the
  start day, skipping holidays and counting adjusted working weekends (调休上班日);
- months (MONTHS): calendar arithmetic on the date; a day that does not exist in the
  target month is clamped to that month's last day (31 Jan + 1 month = 28/29 Feb,
  31 Aug + 1 month = 30 Sep). No rest-day roll-over: month periods here are bars and
  terms, not procedural deadlines.

Every deadline ends at 24:00 Asia/Shanghai of its last day. Holiday data come from the
chinese-calendar package plus `rules/calendar/holidays.yaml` (years the package does
not cover, regional layers). A day in a year no data covers counts as a working day
unless it is a Saturday or Sunday, and the deadline is marked provisional.
"""

from __future__ import annotations

import calendar as _stdcal
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR_DAYS = "CALENDAR_DAYS"
WORKING_DAYS = "WORKING_DAYS"
MONTHS = "MONTHS"
UNITS = (CALENDAR_DAYS, WORKING_DAYS, MONTHS)

_ONE_DAY = timedelta(days=1)
_PACKAGE_HOLIDAYS = chinese_calendar.holidays
_PACKAGE_WORKDAYS = chinese_calendar.workdays
_PACKAGE_FIRST_YEAR = min(_PACKAGE_HOLIDAYS).year
_PACKAGE_LAST_YEAR = max(_PACKAGE_HOLIDAYS).year


class CalendarDataError(ValueError):
    """The holiday data file is malformed."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """The last day of a period (inclusive) and how it was computed."""

    due_date: date
    provisional: bool  # counting touched a year no holiday data covers
    calendar_version: str

    @property
    def due_at(self) -> datetime:
        """24:00 Asia/Shanghai of the last day, as an aware datetime."""
        return datetime.combine(self.due_date + _ONE_DAY, time(0), tzinfo=SHANGHAI)


@dataclass(frozen=True, slots=True)
class _DayInfo:
    working: bool
    covered: bool  # False: weekend-only guess for a year no data covers


_MEMO_LIMIT = 200_000


class LegalCalendar:
    """Working days of one jurisdiction (national data plus its regional layer)."""

    def __init__(self, data: dict[str, Any], package_version: str) -> None:
        self.data_version = str(data.get("version", "?"))
        self.version = (
            f"chinese-calendar {package_version} + holidays.yaml {self.data_version}"
        )
        self._national = _parse_layers(data.get("national") or {})
        self._regions = {
            str(code): _parse_layer(str(code), layer or {})
            for code, layer in (data.get("regions") or {}).items()
        }
        self._cache: dict[tuple[date, str], _DayInfo] = {}
        # memos of whole computations (the inputs repeat: same start day and rule)
        self._deadlines: dict[tuple[date, int, str, str], Deadline] = {}
        self._between: dict[tuple[date, date, str], int] = {}

    def day(self, d: date, jurisdiction: str = "CN") -> _DayInfo:
        key = (d, jurisdiction)
        info = self._cache.get(key)
        if info is None:
            info = self._compute(d, jurisdiction)
            self._cache[key] = info
        return info

    def _compute(self, d: date, jurisdiction: str) -> _DayInfo:
        region = self._regions.get(jurisdiction)
        if region is not None:
            holidays, workdays = region
            if d in holidays:
                return _DayInfo(False, True)
            if d in workdays:
                return _DayInfo(True, True)

        year_layer = self._national.get(d.year)
        if year_layer is not None:
            holidays, workdays = year_layer
            if d in holidays:
                return _DayInfo(False, True)
            if d in workdays:
                return _DayInfo(True, True)
            return _DayInfo(d.weekday() < 5, True)

        if _PACKAGE_FIRST_YEAR <= d.year <= _PACKAGE_LAST_YEAR:
            # same answer as chinese_calendar.is_workday, without its per-call
            # range check (which scans every key of its tables)
            working = d in _PACKAGE_WORKDAYS or (
                d.weekday() < 5 and d not in _PACKAGE_HOLIDAYS
            )
            return _DayInfo(working, True)
        logger.debug("calendar.uncovered date=%s jurisdiction=%s", d, jurisdiction)
        return _DayInfo(d.weekday() < 5, False)

    def is_working_day(self, d: date, jurisdiction: str = "CN") -> bool:
        return self.day(d, jurisdiction).working

    def add(
        self, start: date, value: int, unit: str, jurisdiction: str = "CN"
    ) -> Deadline:
        """Last day of a period of `value` `unit`s that starts on `start`."""
        key = (start, value, unit, jurisdiction)
        deadline = self._deadlines.get(key)
        if deadline is None:
            if len(self._deadlines) >= _MEMO_LIMIT:
                self._deadlines.clear()
            deadline = self._deadlines[key] = self._add(
                start, value, unit, jurisdiction
            )
        return deadline

    def _add(self, start: date, value: int, unit: str, jurisdiction: str) -> Deadline:
        if value < 0:
            raise ValueError(f"period value {value!r} is negative; expected >= 0")
        if unit == CALENDAR_DAYS:
            return self._add_calendar_days(start, value, jurisdiction)
        if unit == WORKING_DAYS:
            return self._add_working_days(start, value, jurisdiction)
        if unit == MONTHS:
            return Deadline(add_months(start, value), False, self.version)
        raise ValueError(f"period unit {unit!r} is unknown; expected one of {UNITS}")

    def _add_calendar_days(self, start: date, n: int, jurisdiction: str) -> Deadline:
        d = start + timedelta(days=n)
        info = self.day(d, jurisdiction)
        covered = info.covered
        while not info.working:
            d += _ONE_DAY
            info = self.day(d, jurisdiction)
            covered = covered and info.covered
        return Deadline(d, not covered, self.version)

    def _add_working_days(self, start: date, n: int, jurisdiction: str) -> Deadline:
        d = start
        covered = True
        counted = 0
        while counted < n:
            d += _ONE_DAY
            info = self.day(d, jurisdiction)
            covered = covered and info.covered
            if info.working:
                counted += 1
        return Deadline(d, not covered, self.version)

    def working_days_between(
        self, start: date, end: date, jurisdiction: str = "CN"
    ) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        key = (start, end, jurisdiction)
        count = self._between.get(key)
        if count is None:
            if len(self._between) >= _MEMO_LIMIT:
                self._between.clear()  # bounded: a long-running worker sees many pairs
            count = self._between[key] = self._count_between(start, end, jurisdiction)
        return count

    def _count_between(self, start: date, end: date, jurisdiction: str) -> int:
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.day(d, jurisdiction).working:
                count += 1
            d += _ONE_DAY
        return count


def add_months(start: date, months: int) -> date:
    """`start` plus whole months; a missing day is clamped to the month's last day."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdcal.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last))


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError(
            f"instant {instant.isoformat()!r} has no time zone; expected aware"
        )
    return instant.astimezone(SHANGHAI).date()


def _parse_layer(
    name: str, layer: dict[str, Any]
) -> tuple[frozenset[date], frozenset[date]]:
    try:
        holidays = frozenset(_as_date(v) for v in layer.get("holidays") or [])
        workdays = frozenset(_as_date(v) for v in layer.get("workdays") or [])
    except (TypeError, ValueError) as exc:
        raise CalendarDataError(f"holidays.yaml layer {name!r}: {exc}") from exc
    overlap = holidays & workdays
    if overlap:
        raise CalendarDataError(
            f"holidays.yaml layer {name!r}: dates {sorted(overlap)} are both holiday "
            "and workday; expected each date in one list only"
        )
    return holidays, workdays


def _parse_layers(
    national: dict[Any, Any],
) -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    return {
        int(year): _parse_layer(str(year), layer or {})
        for year, layer in national.items()
    }


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@lru_cache(maxsize=1)
def default_calendar() -> LegalCalendar:
    """The calendar built from the packaged data (one per process, cached)."""
    text = (
        resources.files("rules").joinpath("calendar/holidays.yaml").read_text("utf-8")
    )
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise CalendarDataError("holidays.yaml: expected a mapping at the top level")
    try:
        package_version = version("chinese-calendar")
    except PackageNotFoundError:  # pragma: no cover - installed as a dependency
        package_version = "unknown"
    return LegalCalendar(data, package_version)
