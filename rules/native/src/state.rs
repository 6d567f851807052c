//! `rules.state.ListingState`, natively; `to_dict`/`from_dict` give and take exactly
//! the JSON structures of the Python engine (see rules/state.py).

use rustc_hash::FxHashSet as HashSet;

use crate::val::Map as IndexMap;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::val::{self, Payload, Val};

/// A compact event: [epoch seconds, seq, event_id, type, source id, actor kind,
/// actor code, kept payload]
pub struct Ev {
    pub ts: i64,
    pub seq: i64,
    pub event_id: String,
    pub etype: String,
    pub src: String,
    pub actor_kind: String,
    pub actor_code: Option<String>,
    pub payload: Payload,
}

impl Ev {
    pub fn key(&self) -> (i64, i64, &str) {
        (self.ts, self.seq, self.event_id.as_str())
    }
}

#[derive(Clone)]
pub struct Measure {
    pub agency: Option<String>,
    pub state: String,
    pub since: i64,
    pub src: String,
    pub basis: Val,
    pub until: Val,
}

#[derive(Clone)]
pub struct Change {
    pub measure: String,
    pub agency: Option<String>,
    pub new: String,
    pub previous: Option<String>,
    pub ts: i64,
    pub src: String,
    pub reason: Val,
    pub basis: Val,
    pub until: Val,
}

#[derive(Clone, PartialEq)]
pub struct Obligation {
    pub rule: String,
    pub trigger: String,
    pub trigger_id: String,
    pub ts: i64,
    pub measure: Option<String>,
    pub resp_code: Option<String>,
    pub source: String,
    pub due: Option<String>,
    pub prov: bool,
    pub cal: Option<String>,
    pub answer: Option<String>,
    pub answer_ts: Option<i64>,
    pub answer_id: Option<String>,
    pub state_violation: Option<(String, i64, String)>,
    pub clock: bool,
}

#[derive(Clone)]
pub struct ActCheck {
    pub rule: String,
    pub trigger: String,
    pub response: Option<String>,
    pub verdict: String,
    pub ts: i64,
    pub act_id: String,
    pub reason: String,
}

#[derive(Clone)]
pub struct Fold {
    pub status: Option<String>,
    pub court: Option<String>,
    pub relisted: bool,
    pub expired: bool,
    pub served: bool,
    pub risk_notice: bool,
    pub term_years: Val,
    pub term_expires: Val,
    pub debtor: Val,
    pub last_decision: Option<String>,
    pub last_exit: Option<String>,
    pub published: Option<String>,
    pub not_for_publication: bool,
    pub pending_application: bool,
    pub applicant_requested: bool,
    pub applicant_deletion: Option<(String, String)>,
    pub procedure_terminated: bool,
    pub empty_searches: i64,
    pub measures: IndexMap<String, Measure>,
    pub changes: Vec<Change>,
    pub obligations: IndexMap<String, Obligation>,
    pub act_checks: IndexMap<String, ActCheck>,
    /// where `term_expires` sits in the stored dict: states stored before the
    /// key existed lack it until a decision sets it, which appends it at the end
    pub term_expires_at: TermKey,
}

#[derive(Clone, Copy, PartialEq)]
pub enum TermKey {
    InPlace,
    Missing,
    AtEnd,
}

/// `new_fold()`
pub fn new_fold() -> Fold {
    Fold {
        status: None,
        court: None,
        relisted: false,
        expired: false,
        served: false,
        risk_notice: false,
        term_years: Val::None,
        term_expires: Val::None,
        debtor: Val::None,
        last_decision: None,
        last_exit: None,
        published: None,
        not_for_publication: false,
        pending_application: false,
        applicant_requested: false,
        applicant_deletion: None,
        procedure_terminated: false,
        empty_searches: 0,
        measures: IndexMap::default(),
        changes: Vec::new(),
        obligations: IndexMap::default(),
        act_checks: IndexMap::default(),
        term_expires_at: TermKey::InPlace,
    }
}

/// One slot of `emitted` (see rules.engine for their meaning).
#[derive(Clone)]
pub enum Slot {
    /// "S|..." and "O|...": [cause]
    Cause(Option<String>),
    /// "SL|measure": [change key, cause]
    Last(String, Option<String>),
    /// "V|oid": [cause, verdict, detected_by, response, act ts, now]
    V {
        cause: Option<String>,
        verdict: String,
        detected: String,
        response: Option<String>,
        act_ts: Option<i64>,
        now: Option<i64>,
    },
    /// "M|oid": [cause, verdict, answer]
    M(Option<String>, String, Option<String>),
    /// "W|oid": [cause, ts, response, obligation]
    W(Option<String>, i64, String, Obligation),
    /// "L|oid": the kind of the last one emitted
    L(String),
    /// "A|act key": [cause, verdict, ts, rule, trigger, response(, withdrawn ts, by)]
    A {
        cause: Option<String>,
        verdict: String,
        ts: i64,
        rule: String,
        trigger: String,
        response: Option<String>,
        withdrawn: Option<(i64, String)>,
    },
    /// anything else a stored state holds (kept as it is)
    Other(Val),
}

impl Slot {
    pub fn cause(&self) -> Option<&Option<String>> {
        match self {
            Slot::Cause(c) => Some(c),
            Slot::Last(_, c) => Some(c),
            Slot::V { cause, .. } => Some(cause),
            Slot::M(c, _, _) => Some(c),
            Slot::W(c, _, _, _) => Some(c),
            Slot::A { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

pub struct StateData {
    pub listing_id: String,
    pub jurisdiction: String,
    pub events: Vec<Ev>,
    pub fold: Fold,
    pub now: Option<i64>,
    pub emitted: IndexMap<String, Slot>,
    pub ids: Option<HashSet<String>>,
    pub touched: Option<Vec<String>>,
}

impl StateData {
    pub fn new(listing_id: String, jurisdiction: String) -> Self {
        StateData {
            listing_id,
            jurisdiction,
            events: Vec::new(),
            fold: new_fold(),
            now: None,
            emitted: IndexMap::default(),
            ids: None,
            touched: None,
        }
    }

    pub fn has_event(&mut self, event_id: &str) -> bool {
        if self.ids.is_none() {
            self.ids = Some(self.events.iter().map(|e| e.event_id.clone()).collect());
        }
        self.ids.as_ref().unwrap().contains(event_id)
    }

    pub fn remember(&mut self, event_id: &str) {
        if self.ids.is_none() {
            self.ids = Some(self.events.iter().map(|e| e.event_id.clone()).collect());
        }
        self.ids.as_mut().unwrap().insert(event_id.to_string());
    }
}

// --- to Python --------------------------------------------------------------------

fn opt_s(py: Python<'_>, s: &Option<String>) -> PyObject {
    match s {
        Some(s) => PyString::new(py, s).into_any().unbind(),
        None => py.None(),
    }
}

fn opt_i(py: Python<'_>, v: Option<i64>) -> PyResult<PyObject> {
    Ok(match v {
        Some(i) => i.into_pyobject(py)?.into_any().unbind(),
        None => py.None(),
    })
}

fn list(py: Python<'_>, items: Vec<PyObject>) -> PyResult<PyObject> {
    Ok(PyList::new(py, items)?.into_any().unbind())
}

pub fn ev_to_py(py: Python<'_>, e: &Ev) -> PyResult<PyObject> {
    list(
        py,
        vec![
            e.ts.into_pyobject(py)?.into_any().unbind(),
            e.seq.into_pyobject(py)?.into_any().unbind(),
            PyString::new(py, &e.event_id).into_any().unbind(),
            PyString::new(py, &e.etype).into_any().unbind(),
            PyString::new(py, &e.src).into_any().unbind(),
            PyString::new(py, &e.actor_kind).into_any().unbind(),
            opt_s(py, &e.actor_code),
            val::payload_to_py(py, &e.payload)?,
        ],
    )
}

fn b(py: Python<'_>, v: bool) -> PyObject {
    pyo3::types::PyBool::new(py, v).to_owned().into_any().unbind()
}

pub fn obligation_to_py(py: Python<'_>, ob: &Obligation) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    d.set_item("rule", &ob.rule)?;
    d.set_item("trigger", &ob.trigger)?;
    d.set_item("trigger_id", &ob.trigger_id)?;
    d.set_item("ts", ob.ts)?;
    d.set_item("measure", opt_s(py, &ob.measure))?;
    d.set_item("resp_code", opt_s(py, &ob.resp_code))?;
    d.set_item("source", &ob.source)?;
    d.set_item("due", opt_s(py, &ob.due))?;
    d.set_item("prov", b(py, ob.prov))?;
    d.set_item("cal", opt_s(py, &ob.cal))?;
    d.set_item("answer", opt_s(py, &ob.answer))?;
    d.set_item("answer_ts", opt_i(py, ob.answer_ts)?)?;
    d.set_item("answer_id", opt_s(py, &ob.answer_id))?;
    match &ob.state_violation {
        Some((a, ts, c)) => d.set_item(
            "state_violation",
            list(
                py,
                vec![
                    PyString::new(py, a).into_any().unbind(),
                    ts.into_pyobject(py)?.into_any().unbind(),
                    PyString::new(py, c).into_any().unbind(),
                ],
            )?,
        )?,
        None => d.set_item("state_violation", py.None())?,
    }
    if ob.clock {
        d.set_item("clock", true)?;
    }
    Ok(d.into_any().unbind())
}

pub fn fold_to_py(py: Python<'_>, f: &Fold) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    d.set_item("status", opt_s(py, &f.status))?;
    d.set_item("court", opt_s(py, &f.court))?;
    d.set_item("relisted", b(py, f.relisted))?;
    d.set_item("expired", b(py, f.expired))?;
    d.set_item("served", b(py, f.served))?;
    d.set_item("risk_notice", b(py, f.risk_notice))?;
    d.set_item("term_years", f.term_years.to_py(py)?)?;
    if f.term_expires_at == TermKey::InPlace {
        d.set_item("term_expires", f.term_expires.to_py(py)?)?;
    }
    d.set_item("debtor", f.debtor.to_py(py)?)?;
    d.set_item("last_decision", opt_s(py, &f.last_decision))?;
    d.set_item("last_exit", opt_s(py, &f.last_exit))?;
    d.set_item("published", opt_s(py, &f.published))?;
    d.set_item("not_for_publication", b(py, f.not_for_publication))?;
    d.set_item("pending_application", b(py, f.pending_application))?;
    d.set_item("applicant_requested", b(py, f.applicant_requested))?;
    match &f.applicant_deletion {
        Some((s, day)) => d.set_item("applicant_deletion", vec![s.clone(), day.clone()])?,
        None => d.set_item("applicant_deletion", py.None())?,
    }
    d.set_item("procedure_terminated", b(py, f.procedure_terminated))?;
    d.set_item("empty_searches", f.empty_searches)?;
    let measures = PyDict::new(py);
    for (k, m) in &f.measures {
        measures.set_item(
            k,
            list(
                py,
                vec![
                    opt_s(py, &m.agency),
                    PyString::new(py, &m.state).into_any().unbind(),
                    m.since.into_pyobject(py)?.into_any().unbind(),
                    PyString::new(py, &m.src).into_any().unbind(),
                    m.basis.to_py(py)?,
                    m.until.to_py(py)?,
                ],
            )?,
        )?;
    }
    d.set_item("measures", measures)?;
    let mut changes = Vec::with_capacity(f.changes.len());
    for c in &f.changes {
        changes.push(list(
            py,
            vec![
                PyString::new(py, &c.measure).into_any().unbind(),
                opt_s(py, &c.agency),
                PyString::new(py, &c.new).into_any().unbind(),
                opt_s(py, &c.previous),
                c.ts.into_pyobject(py)?.into_any().unbind(),
                PyString::new(py, &c.src).into_any().unbind(),
                c.reason.to_py(py)?,
                c.basis.to_py(py)?,
                c.until.to_py(py)?,
            ],
        )?);
    }
    d.set_item("changes", list(py, changes)?)?;
    let obligations = PyDict::new(py);
    for (k, ob) in &f.obligations {
        obligations.set_item(k, obligation_to_py(py, ob)?)?;
    }
    d.set_item("obligations", obligations)?;
    let acts = PyDict::new(py);
    for (k, ac) in &f.act_checks {
        let a = PyDict::new(py);
        a.set_item("rule", &ac.rule)?;
        a.set_item("trigger", &ac.trigger)?;
        a.set_item("response", opt_s(py, &ac.response))?;
        a.set_item("verdict", &ac.verdict)?;
        a.set_item("ts", ac.ts)?;
        a.set_item("act_id", &ac.act_id)?;
        a.set_item("reason", &ac.reason)?;
        acts.set_item(k, a)?;
    }
    d.set_item("act_checks", acts)?;
    if f.term_expires_at == TermKey::AtEnd {
        d.set_item("term_expires", f.term_expires.to_py(py)?)?;
    }
    Ok(d.into_any().unbind())
}

pub fn slot_to_py(py: Python<'_>, s: &Slot) -> PyResult<PyObject> {
    match s {
        Slot::Cause(c) => list(py, vec![opt_s(py, c)]),
        Slot::Last(k, c) => list(py, vec![PyString::new(py, k).into_any().unbind(), opt_s(py, c)]),
        Slot::V { cause, verdict, detected, response, act_ts, now } => list(
            py,
            vec![
                opt_s(py, cause),
                PyString::new(py, verdict).into_any().unbind(),
                PyString::new(py, detected).into_any().unbind(),
                opt_s(py, response),
                opt_i(py, *act_ts)?,
                opt_i(py, *now)?,
            ],
        ),
        Slot::M(c, v, a) => list(
            py,
            vec![opt_s(py, c), PyString::new(py, v).into_any().unbind(), opt_s(py, a)],
        ),
        Slot::W(c, ts, r, ob) => list(
            py,
            vec![
                opt_s(py, c),
                ts.into_pyobject(py)?.into_any().unbind(),
                PyString::new(py, r).into_any().unbind(),
                obligation_to_py(py, ob)?,
            ],
        ),
        Slot::L(k) => Ok(PyString::new(py, k).into_any().unbind()),
        Slot::A { cause, verdict, ts, rule, trigger, response, withdrawn } => {
            let mut items = vec![
                opt_s(py, cause),
                PyString::new(py, verdict).into_any().unbind(),
                ts.into_pyobject(py)?.into_any().unbind(),
                PyString::new(py, rule).into_any().unbind(),
                PyString::new(py, trigger).into_any().unbind(),
                opt_s(py, response),
            ];
            if let Some((wts, by)) = withdrawn {
                items.push(wts.into_pyobject(py)?.into_any().unbind());
                items.push(PyString::new(py, by).into_any().unbind());
            }
            list(py, items)
        }
        Slot::Other(v) => v.to_py(py),
    }
}

pub fn emitted_to_py(py: Python<'_>, em: &IndexMap<String, Slot>) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    for (k, s) in em {
        d.set_item(k, slot_to_py(py, s)?)?;
    }
    Ok(d.into_any().unbind())
}

pub fn events_to_py(py: Python<'_>, events: &[Ev]) -> PyResult<PyObject> {
    let items = events.iter().map(|e| ev_to_py(py, e)).collect::<PyResult<Vec<_>>>()?;
    list(py, items)
}

pub fn state_to_dict(py: Python<'_>, s: &StateData) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    d.set_item("v", 2)?;
    d.set_item("listing_id", &s.listing_id)?;
    d.set_item("jurisdiction", &s.jurisdiction)?;
    d.set_item("events", events_to_py(py, &s.events)?)?;
    d.set_item("fold", fold_to_py(py, &s.fold)?)?;
    d.set_item("now", opt_i(py, s.now)?)?;
    d.set_item("emitted", emitted_to_py(py, &s.emitted)?)?;
    Ok(d.into_any().unbind())
}

// --- from Python ------------------------------------------------------------------

fn bad(what: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    let r = obj.repr().map(|r| r.to_string()).unwrap_or_default();
    PyValueError::new_err(format!(
        "listing state: {what} is {r}; the native engine cannot load it"
    ))
}

fn s_of(o: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = o.downcast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    Err(bad(what, o))
}

fn os_of(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<String>> {
    if o.is_none() {
        return Ok(None);
    }
    s_of(o, what).map(Some)
}

fn i_of(o: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    if o.is_exact_instance_of::<pyo3::types::PyInt>() {
        if let Ok(i) = o.extract::<i64>() {
            return Ok(i);
        }
    }
    Err(bad(what, o))
}

fn oi_of(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<i64>> {
    if o.is_none() {
        return Ok(None);
    }
    i_of(o, what).map(Some)
}

fn b_of(o: &Bound<'_, PyAny>, what: &str) -> PyResult<bool> {
    if o.is_exact_instance_of::<pyo3::types::PyBool>() {
        return o.is_truthy();
    }
    Err(bad(what, o))
}

fn items<'py>(o: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(l) = o.downcast::<PyList>() {
        return Ok(l.iter().collect());
    }
    if let Ok(t) = o.downcast::<pyo3::types::PyTuple>() {
        return Ok(t.iter().collect());
    }
    Err(bad(what, o))
}

fn n_items<'py>(o: &Bound<'py, PyAny>, n: usize, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let v = items(o, what)?;
    if v.len() != n {
        return Err(bad(what, o));
    }
    Ok(v)
}

fn dict<'py>(o: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyDict>> {
    o.downcast::<PyDict>().cloned().map_err(|_| bad(what, o))
}

fn key<'py>(d: &Bound<'py, PyDict>, k: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(k)?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(k.to_string()))
}

pub fn ev_from_py(o: &Bound<'_, PyAny>) -> PyResult<Ev> {
    let v = n_items(o, 8, "an event")?;
    let payload = match val::from_json(&v[7])? {
        Val::Dict(d) => d,
        _ => return Err(bad("an event payload", &v[7])),
    };
    Ok(Ev {
        ts: i_of(&v[0], "an event instant")?,
        seq: i_of(&v[1], "an event seq")?,
        event_id: s_of(&v[2], "an event id")?,
        etype: s_of(&v[3], "an event type")?,
        src: s_of(&v[4], "an event source id")?,
        actor_kind: s_of(&v[5], "an actor kind")?,
        actor_code: os_of(&v[6], "an actor code")?,
        payload,
    })
}

pub fn obligation_from_py(o: &Bound<'_, PyAny>) -> PyResult<Obligation> {
    let d = dict(o, "an obligation")?;
    let sv = key(&d, "state_violation")?;
    let state_violation = if sv.is_none() {
        None
    } else {
        let v = n_items(&sv, 3, "a state violation")?;
        Some((
            s_of(&v[0], "a state violation")?,
            i_of(&v[1], "a state violation")?,
            s_of(&v[2], "a state violation")?,
        ))
    };
    let clock = match d.get_item("clock")? {
        Some(c) => {
            if !(c.is_exact_instance_of::<pyo3::types::PyBool>() && c.is_truthy()?) {
                return Err(bad("an obligation's clock mark", &c));
            }
            true
        }
        None => false,
    };
    if d.len() != 14 + clock as usize {
        return Err(bad("an obligation", o));
    }
    Ok(Obligation {
        rule: s_of(&key(&d, "rule")?, "rule")?,
        trigger: s_of(&key(&d, "trigger")?, "trigger")?,
        trigger_id: s_of(&key(&d, "trigger_id")?, "trigger_id")?,
        ts: i_of(&key(&d, "ts")?, "ts")?,
        measure: os_of(&key(&d, "measure")?, "measure")?,
        resp_code: os_of(&key(&d, "resp_code")?, "resp_code")?,
        source: s_of(&key(&d, "source")?, "source")?,
        due: os_of(&key(&d, "due")?, "due")?,
        prov: b_of(&key(&d, "prov")?, "prov")?,
        cal: os_of(&key(&d, "cal")?, "cal")?,
        answer: os_of(&key(&d, "answer")?, "answer")?,
        answer_ts: oi_of(&key(&d, "answer_ts")?, "answer_ts")?,
        answer_id: os_of(&key(&d, "answer_id")?, "answer_id")?,
        state_violation,
        clock,
    })
}

const FOLD_KEYS: [&str; 22] = [
    "status",
    "court",
    "relisted",
    "expired",
    "served",
    "risk_notice",
    "term_years",
    "term_expires",
    "debtor",
    "last_decision",
    "last_exit",
    "published",
    "not_for_publication",
    "pending_application",
    "applicant_requested",
    "applicant_deletion",
    "procedure_terminated",
    "empty_searches",
    "measures",
    "changes",
    "obligations",
    "act_checks",
];

pub fn fold_from_py(o: &Bound<'_, PyAny>) -> PyResult<Fold> {
    let d = dict(o, "the fold")?;
    // the native fold has exactly the keys of new_fold(), in its order
    let keys: Vec<String> = d.keys().iter().map(|k| k.extract::<String>()).collect::<PyResult<_>>()?;
    let standard: Vec<&str> = FOLD_KEYS.to_vec();
    let without: Vec<&str> = FOLD_KEYS.iter().copied().filter(|k| *k != "term_expires").collect();
    let mut at_end = without.clone();
    at_end.push("term_expires");
    let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    let term_expires_at = if keys == standard {
        TermKey::InPlace
    } else if keys == without {
        TermKey::Missing
    } else if keys == at_end {
        TermKey::AtEnd
    } else {
        return Err(bad("the fold's keys", &d.keys().into_any()));
    };
    let mut f = new_fold();
    f.term_expires_at = term_expires_at;
    f.status = os_of(&key(&d, "status")?, "status")?;
    f.court = os_of(&key(&d, "court")?, "court")?;
    f.relisted = b_of(&key(&d, "relisted")?, "relisted")?;
    f.expired = b_of(&key(&d, "expired")?, "expired")?;
    f.served = b_of(&key(&d, "served")?, "served")?;
    f.risk_notice = b_of(&key(&d, "risk_notice")?, "risk_notice")?;
    f.term_years = val::from_json(&key(&d, "term_years")?)?;
    if term_expires_at != TermKey::Missing {
        f.term_expires = val::from_json(&key(&d, "term_expires")?)?;
    }
    f.debtor = val::from_json(&key(&d, "debtor")?)?;
    f.last_decision = os_of(&key(&d, "last_decision")?, "last_decision")?;
    f.last_exit = os_of(&key(&d, "last_exit")?, "last_exit")?;
    f.published = os_of(&key(&d, "published")?, "published")?;
    f.not_for_publication = b_of(&key(&d, "not_for_publication")?, "not_for_publication")?;
    f.pending_application = b_of(&key(&d, "pending_application")?, "pending_application")?;
    f.applicant_requested = b_of(&key(&d, "applicant_requested")?, "applicant_requested")?;
    let ad = key(&d, "applicant_deletion")?;
    f.applicant_deletion = if ad.is_none() {
        None
    } else {
        let v = n_items(&ad, 2, "applicant_deletion")?;
        Some((s_of(&v[0], "applicant_deletion")?, s_of(&v[1], "applicant_deletion")?))
    };
    f.procedure_terminated = b_of(&key(&d, "procedure_terminated")?, "procedure_terminated")?;
    f.empty_searches = i_of(&key(&d, "empty_searches")?, "empty_searches")?;
    for (k, v) in dict(&key(&d, "measures")?, "measures")?.iter() {
        let m = n_items(&v, 6, "a measure")?;
        f.measures.insert(
            s_of(&k, "a measure code")?,
            Measure {
                agency: os_of(&m[0], "a measure agency")?,
                state: s_of(&m[1], "a measure state")?,
                since: i_of(&m[2], "a measure instant")?,
                src: s_of(&m[3], "a measure source")?,
                basis: val::from_json(&m[4])?,
                until: val::from_json(&m[5])?,
            },
        );
    }
    for c in items(&key(&d, "changes")?, "changes")? {
        let c = n_items(&c, 9, "a change")?;
        f.changes.push(Change {
            measure: s_of(&c[0], "a change")?,
            agency: os_of(&c[1], "a change")?,
            new: s_of(&c[2], "a change")?,
            previous: os_of(&c[3], "a change")?,
            ts: i_of(&c[4], "a change")?,
            src: s_of(&c[5], "a change")?,
            reason: val::from_json(&c[6])?,
            basis: val::from_json(&c[7])?,
            until: val::from_json(&c[8])?,
        });
    }
    for (k, v) in dict(&key(&d, "obligations")?, "obligations")?.iter() {
        f.obligations.insert(s_of(&k, "an obligation id")?, obligation_from_py(&v)?);
    }
    for (k, v) in dict(&key(&d, "act_checks")?, "act_checks")?.iter() {
        let a = dict(&v, "an act check")?;
        if a.len() != 7 {
            return Err(bad("an act check", &v));
        }
        f.act_checks.insert(
            s_of(&k, "an act check key")?,
            ActCheck {
                rule: s_of(&key(&a, "rule")?, "rule")?,
                trigger: s_of(&key(&a, "trigger")?, "trigger")?,
                response: os_of(&key(&a, "response")?, "response")?,
                verdict: s_of(&key(&a, "verdict")?, "verdict")?,
                ts: i_of(&key(&a, "ts")?, "ts")?,
                act_id: s_of(&key(&a, "act_id")?, "act_id")?,
                reason: s_of(&key(&a, "reason")?, "reason")?,
            },
        );
    }
    Ok(f)
}

pub fn slot_from_py(k: &str, o: &Bound<'_, PyAny>) -> PyResult<Slot> {
    let kind = k.split('|').next().unwrap_or("");
    Ok(match kind {
        "S" | "O" => {
            let v = n_items(o, 1, "a slot")?;
            Slot::Cause(os_of(&v[0], "a cause")?)
        }
        "SL" => {
            let v = n_items(o, 2, "a slot")?;
            Slot::Last(s_of(&v[0], "a change key")?, os_of(&v[1], "a cause")?)
        }
        "V" => {
            let v = n_items(o, 6, "a slot")?;
            Slot::V {
                cause: os_of(&v[0], "a cause")?,
                verdict: s_of(&v[1], "a verdict")?,
                detected: s_of(&v[2], "detected_by")?,
                response: os_of(&v[3], "a response")?,
                act_ts: oi_of(&v[4], "an act instant")?,
                now: oi_of(&v[5], "an instant")?,
            }
        }
        "M" => {
            let v = n_items(o, 3, "a slot")?;
            Slot::M(os_of(&v[0], "a cause")?, s_of(&v[1], "a verdict")?, os_of(&v[2], "an answer")?)
        }
        "W" => {
            let v = n_items(o, 4, "a slot")?;
            Slot::W(
                os_of(&v[0], "a cause")?,
                i_of(&v[1], "an instant")?,
                s_of(&v[2], "a response")?,
                obligation_from_py(&v[3])?,
            )
        }
        "L" => Slot::L(s_of(o, "a last kind")?),
        "A" => {
            let v = items(o, "a slot")?;
            if v.len() != 6 && v.len() != 8 {
                return Err(bad("a slot", o));
            }
            Slot::A {
                cause: os_of(&v[0], "a cause")?,
                verdict: s_of(&v[1], "a verdict")?,
                ts: i_of(&v[2], "an instant")?,
                rule: s_of(&v[3], "a rule")?,
                trigger: s_of(&v[4], "a trigger")?,
                response: os_of(&v[5], "a response")?,
                withdrawn: if v.len() == 8 {
                    Some((i_of(&v[6], "an instant")?, s_of(&v[7], "a response")?))
                } else {
                    None
                },
            }
        }
        _ => Slot::Other(val::from_json(o)?),
    })
}

pub fn emitted_from_py(o: &Bound<'_, PyAny>) -> PyResult<IndexMap<String, Slot>> {
    let d = o.downcast::<PyDict>().map_err(|_| PyTypeError::new_err("emitted: expected a dict"))?;
    let mut out = IndexMap::with_capacity_and_hasher(d.len(), Default::default());
    for (k, v) in d.iter() {
        let k = s_of(&k, "an emitted key")?;
        let s = slot_from_py(&k, &v)?;
        out.insert(k, s);
    }
    Ok(out)
}
