//! `rules._native`: the rules engine's decision core in Rust (see rules/engine.py for
//! the public API and rules/_reference.py for the pure-Python implementation it
//! ports). Policy and calendar are loaded and validated in Python and handed over as
//! plain data (rules/_bridge.py).

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDateAccess, PyDateTime, PyDeltaAccess, PyList, PyString, PyTimeAccess, PyTzInfoAccess};

mod cal;
mod engine;
mod json;
mod policy;
mod state;
mod val;

use cal::Calendar;
use engine::{Cause, Ctx};
use policy::Policy;
use state::StateData;

pub struct Runtime {
    pub date_type: PyObject,
    pub timezone_type: PyObject,
    pub utc: PyObject,
    pub iso_date: PyObject,
    pub local_date: PyObject,
    pub end_of_day: PyObject,
    pub instant: PyObject,
    pub epoch: PyObject,
    pub court_code: PyObject,
    pub birth_date: PyObject,
    pub term_last_day: PyObject,
    pub warn_measure_missing: PyObject,
    pub check_cls: PyObject,
    pub ledger_event_cls: PyObject,
    pub ledger_event_slots: Vec<PyObject>,
    pub actor_cls: PyObject,
    pub actor_slots: Vec<PyObject>,
    pub ledger_actor: PyObject,
    pub rules_error: PyObject,
    pub from_dict_parts: PyObject,
    pub dump_state: PyObject,
    pub default_natives: PyObject,
    pub native_policy: PyObject,
    pub native_calendar: PyObject,
    pub defaults: GILOnceCell<(Py<Policy>, Py<Calendar>)>,
    pub offsets: Mutex<HashMap<usize, (PyObject, i64)>>,
}

static RUNTIME: GILOnceCell<Runtime> = GILOnceCell::new();

fn load_runtime(py: Python<'_>) -> PyResult<Runtime> {
    let b = py.import("rules._bridge")?;
    let g = |name: &str| -> PyResult<PyObject> { Ok(b.getattr(name)?.unbind()) };
    // a tuple of slot descriptors of the bridge, as a list
    let slots = |name: &str| -> PyResult<Vec<PyObject>> {
        b.getattr(name)?
            .try_iter()?
            .map(|x| x.map(|x| x.unbind()))
            .collect::<PyResult<Vec<_>>>()
    };
    Ok(Runtime {
        date_type: g("date")?,
        timezone_type: g("timezone")?,
        utc: g("UTC")?,
        iso_date: g("fromisoformat")?,
        local_date: g("local_date")?,
        end_of_day: g("end_of_day")?,
        instant: g("instant")?,
        epoch: g("epoch")?,
        court_code: g("court_code")?,
        birth_date: g("birth_date")?,
        term_last_day: g("term_last_day")?,
        warn_measure_missing: g("warn_measure_missing")?,
        actor_cls: g("Actor")?,
        actor_slots: slots("ACTOR_SLOTS")?,
        check_cls: g("Check")?,
        ledger_event_cls: g("LedgerEvent")?,
        ledger_event_slots: slots("LEDGER_EVENT_SLOTS")?,
        ledger_actor: g("LEDGER_ACTOR")?,
        rules_error: g("RulesError")?,
        from_dict_parts: g("from_dict_parts")?,
        dump_state: g("dump_state")?,
        default_natives: g("default_natives")?,
        native_policy: g("native_policy")?,
        native_calendar: g("native_calendar")?,
        defaults: GILOnceCell::new(),
        offsets: Mutex::new(HashMap::default()),
    })
}

pub fn rt(py: Python<'_>) -> &'static Runtime {
    RUNTIME
        .get_or_try_init(py, || load_runtime(py))
        .expect("rules._native: cannot load rules._bridge")
}

pub fn rules_error(msg: String) -> PyErr {
    Python::with_gil(|py| {
        let cls = rt(py).rules_error.bind(py);
        match cls.call1((msg,)) {
            Ok(inst) => PyErr::from_value(inst),
            Err(e) => e,
        }
    })
}

/// Runs an entry point of the core; a panic (a defect of the core, never bad input)
/// becomes a `RulesError` naming it, so a worker parks the event in hand and goes
/// on instead of dying on pyo3's PanicException (a BaseException). The listing's
/// state may be half-updated then: the callers drop it and reload the stored one.
fn guarded<T>(what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(rules_error(format!(
                "internal error of the rules core in {what}: {message} (a defect of \
                 the engine, not of the input; report it with the event)"
            )))
        }
    }
}

/// A `LedgerEvent` with exactly the fields `LedgerEvent(...)` would set: allocated
/// and its slots set through the slot descriptors, as `LedgerEvent.__init__` itself
/// does (contract/event.py), without the Python frame.
#[allow(clippy::too_many_arguments)]
pub fn new_ledger_event(
    py: Python<'_>,
    r: &Runtime,
    event_id: &str,
    etype: &str,
    listing_id: &str,
    occurred_at: PyObject,
    jurisdiction: &str,
    payload: PyObject,
    correlation: PyObject,
    causation: &str,
) -> PyResult<PyObject> {
    let none = py.None();
    let values: [PyObject; 12] = [
        PyString::new(py, event_id).into_any().unbind(),
        PyString::new(py, etype).into_any().unbind(),
        PyString::new(py, listing_id).into_any().unbind(),
        occurred_at,
        r.ledger_actor.clone_ref(py),
        PyString::new(py, jurisdiction).into_any().unbind(),
        payload,
        none.clone_ref(py),
        none.clone_ref(py),
        correlation,
        PyString::new(py, causation).into_any().unbind(),
        none,
    ];
    unsafe {
        let tp = r.ledger_event_cls.as_ptr() as *mut pyo3::ffi::PyTypeObject;
        let alloc = (*tp).tp_alloc.unwrap_or(pyo3::ffi::PyType_GenericAlloc);
        let raw = alloc(tp, 0);
        if raw.is_null() {
            return Err(PyErr::fetch(py));
        }
        let obj: PyObject = Py::from_owned_ptr(py, raw);
        for (descr, value) in r.ledger_event_slots.iter().zip(values.iter()) {
            let set = (*pyo3::ffi::Py_TYPE(descr.as_ptr()))
                .tp_descr_set
                .expect("LedgerEvent slot descriptor without a setter");
            if set(descr.as_ptr(), raw, value.as_ptr()) < 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(obj)
    }
}

/// Field `i` of a `LedgerEvent` (order of LEDGER_EVENT_SLOTS): read through the
/// slot descriptor when `obj` is exactly a LedgerEvent, else by `getattr`.
pub const EV_EVENT_ID: usize = 0;
pub const EV_EVENT_TYPE: usize = 1;
pub const EV_LISTING_ID: usize = 2;
pub const EV_OCCURRED_AT: usize = 3;
pub const EV_ACTOR: usize = 4;
pub const EV_JURISDICTION: usize = 5;
pub const EV_PAYLOAD: usize = 6;
pub const EV_SOURCE_EVENT_ID: usize = 7;
pub const EV_SEQ: usize = 8;
pub const EV_CORRELATION_ID: usize = 9;
const EV_NAMES: [&str; 12] = [
    "event_id",
    "event_type",
    "listing_id",
    "occurred_at",
    "actor",
    "jurisdiction",
    "payload",
    "source_event_id",
    "seq",
    "correlation_id",
    "causation_id",
    "position",
];

fn slot_get<'py>(
    obj: &Bound<'py, PyAny>,
    cls: &PyObject,
    slots: &[PyObject],
    names: &[&str],
    i: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    if obj.get_type().is(cls.bind(py)) {
        let descr = slots[i].as_ptr();
        unsafe {
            if let Some(get) = (*pyo3::ffi::Py_TYPE(descr)).tp_descr_get {
                let raw = get(descr, obj.as_ptr(), cls.as_ptr());
                if raw.is_null() {
                    return Err(PyErr::fetch(py));
                }
                return Ok(Bound::from_owned_ptr(py, raw));
            }
        }
    }
    obj.getattr(names[i])
}

pub fn ev_get<'py>(obj: &Bound<'py, PyAny>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    let r = rt(obj.py());
    slot_get(obj, &r.ledger_event_cls, &r.ledger_event_slots, &EV_NAMES, i)
}

fn actor_get<'py>(obj: &Bound<'py, PyAny>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    let r = rt(obj.py());
    slot_get(obj, &r.actor_cls, &r.actor_slots, &["kind", "code"], i)
}

// --- time at the boundary ---------------------------------------------------------

/// `_epoch(instant)`: whole epoch seconds of an aware instant (floored).
fn epoch(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let r = rt(py);
    if let Ok(dt) = obj.downcast::<PyDateTime>() {
        if let Some(tz) = dt.get_tzinfo() {
            if tz.get_type().is(r.timezone_type.bind(py)) {
                let key = tz.as_ptr() as usize;
                let cached = r.offsets.lock().unwrap_or_else(PoisonError::into_inner).get(&key).map(|v| v.1);
                let off_us = match cached {
                    Some(o) => o,
                    None => {
                        let delta = tz.call_method1("utcoffset", (py.None(),))?;
                        let delta = delta.downcast::<pyo3::types::PyDelta>()?;
                        let o = (delta.get_days() as i64 * 86400 + delta.get_seconds() as i64) * 1_000_000
                            + delta.get_microseconds() as i64;
                        let mut m = r.offsets.lock().unwrap_or_else(PoisonError::into_inner);
                        if m.len() > 1000 {
                            m.clear();
                        }
                        m.insert(key, (tz.clone().into_any().unbind(), o));
                        o
                    }
                };
                let days = cal::days_from_civil(dt.get_year() as i64, dt.get_month() as u32, dt.get_day() as u32);
                let secs = days * 86400
                    + dt.get_hour() as i64 * 3600
                    + dt.get_minute() as i64 * 60
                    + dt.get_second() as i64;
                let us = secs * 1_000_000 + dt.get_microsecond() as i64 - off_us;
                return Ok(us.div_euclid(1_000_000));
            }
        }
    }
    r.epoch.bind(py).call1((obj,))?.extract()
}

fn jurisdiction_of(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if !value.is_truthy()? {
        return Ok("CN".to_string());
    }
    let s: String = value.extract()?;
    Ok(s.split(' ').next().unwrap_or("").to_string())
}

fn resolve(
    py: Python<'_>,
    policy: Option<&Bound<'_, PyAny>>,
    calendar: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Py<Policy>, Py<Calendar>)> {
    let r = rt(py);
    let (dp, dc) = r.defaults.get_or_try_init(py, || -> PyResult<_> {
        let pair = r.default_natives.bind(py).call0()?;
        let p: Py<Policy> = pair.get_item(0)?.extract()?;
        let c: Py<Calendar> = pair.get_item(1)?.extract()?;
        Ok((p, c))
    })?;
    let (dp, dc) = (dp.clone_ref(py), dc.clone_ref(py));
    let p = match policy {
        None => dp,
        Some(p) if p.is_none() => dp,
        Some(p) => match p.extract::<Py<Policy>>() {
            Ok(n) => n,
            Err(_) => r.native_policy.bind(py).call1((p,))?.extract()?,
        },
    };
    let c = match calendar {
        None => dc,
        Some(c) if c.is_none() => dc,
        Some(c) => match c.extract::<Py<Calendar>>() {
            Ok(n) => n,
            Err(_) => r.native_calendar.bind(py).call1((c,))?.extract()?,
        },
    };
    Ok((p, c))
}

fn cause_of(event: &Bound<'_, PyAny>) -> PyResult<Cause> {
    let event_id: String = ev_get(event, EV_EVENT_ID)?.extract()?;
    let src = ev_get(event, EV_SOURCE_EVENT_ID)?;
    let src_or_id = if src.is_truthy()? { src.extract()? } else { event_id.clone() };
    Ok(Cause {
        event_id,
        src_or_id,
        correlation: ev_get(event, EV_CORRELATION_ID)?.unbind(),
    })
}

fn compact(py: Python<'_>, event: &Bound<'_, PyAny>, cause: &Cause, etype: &str) -> PyResult<state::Ev> {
    let payload = engine::kept(py, &ev_get(event, EV_PAYLOAD)?)?;
    let ts = epoch(py, &ev_get(event, EV_OCCURRED_AT)?)?;
    let seq = ev_get(event, EV_SEQ)?;
    let seq: i64 = if seq.is_none() { 0 } else { seq.extract()? };
    let actor = ev_get(event, EV_ACTOR)?;
    let kind: String = actor_get(&actor, 0)?.extract()?;
    let code: Option<String> = actor_get(&actor, 1)?.extract()?;
    Ok(state::Ev {
        ts,
        seq,
        event_id: cause.event_id.clone(),
        etype: etype.to_string(),
        src: cause.src_or_id.clone(),
        actor_kind: kind,
        actor_code: code,
        payload,
    })
}

// --- the state --------------------------------------------------------------------

#[pyclass(module = "rules._native", name = "ListingState")]
pub struct ListingState {
    pub d: StateData,
}

#[pymethods]
impl ListingState {
    #[new]
    #[pyo3(signature = (listing_id, jurisdiction, events=None, fold=None, now=None, emitted=None))]
    fn new(
        listing_id: String,
        jurisdiction: String,
        events: Option<&Bound<'_, PyAny>>,
        fold: Option<&Bound<'_, PyAny>>,
        now: Option<i64>,
        emitted: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut d = StateData::new(listing_id, jurisdiction);
        if let Some(ev) = events {
            for e in ev.try_iter()? {
                d.events.push(state::ev_from_py(&e?)?);
            }
        }
        if let Some(f) = fold {
            d.fold = state::fold_from_py(f)?;
        }
        d.now = now;
        if let Some(em) = emitted {
            d.emitted = state::emitted_from_py(em)?;
        }
        Ok(ListingState { d })
    }

    #[getter]
    fn listing_id(&self) -> String {
        self.d.listing_id.clone()
    }

    #[getter]
    fn jurisdiction(&self) -> String {
        self.d.jurisdiction.clone()
    }

    /// latest clock-tick instant known, epoch seconds
    #[getter]
    fn now(&self) -> Option<i64> {
        self.d.now
    }

    /// a copy of the events, as `to_dict()` gives them
    #[getter]
    fn events(&self, py: Python<'_>) -> PyResult<PyObject> {
        state::events_to_py(py, &self.d.events)
    }

    /// a copy of the folded facts, as `to_dict()` gives them
    #[getter]
    fn fold(&self, py: Python<'_>) -> PyResult<PyObject> {
        state::fold_to_py(py, &self.d.fold)
    }

    /// a copy of what has been emitted, as `to_dict()` gives it
    #[getter]
    fn emitted(&self, py: Python<'_>) -> PyResult<PyObject> {
        state::emitted_to_py(py, &self.d.emitted)
    }

    fn has_event(&mut self, event_id: &str) -> bool {
        self.d.has_event(event_id)
    }

    fn remember(&mut self, event_id: &str) {
        self.d.remember(event_id)
    }

    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        state::state_to_dict(py, &self.d)
    }

    /// `orjson.dumps(self.to_dict(), option=orjson.OPT_NON_STR_KEYS)`: the bytes
    /// the processor stores, written without building `to_dict()` (orjson writes
    /// a state that holds a float or another non-JSON-plain value itself).
    fn to_json(&self, py: Python<'_>) -> PyResult<PyObject> {
        match json::state_json(&self.d) {
            Ok(bytes) => Ok(pyo3::types::PyBytes::new(py, &bytes).into_any().unbind()),
            Err(json::Unplain) => {
                let d = state::state_to_dict(py, &self.d)?;
                Ok(rt(py).dump_state.bind(py).call1((d,))?.unbind())
            }
        }
    }

    #[classmethod]
    fn from_dict(_cls: &Bound<'_, pyo3::types::PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = data.py();
        let parts = rt(py).from_dict_parts.bind(py).call1((data,))?;
        let listing_id: String = parts.get_item(0)?.extract()?;
        let jurisdiction: String = parts.get_item(1)?.extract()?;
        let events = parts.get_item(2)?;
        let fold = parts.get_item(3)?;
        let now: Option<i64> = parts.get_item(4)?.extract()?;
        let emitted = parts.get_item(5)?;
        Self::new(listing_id, jurisdiction, Some(&events), Some(&fold), now, Some(&emitted))
    }

    fn __repr__(&self) -> String {
        format!(
            "ListingState(listing_id={:?}, jurisdiction={:?}, events={}, now={:?})",
            self.d.listing_id,
            self.d.jurisdiction,
            self.d.events.len(),
            self.d.now
        )
    }
}

// --- public API -----------------------------------------------------------------

fn new_state<'py>(py: Python<'py>, event: &Bound<'py, PyAny>) -> PyResult<Bound<'py, ListingState>> {
    let listing_id: String = ev_get(event, EV_LISTING_ID)?.extract()?;
    let jurisdiction = jurisdiction_of(&ev_get(event, EV_JURISDICTION)?)?;
    Bound::new(py, ListingState { d: StateData::new(listing_id, jurisdiction) })
}

fn to_list<'py>(py: Python<'py>, out: Vec<PyObject>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, out)
}

/// Fold one ledger event into the listing's state; return the derived events.
#[pyfunction]
#[pyo3(signature = (state, event, *, now=None, policy=None, calendar=None))]
fn apply<'py>(
    py: Python<'py>,
    state: Option<Bound<'py, ListingState>>,
    event: &Bound<'py, PyAny>,
    now: Option<&Bound<'py, PyAny>>,
    policy: Option<&Bound<'py, PyAny>>,
    calendar: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, ListingState>, Bound<'py, PyList>)> {
    guarded("apply", || apply_unguarded(py, state, event, now, policy, calendar))
}

fn apply_unguarded<'py>(
    py: Python<'py>,
    state: Option<Bound<'py, ListingState>>,
    event: &Bound<'py, PyAny>,
    now: Option<&Bound<'py, PyAny>>,
    policy: Option<&Bound<'py, PyAny>>,
    calendar: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, ListingState>, Bound<'py, PyList>)> {
    let etype_obj = ev_get(event, EV_EVENT_TYPE)?;
    let etype: String = etype_obj.extract()?;
    if etype == "CLOCK_TICK" {
        let state = match state {
            Some(s) => s,
            None => new_state(py, event)?,
        };
        let at = ev_get(event, EV_OCCURRED_AT)?;
        return advance(py, state, &at, event, policy, calendar);
    }
    let (pol, calr) = resolve(py, policy, calendar)?;
    let state = match state {
        Some(s) => {
            let lid = ev_get(event, EV_LISTING_ID)?;
            let same = {
                let b = s.borrow();
                match lid.downcast::<PyString>() {
                    Ok(l) => l.to_cow()? == b.d.listing_id.as_str(),
                    Err(_) => false,
                }
            };
            if !same {
                let eid = event.getattr("event_id")?.repr()?.to_string();
                let lrepr = lid.repr()?.to_string();
                let srepr = PyString::new(py, &s.borrow().d.listing_id).repr()?.to_string();
                return Err(rules_error(format!(
                    "event {eid} has listing_id {lrepr}; expected {srepr}"
                )));
            }
            s
        }
        None => new_state(py, event)?,
    };
    let cx = Ctx { py, pol: pol.get(), cal: calr.get() };
    let mut guard = state.borrow_mut();
    let st = &mut guard.d;
    let mut now_moved = false;
    if let Some(n) = now {
        if !n.is_none() {
            let ts = epoch(py, n)?;
            if st.now.is_none() || ts > st.now.unwrap() {
                st.now = Some(ts);
                now_moved = true;
            }
        }
    }
    let cause = cause_of(event)?;
    let event_id = cause.event_id.as_str();
    if st.has_event(event_id) {
        let mut out = engine::redeliver(st, &cause, &cx)?;
        if now_moved {
            st.touched = None;
            out.extend(engine::diff(st, &cause, &cx, 0, None)?);
        }
        drop(guard);
        let list = to_list(py, out)?;
        return Ok((state, list));
    }
    let ev = compact(py, event, &cause, &etype)?;
    st.remember(event_id);
    let mut changes_before = st.fold.changes.len();
    let mut old_fold = None;
    let in_order = match st.events.last() {
        None => true,
        Some(last) => ev.key() >= last.key(),
    };
    if in_order {
        st.events.push(ev);
        st.touched = Some(Vec::new());
        let idx = st.events.len() - 1;
        engine::fold_event(st, idx, &cx)?;
    } else {
        let key = ev.key();
        let pos = st.events.partition_point(|e| e.key() <= key);
        st.events.insert(pos, ev);
        st.touched = None;
        old_fold = Some(std::mem::replace(&mut st.fold, state::new_fold()));
        engine::refold(st, &cx)?;
    }
    if now_moved {
        st.touched = None;
    }
    if st.touched.is_none() {
        changes_before = 0;
    }
    let out = engine::diff(st, &cause, &cx, changes_before, old_fold)?;
    drop(guard);
    let list = to_list(py, out)?;
    Ok((state, list))
}

/// Move the listing's clock to `now` (a clock tick): report what became overdue.
#[pyfunction]
#[pyo3(name = "advance", signature = (state, now, *, cause, policy=None, calendar=None))]
fn advance_py<'py>(
    py: Python<'py>,
    state: Bound<'py, ListingState>,
    now: &Bound<'py, PyAny>,
    cause: &Bound<'py, PyAny>,
    policy: Option<&Bound<'py, PyAny>>,
    calendar: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, ListingState>, Bound<'py, PyList>)> {
    guarded("advance", || advance(py, state, now, cause, policy, calendar))
}

fn advance<'py>(
    py: Python<'py>,
    state: Bound<'py, ListingState>,
    now: &Bound<'py, PyAny>,
    cause: &Bound<'py, PyAny>,
    policy: Option<&Bound<'py, PyAny>>,
    calendar: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, ListingState>, Bound<'py, PyList>)> {
    let (pol, calr) = resolve(py, policy, calendar)?;
    let cx = Ctx { py, pol: pol.get(), cal: calr.get() };
    let ts = epoch(py, now)?;
    let c = cause_of(cause)?;
    let mut guard = state.borrow_mut();
    let st = &mut guard.d;
    let out = if st.now.is_some() && ts <= st.now.unwrap() {
        engine::redeliver(st, &c, &cx)?
    } else {
        st.now = Some(ts);
        st.touched = None;
        engine::diff(st, &c, &cx, 0, None)?
    };
    drop(guard);
    let list = to_list(py, out)?;
    Ok((state, list))
}

/// The check rows of a listing, in trigger order.
#[pyfunction]
#[pyo3(signature = (state, *, include_open=false, policy=None, calendar=None))]
fn checks<'py>(
    py: Python<'py>,
    state: Bound<'py, ListingState>,
    include_open: bool,
    policy: Option<&Bound<'py, PyAny>>,
    calendar: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    guarded("checks", || {
        let (pol, calr) = resolve(py, policy, calendar)?;
        let cx = Ctx { py, pol: pol.get(), cal: calr.get() };
        let guard = state.borrow();
        let rows = engine::checks(&guard.d, include_open, &cx)?;
        PyList::new(py, rows)
    })
}

/// The earliest instant at which a clock tick can change `state` (or None).
#[pyfunction]
fn next_due(py: Python<'_>, state: Bound<'_, ListingState>) -> PyResult<PyObject> {
    guarded("next_due", || {
        let guard = state.borrow();
        match engine::next_due(py, &guard.d)? {
            Some(ts) => cal::instant(py, ts),
            None => Ok(py.None()),
        }
    })
}

/// Whether a later clock tick can still change `state`.
#[pyfunction]
fn has_open(py: Python<'_>, state: Bound<'_, ListingState>) -> PyResult<bool> {
    guarded("has_open", || {
        let guard = state.borrow();
        Ok(engine::next_due(py, &guard.d)?.is_some())
    })
}

/// A panic inside the core on purpose, through the guard every entry point has:
/// for the test that a defect of the core is a `RulesError`, not a crash.
#[pyfunction]
fn _panic_for_test(message: &str) -> PyResult<()> {
    guarded("_panic_for_test", || panic!("{}", message))
}

/// `_term_expiry(state)`: (24:00 of the term's last day, the decision, that day).
#[pyfunction]
fn term_expiry(py: Python<'_>, state: Bound<'_, ListingState>) -> PyResult<PyObject> {
    let guard = state.borrow();
    let st = &guard.d;
    match engine::term_expiry(py, &st.events, &st.fold)? {
        None => Ok(py.None()),
        Some((end, idx, day)) => {
            let t = (end, state::ev_to_py(py, &st.events[idx])?, cal::date_obj(py, day)?);
            Ok(t.into_pyobject(py)?.into_any().unbind())
        }
    }
}

/// `str(uuid.uuid5(namespace, name))` of the derived ids (for tests).
#[pyfunction]
fn uuid5(name: &str) -> String {
    engine::uuid5(name)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ListingState>()?;
    m.add_class::<Policy>()?;
    m.add_class::<Calendar>()?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(advance_py, m)?)?;
    m.add_function(wrap_pyfunction!(checks, m)?)?;
    m.add_function(wrap_pyfunction!(next_due, m)?)?;
    m.add_function(wrap_pyfunction!(has_open, m)?)?;
    m.add_function(wrap_pyfunction!(term_expiry, m)?)?;
    m.add_function(wrap_pyfunction!(uuid5, m)?)?;
    Ok(())
}
