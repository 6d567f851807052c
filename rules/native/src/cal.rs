//! Days, Asia/Shanghai instants and `rules.calendar.LegalCalendar` (ported).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::{Mutex, PoisonError};

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDate, PyDateAccess, PyDateTime, PyDict, PyList};

use crate::rt;

/// A date as days since 1970-01-01.
pub type Day = i64;

pub fn days_from_civil(y: i64, m: u32, d: u32) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

pub fn civil_from_days(z: Day) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub fn month_days(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

pub const MIN_DAY: Day = -719162; // 0001-01-01
pub const MAX_DAY: Day = 2932896; // 9999-12-31
/// 1992-01-01T00:00+08:00: from here on Asia/Shanghai is +08:00 without DST.
pub const FIXED_FROM_TS: i64 = 694195200;
pub const FIXED_FROM_DAY: Day = 8035; // 1992-01-01
const OFFSET: i64 = 8 * 3600;

pub fn weekday(d: Day) -> i64 {
    (d + 3).rem_euclid(7)
}

pub fn year_of(d: Day) -> i64 {
    civil_from_days(d).0
}

pub fn iso(d: Day) -> String {
    let (y, m, dd) = civil_from_days(d);
    format!("{:04}-{:02}-{:02}", y, m, dd)
}

/// Strict `YYYY-MM-DD` of a valid date; anything else is left to Python.
pub fn parse_iso_fast(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let c = b[i];
        if c.is_ascii_digit() {
            Some((c - b'0') as u32)
        } else {
            None
        }
    };
    let y = digit(0)? * 1000 + digit(1)? * 100 + digit(2)? * 10 + digit(3)?;
    let m = digit(5)? * 10 + digit(6)?;
    let d = digit(8)? * 10 + digit(9)?;
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > month_days(y as i64, m) {
        return None;
    }
    Some(days_from_civil(y as i64, m, d))
}

pub fn day_of(obj: &Bound<'_, PyAny>) -> PyResult<Day> {
    let d = obj.downcast::<PyDate>()?;
    Ok(days_from_civil(d.get_year() as i64, d.get_month() as u32, d.get_day() as u32))
}

pub fn date_obj(py: Python<'_>, d: Day) -> PyResult<PyObject> {
    let (y, m, dd) = civil_from_days(d);
    Ok(PyDate::new(py, y as i32, m as u8, dd as u8)?.into_any().unbind())
}

/// `date.fromisoformat(text)` (`_iso_date`).
pub fn iso_date_str(py: Python<'_>, s: &str) -> PyResult<Day> {
    if let Some(d) = parse_iso_fast(s) {
        return Ok(d);
    }
    let r = rt(py);
    day_of(&r.iso_date.bind(py).call1((s,))?)
}

/// `date.fromisoformat(obj)` for any value (errors as Python raises them).
pub fn iso_date_obj(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Day> {
    let r = rt(py);
    day_of(&r.iso_date.bind(py).call1((obj,))?)
}

/// `_local_date(ts)`: the Asia/Shanghai date of an epoch second.
pub fn local_date(py: Python<'_>, ts: i64) -> PyResult<Day> {
    if (FIXED_FROM_TS..=(MAX_DAY + 1) * 86400 - OFFSET - 1).contains(&ts) {
        return Ok((ts + OFFSET).div_euclid(86400));
    }
    let r = rt(py);
    day_of(&r.local_date.bind(py).call1((ts,))?)
}

/// `_end_of_day(d)`: epoch seconds of 24:00 Asia/Shanghai on `d`.
pub fn end_of_day(py: Python<'_>, d: Day) -> PyResult<i64> {
    if d + 1 >= FIXED_FROM_DAY && d + 1 <= MAX_DAY {
        return Ok((d + 1) * 86400 - OFFSET);
    }
    let r = rt(py);
    r.end_of_day.bind(py).call1((date_obj(py, d)?,))?.extract()
}

/// `_instant(ts)`: the aware UTC datetime of an epoch second.
pub fn instant(py: Python<'_>, ts: i64) -> PyResult<PyObject> {
    let r = rt(py);
    if (MIN_DAY * 86400..(MAX_DAY + 1) * 86400).contains(&ts) {
        let day = ts.div_euclid(86400);
        let sec = ts.rem_euclid(86400);
        let (y, m, d) = civil_from_days(day);
        let utc = r.utc.bind(py).downcast::<pyo3::types::PyTzInfo>()?.clone();
        return Ok(PyDateTime::new(
            py,
            y as i32,
            m as u8,
            d as u8,
            (sec / 3600) as u8,
            ((sec % 3600) / 60) as u8,
            (sec % 60) as u8,
            0,
            Some(&utc),
        )?
        .into_any()
        .unbind());
    }
    Ok(r.instant.bind(py).call1((ts,))?.unbind())
}

/// `calendar.add_months`.
pub fn add_months(start: Day, months: i64) -> PyResult<Day> {
    let (y, m, d) = civil_from_days(start);
    let index = y
        .checked_mul(12)
        .and_then(|v| v.checked_add(m as i64 - 1))
        .and_then(|v| v.checked_add(months));
    let index = match index {
        Some(i) => i,
        None => return Err(PyValueError::new_err("year is out of range")),
    };
    let year = index.div_euclid(12);
    let month = (index.rem_euclid(12) + 1) as u32;
    if !(1..=9999).contains(&year) {
        return Err(PyValueError::new_err(format!("year {year} is out of range")));
    }
    let last = month_days(year, month);
    Ok(days_from_civil(year, month, d.min(last)))
}

fn overflow() -> PyErr {
    PyOverflowError::new_err("date value out of range")
}

fn next_day(d: Day) -> PyResult<Day> {
    if d >= MAX_DAY {
        return Err(overflow());
    }
    Ok(d + 1)
}

type Layer = (HashSet<Day>, HashSet<Day>);

#[pyclass(frozen, module = "rules._native")]
pub struct Calendar {
    pub version: String,
    national: HashMap<i64, Layer>,
    regions: HashMap<String, Layer>,
    pkg_first: i64,
    pkg_last: i64,
    pkg_holidays: HashSet<Day>,
    pkg_workdays: HashSet<Day>,
    /// jurisdiction -> small id (memo keys without allocation)
    jurisdictions: Mutex<HashMap<String, u32>>,
    memo_add: Mutex<HashMap<(Day, i64, u8, u32), (Day, bool)>>,
    memo_between: Mutex<HashMap<(Day, Day, u32), i64>>,
    /// the version as a Python str (payloads carry it)
    pub py_version: Py<pyo3::types::PyString>,
}

fn days_set(list: &Bound<'_, PyAny>) -> PyResult<HashSet<Day>> {
    let mut out = HashSet::default();
    for item in list.try_iter()? {
        out.insert(day_of(&item?)?);
    }
    Ok(out)
}

fn layer(obj: &Bound<'_, PyAny>) -> PyResult<Layer> {
    Ok((days_set(&obj.get_item(0)?)?, days_set(&obj.get_item(1)?)?))
}

#[pymethods]
impl Calendar {
    /// version, national {year: (holidays, workdays)}, regions {code: (holidays,
    /// workdays)}, package first year, last year, holidays, workdays.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        version: String,
        national: &Bound<'_, PyDict>,
        regions: &Bound<'_, PyDict>,
        pkg_first: i64,
        pkg_last: i64,
        pkg_holidays: &Bound<'_, PyList>,
        pkg_workdays: &Bound<'_, PyList>,
    ) -> PyResult<Self> {
        let mut nat = HashMap::default();
        for (k, v) in national.iter() {
            nat.insert(k.extract::<i64>()?, layer(&v)?);
        }
        let mut reg = HashMap::default();
        for (k, v) in regions.iter() {
            reg.insert(k.extract::<String>()?, layer(&v)?);
        }
        let py_version = pyo3::types::PyString::new(national.py(), &version).unbind();
        Ok(Calendar {
            py_version,
            version,
            national: nat,
            regions: reg,
            pkg_first,
            pkg_last,
            pkg_holidays: days_set(pkg_holidays.as_any())?,
            pkg_workdays: days_set(pkg_workdays.as_any())?,
            jurisdictions: Mutex::new(HashMap::default()),
            memo_add: Mutex::new(HashMap::default()),
            memo_between: Mutex::new(HashMap::default()),
        })
    }
}

const MEMO_LIMIT: usize = 200_000;
pub const CALENDAR_DAYS: u8 = 0;
pub const WORKING_DAYS: u8 = 1;
pub const MONTHS: u8 = 2;

impl Calendar {
    fn jurisdiction_id(&self, jurisdiction: &str) -> u32 {
        let mut ids = self.jurisdictions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = ids.get(jurisdiction) {
            return *id;
        }
        let id = ids.len() as u32;
        ids.insert(jurisdiction.to_string(), id);
        id
    }

    /// `LegalCalendar._compute`: (working, covered).
    pub fn day(&self, d: Day, jurisdiction: &str) -> (bool, bool) {
        if let Some((hol, work)) = self.regions.get(jurisdiction) {
            if hol.contains(&d) {
                return (false, true);
            }
            if work.contains(&d) {
                return (true, true);
            }
        }
        let year = year_of(d);
        if let Some((hol, work)) = self.national.get(&year) {
            if hol.contains(&d) {
                return (false, true);
            }
            if work.contains(&d) {
                return (true, true);
            }
            return (weekday(d) < 5, true);
        }
        if self.pkg_first <= year && year <= self.pkg_last {
            let working = self.pkg_workdays.contains(&d)
                || (weekday(d) < 5 && !self.pkg_holidays.contains(&d));
            return (working, true);
        }
        (weekday(d) < 5, false)
    }

    /// `LegalCalendar.add`: (last day, provisional).
    pub fn add(&self, start: Day, value: i64, unit: u8, jurisdiction: &str) -> PyResult<(Day, bool)> {
        let key = (start, value, unit, self.jurisdiction_id(jurisdiction));
        if let Some(v) = self.memo_add.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(*v);
        }
        let v = self.add_uncached(start, value, unit, jurisdiction)?;
        let mut memo = self.memo_add.lock().unwrap_or_else(PoisonError::into_inner);
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(key, v);
        Ok(v)
    }

    fn add_uncached(&self, start: Day, value: i64, unit: u8, jurisdiction: &str) -> PyResult<(Day, bool)> {
        if value < 0 {
            return Err(PyValueError::new_err(format!(
                "period value {value} is negative; expected >= 0"
            )));
        }
        match unit {
            CALENDAR_DAYS => {
                let mut d = start + value;
                if d > MAX_DAY {
                    return Err(overflow());
                }
                let mut info = self.day(d, jurisdiction);
                let mut covered = info.1;
                while !info.0 {
                    d = next_day(d)?;
                    info = self.day(d, jurisdiction);
                    covered = covered && info.1;
                }
                Ok((d, !covered))
            }
            WORKING_DAYS => {
                let mut d = start;
                let mut covered = true;
                let mut counted = 0;
                while counted < value {
                    d = next_day(d)?;
                    let info = self.day(d, jurisdiction);
                    covered = covered && info.1;
                    if info.0 {
                        counted += 1;
                    }
                }
                Ok((d, !covered))
            }
            _ => Ok((add_months(start, value)?, false)),
        }
    }

    /// `LegalCalendar.working_days_between`.
    pub fn working_days_between(&self, start: Day, end: Day, jurisdiction: &str) -> i64 {
        let key = (start, end, self.jurisdiction_id(jurisdiction));
        if let Some(v) = self.memo_between.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return *v;
        }
        let mut count = 0;
        let mut d = start + 1;
        while d <= end {
            if self.day(d, jurisdiction).0 {
                count += 1;
            }
            d += 1;
        }
        let mut memo = self.memo_between.lock().unwrap_or_else(PoisonError::into_inner);
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(key, count);
        count
    }
}
