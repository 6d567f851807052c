//! The rules engine, ported function by function from rules/_reference.py (the
//! pure-Python engine): same names, same order of operations.

use crate::val::Map as IndexMap;
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::cal::{self, civil_from_days, end_of_day, iso, local_date, Calendar, Day};
use crate::policy::{Match, Policy, Rule};
use crate::rt;
use crate::state::*;
use crate::val::{self, eq_opt_str, Payload, Val};

pub const LISTED: &str = "LISTED";
pub const SHIELDED: &str = "SHIELDED";
pub const REVOKED: &str = "REVOKED";
pub const DELETED: &str = "DELETED";
pub const APPLIED: &str = "APPLIED";
pub const SUSPENDED: &str = "SUSPENDED";
pub const RELEASED: &str = "RELEASED";
pub const RETAINED: &str = "RETAINED";

pub const COMPLIANT: &str = "COMPLIANT";
pub const VIOLATION: &str = "VIOLATION";
pub const IN_TIME: &str = "IN_TIME";
pub const OUT_OF_TIME: &str = "OUT_OF_TIME";
pub const NO_NUMERIC_DEADLINE: &str = "NO_NUMERIC_DEADLINE";
pub const OPEN: &str = "OPEN";
pub const OVERDUE: &str = "OVERDUE";
pub const WITHDRAWN_VERDICT: &str = "WITHDRAWN";
pub const WITHDRAWN: &str = "WITHDRAWN";

pub const SANCTION_STATE_CHANGED: &str = "SANCTION_STATE_CHANGED";
pub const DEADLINE_OPENED: &str = "DEADLINE_OPENED";
pub const DEADLINE_MET: &str = "DEADLINE_MET";
pub const DEADLINE_VIOLATED: &str = "DEADLINE_VIOLATED";
pub const TERM_EXPIRED: &str = "LISTING_TERM_EXPIRED";

fn is_exit_status(s: &Option<String>) -> bool {
    matches!(s.as_deref(), Some(SHIELDED) | Some(REVOKED) | Some(DELETED))
}

fn exit_event(etype: &str) -> Option<&'static str> {
    match etype {
        "LISTING_SHIELDED" => Some(SHIELDED),
        "LISTING_REVOKED" => Some(REVOKED),
        "LISTING_DELETED" => Some(DELETED),
        "EARLY_DELETION_DECIDED" => Some(DELETED),
        _ => None,
    }
}

fn measure_event(etype: &str) -> Option<&'static str> {
    match etype {
        "SANCTION_APPLIED" => Some(APPLIED),
        "SANCTION_RESUMED" => Some(APPLIED),
        "SANCTION_SUSPENDED" => Some(SUSPENDED),
        "SANCTION_RELEASED" => Some(RELEASED),
        "SANCTION_RETAINED" => Some(RETAINED),
        _ => None,
    }
}

fn violating(v: &str) -> bool {
    v == VIOLATION || v == OUT_OF_TIME
}

fn truthy_s(s: &Option<String>) -> bool {
    matches!(s, Some(x) if !x.is_empty())
}

fn or_none(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("None")
}

/// Python's str.isspace() for rstrip()
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The cause of a diff: the event being applied (or the tick).
pub struct Cause {
    pub event_id: String,
    pub src_or_id: String,
    pub correlation: PyObject,
}

pub struct Ctx<'a, 'py> {
    pub py: Python<'py>,
    pub pol: &'a Policy,
    pub cal: &'a Calendar,
}

fn touch(touched: &mut Option<Vec<String>>, key: &str) {
    if let Some(t) = touched {
        t.push(key.to_string());
    }
}

// --- folding ----------------------------------------------------------------------

pub fn refold(st: &mut StateData, cx: &Ctx) -> PyResult<()> {
    st.fold = new_fold();
    for i in 0..st.events.len() {
        fold_event(st, i, cx)?;
    }
    Ok(())
}

pub fn fold_event(st: &mut StateData, idx: usize, cx: &Ctx) -> PyResult<()> {
    let py = cx.py;
    let pol = cx.pol;
    let StateData { events, fold, touched, listing_id, jurisdiction, .. } = st;
    let e = &events[idx];
    let etype = e.etype.as_str();
    let payload = &e.payload;

    // 1. acts forbidden while an obligation is open (enforcing a suspended measure)
    if pol.forbidden_acts.contains(etype) {
        for (oid, ob) in fold.obligations.iter_mut() {
            if ob.answer.is_none() && ob.state_violation.is_none() {
                let forbidden = &pol.rule(&ob.rule)?.forbidden_acts;
                if forbidden.iter().any(|a| a == etype)
                    && eq_opt_str(py, val::get(payload, "measure_code"), ob.measure.as_deref())?
                {
                    ob.state_violation = Some((e.src.clone(), e.ts, e.event_id.clone()));
                    touch(touched, oid);
                }
            }
        }
    }

    // 2. answers close open obligations
    for &(ri, mi) in pol.answer_for(etype) {
        let rule = &pol.rules[ri];
        let m = &rule.met_by[mi];
        if !m.accepts(py, payload)? {
            continue;
        }
        for (oid, ob) in fold.obligations.iter_mut() {
            if ob.rule != rule.id || ob.answer.is_some() {
                continue;
            }
            if m.same_measure
                && !eq_opt_str(py, val::get(payload, "measure_code"), ob.measure.as_deref())?
            {
                continue;
            }
            if m.refers_to_trigger && !eq_opt_str(py, val::get(payload, "refers_to"), Some(&ob.trigger))? {
                continue;
            }
            if e.ts < ob.ts {
                continue;
            }
            ob.answer = Some(e.src.clone());
            ob.answer_ts = Some(e.ts);
            ob.answer_id = Some(e.event_id.clone());
            touch(touched, oid);
        }
    }

    // 3. act checks see the state before the act
    for &(ri, mi) in pol.act_for(etype) {
        let rule = &pol.rules[ri];
        let m = &rule.acts[mi];
        if m.accepts(py, payload)? && rule.in_force(jurisdiction, local_date(py, e.ts)?) {
            act_check(fold, touched, rule, e, cx)?;
        }
    }

    // 4. the act changes the listing and the sanctions
    transition(py, fold, e)?;

    // 5. triggers open obligations
    for &(ri, mi) in pol.open_for(etype) {
        let rule = &pol.rules[ri];
        let m = &rule.opens[mi];
        if !m.accepts(py, payload)? {
            continue;
        }
        if !rule.in_force(jurisdiction, local_date(py, e.ts)?) {
            continue;
        }
        if let Some(g) = &m.guard {
            if !guard(fold, g)? {
                continue;
            }
        }
        open(listing_id, jurisdiction, events, fold, touched, rule, m, idx, cx)?;
    }
    Ok(())
}

fn transition(py: Python<'_>, fold: &mut Fold, e: &Ev) -> PyResult<()> {
    let etype = e.etype.as_str();
    let payload = &e.payload;
    let src = &e.src;
    if etype == "LISTING_DECISION_MADE" {
        if is_exit_status(&fold.status) {
            fold.relisted = true;
        }
        fold.status = Some(LISTED.to_string());
        if truthy_s(&e.actor_code) {
            fold.court = e.actor_code.clone();
        }
        fold.last_decision = Some(src.clone());
        fold.published = None;
        fold.pending_application = false;
        fold.applicant_requested = false;
        fold.expired = false;
        fold.term_years = val::get(payload, "term_years").clone();
        fold.term_expires = val::get(payload, "term_expires").clone();
        if fold.term_expires_at == TermKey::Missing {
            fold.term_expires_at = TermKey::AtEnd; // a new key goes last in a dict
        }
        let debtor = val::get(payload, "debtor");
        if debtor.truthy(py)? {
            fold.debtor = debtor.clone();
        }
        if val::get(payload, "publishable").is_false()
            || val::get(payload, "not_for_publication").truthy(py)?
        {
            fold.not_for_publication = true;
        }
    } else if let Some(exit) = exit_event(etype) {
        if fold.status.as_deref() == Some(LISTED) {
            fold.status = Some(exit.to_string());
            fold.last_exit = Some(src.clone());
            if (etype == "LISTING_DELETED" || etype == "LISTING_SHIELDED") && fold.applicant_requested {
                fold.applicant_deletion = Some((src.clone(), iso(local_date(py, e.ts)?)));
            }
        }
    } else if etype == "DEBTOR_IDENTIFIED" {
        let debtor = val::get(payload, "debtor");
        if debtor.truthy(py)? {
            fold.debtor = debtor.clone();
        }
    } else if etype == "LISTING_TERM_EXPIRED" {
        fold.expired = true;
    } else if etype == "LISTING_DECISION_SERVED" {
        fold.served = true;
    } else if etype == "LISTING_PUBLISHED" {
        if fold.last_decision.is_some() && fold.published.is_none() {
            fold.published = Some(src.clone());
        }
    } else if etype == "LISTING_WITHDRAWN_FROM_PUBLICATION" || etype == "EMPLOYER_NOTIFIED" {
        fold.not_for_publication = true;
    } else if etype == "EXECUTION_NOTICE_SERVED" {
        if val::get(payload, "risk_warning_included").truthy(py)? {
            fold.risk_notice = true;
        }
    } else if etype == "LISTING_APPLICATION_RECEIVED" {
        fold.pending_application = true;
    } else if etype == "LISTING_APPLICATION_REJECTED" {
        fold.pending_application = false;
    } else if etype == "DELETION_REQUESTED_BY_APPLICANT" {
        fold.applicant_requested = true;
    } else if etype == "CURRENT_PROCEDURE_TERMINATED" {
        fold.procedure_terminated = true;
        fold.empty_searches = 0;
    } else if etype == "ASSET_SEARCH_COMPLETED" {
        if fold.procedure_terminated && val::get(payload, "found").is_false() {
            fold.empty_searches += 1;
        }
    } else if let Some(new_state) = measure_event(etype) {
        measure_change(py, fold, e, new_state)?;
    }
    if fold.court.is_none() && e.actor_kind == "COURT" && truthy_s(&e.actor_code) {
        fold.court = e.actor_code.clone();
    }
    Ok(())
}

fn measure_change(py: Python<'_>, fold: &mut Fold, e: &Ev, new_state: &str) -> PyResult<()> {
    let payload = &e.payload;
    let measure = val::get(payload, "measure_code");
    if !measure.truthy(py)? {
        rt(py).warn_measure_missing.bind(py).call1((&e.event_id, &e.etype))?;
        return Ok(());
    }
    let measure = val::opt_string(py, measure, "measure_code")?.unwrap();
    let current = fold.measures.get(&measure);
    let previous = current.map(|c| c.state.clone());
    if previous.as_deref() == Some(new_state) && new_state != RETAINED {
        return Ok(());
    }
    let agency = if truthy_s(&e.actor_code) {
        e.actor_code.clone()
    } else {
        current.and_then(|c| c.agency.clone())
    };
    let (basis, until) = if new_state == RETAINED {
        (val::get(payload, "legal_basis").clone(), val::get(payload, "retention_until").clone())
    } else {
        (Val::None, Val::None)
    };
    fold.measures.insert(
        measure.clone(),
        Measure {
            agency: agency.clone(),
            state: new_state.to_string(),
            since: e.ts,
            src: e.src.clone(),
            basis: basis.clone(),
            until: until.clone(),
        },
    );
    fold.changes.push(Change {
        measure,
        agency,
        new: new_state.to_string(),
        previous,
        ts: e.ts,
        src: e.src.clone(),
        reason: val::get(payload, "reason").clone(),
        basis,
        until,
    });
    Ok(())
}

fn guard(fold: &Fold, name: &str) -> PyResult<bool> {
    if name == "listing_in_force" {
        return Ok(fold.status.as_deref() == Some(LISTED));
    }
    if name == "second_search_after_current_procedure_terminated" {
        return Ok(fold.status.as_deref() == Some(LISTED)
            && fold.procedure_terminated
            && fold.empty_searches == 2
            && fold.term_years.is_none());
    }
    Err(crate::rules_error(format!("guard '{name}' is unknown")))
}

#[allow(clippy::too_many_arguments)]
fn open(
    listing_id: &str,
    jurisdiction: &str,
    events: &[Ev],
    fold: &mut Fold,
    touched: &mut Option<Vec<String>>,
    rule: &Rule,
    m: &Match,
    idx: usize,
    cx: &Ctx,
) -> PyResult<()> {
    let py = cx.py;
    let e = &events[idx];
    let targets: Vec<(Option<String>, Option<String>)> = if rule.per_measure {
        let measure = val::get(&e.payload, "measure_code");
        if measure.truthy(py)? {
            let measure = val::opt_string(py, measure, "measure_code")?.unwrap();
            let current = fold.measures.get(&measure);
            let to_agency = val::get(&e.payload, "to_agency");
            let agency = if to_agency.truthy(py)? {
                val::opt_string(py, to_agency, "to_agency")?
            } else {
                current.and_then(|c| c.agency.clone())
            };
            vec![(Some(measure), agency)]
        } else {
            let mut keys: Vec<&String> = fold
                .measures
                .iter()
                .filter(|(_, v)| v.state == APPLIED || v.state == SUSPENDED)
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            keys.into_iter()
                .map(|k| (Some(k.clone()), fold.measures[k].agency.clone()))
                .collect()
        }
    } else {
        vec![(None, None)]
    };

    let mut start_day = local_date(py, e.ts)?;
    if e.etype == TERM_EXPIRED {
        if let Some((_, last_day)) = current_term(py, events, fold)? {
            if last_day < start_day {
                start_day = last_day;
            }
        }
    }
    let deadline = deadline(rule, start_day, jurisdiction, cx)?;
    for (measure, agency) in targets {
        let mut oid = cat(&[listing_id, "|", &rule.id, "|", &e.src]);
        if let Some(ms) = &measure {
            if !ms.is_empty() {
                oid.push('|');
                oid.push_str(ms);
            }
        }
        if fold.obligations.contains_key(&oid) {
            continue;
        }
        let resp_code = responsible_code(py, fold, &rule.responsible, &rule.responsible_field, e, &agency)?;
        let ob = new_obligation(rule, m, e, e.ts, measure, resp_code, &deadline, None);
        fold.obligations.insert(oid.clone(), ob);
        touch(touched, &oid);
    }
    Ok(())
}

type Deadline = (Option<String>, bool, Option<String>);

fn deadline(rule: &Rule, start_day: Day, jurisdiction: &str, cx: &Ctx) -> PyResult<Deadline> {
    match &rule.limit {
        Some((value, unit, _)) if rule.is_deadline => {
            let (due, prov) = cx.cal.add(start_day, *value, *unit, jurisdiction)?;
            Ok((Some(iso(due)), prov, Some(cx.cal.version.clone())))
        }
        _ => Ok((None, false, None)),
    }
}

#[allow(clippy::too_many_arguments)]
fn new_obligation(
    rule: &Rule,
    m: &Match,
    trigger: &Ev,
    ts: i64,
    measure: Option<String>,
    resp_code: Option<String>,
    deadline: &Deadline,
    answer: Option<&Ev>,
) -> Obligation {
    let source = match &m.source {
        Some(s) if !s.is_empty() => s.clone(),
        _ => rule.source.clone(),
    };
    Obligation {
        rule: rule.id.clone(),
        trigger: trigger.src.clone(),
        trigger_id: trigger.event_id.clone(),
        ts,
        measure,
        resp_code,
        source,
        due: deadline.0.clone(),
        prov: deadline.1,
        cal: deadline.2.clone(),
        answer: answer.map(|a| a.src.clone()),
        answer_ts: answer.map(|a| a.ts),
        answer_id: answer.map(|a| a.event_id.clone()),
        state_violation: None,
        clock: false,
    }
}

fn responsible_code(
    py: Python<'_>,
    fold: &Fold,
    kind: &str,
    field_name: &Option<String>,
    e: &Ev,
    agency: &Option<String>,
) -> PyResult<Option<String>> {
    if let Some(f) = field_name {
        if !f.is_empty() {
            let v = val::get(&e.payload, f);
            if v.truthy(py)? {
                let named = v.py_str(py)?;
                if kind == "COURT" {
                    let code = rt(py).court_code.bind(py).call1((named,))?;
                    return Ok(Some(code.extract()?));
                }
                return Ok(Some(named));
            }
        }
    }
    if kind == "COURT" {
        return Ok(fold.court.clone());
    }
    if kind == "AGENCY" {
        return Ok(agency.clone());
    }
    Ok(None)
}

// --- obligations the clock opens ---------------------------------------------------

fn is_type_or_value_error(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<pyo3::exceptions::PyTypeError>(py)
        || err.is_instance_of::<pyo3::exceptions::PyValueError>(py)
}

/// `term_last_day(decided_on, years, expires)`
pub fn term_last_day(py: Python<'_>, decided_on: Day, years: &Val, expires: &Val) -> PyResult<Option<Day>> {
    if !(years.truthy(py)? || expires.truthy(py)?) {
        return Ok(None);
    }
    if expires.truthy(py)? {
        let day = expires.py_str(py).and_then(|text| {
            let head: String = text.chars().take(10).collect();
            cal::iso_date_str(py, &head)
        });
        return match day {
            Ok(d) => Ok(Some(d)),
            Err(err) if is_type_or_value_error(py, &err) => Ok(None),
            Err(err) => Err(err),
        };
    }
    // the years of a plain int whose last day is a date; anything else (a float, a
    // string, a year past 9999, one past the C int that `date()` raises
    // OverflowError for) is left to the reference's own function
    let n: Option<i64> = match years {
        Val::Int(i) => Some(*i),
        Val::Bool(b) => Some(*b as i64),
        _ => None,
    };
    if let Some(day) = n
        .and_then(|n| n.checked_mul(12))
        .and_then(|months| cal::add_months(decided_on, months).ok())
    {
        return Ok(Some(day));
    }
    let r = rt(py);
    let day = r.term_last_day.bind(py).call1((
        cal::date_obj(py, decided_on)?,
        years.to_py(py)?,
        expires.to_py(py)?,
    ))?;
    if day.is_none() {
        Ok(None)
    } else {
        Ok(Some(cal::day_of(&day)?))
    }
}

/// `_current_term`: (index of the current decision, last day of its term)
pub fn current_term(py: Python<'_>, events: &[Ev], fold: &Fold) -> PyResult<Option<(usize, Day)>> {
    let years = &fold.term_years;
    let stated = &fold.term_expires;
    let decision_src = match &fold.last_decision {
        Some(s) => s,
        None => return Ok(None),
    };
    if !(years.truthy(py)? || stated.truthy(py)?) {
        return Ok(None);
    }
    for (i, e) in events.iter().enumerate() {
        if &e.src == decision_src && e.etype == "LISTING_DECISION_MADE" {
            let last_day = term_last_day(py, local_date(py, e.ts)?, years, stated)?;
            return Ok(last_day.map(|d| (i, d)));
        }
    }
    Ok(None)
}

/// `_term_expiry`: (24:00 of the term's last day, the decision's index, that day)
pub fn term_expiry(py: Python<'_>, events: &[Ev], fold: &Fold) -> PyResult<Option<(i64, usize, Day)>> {
    if fold.expired {
        return Ok(None);
    }
    let (decision, last_day) = match current_term(py, events, fold)? {
        Some(t) => t,
        None => return Ok(None),
    };
    let mut exit_event: Option<&Ev> = None;
    if let Some(last_exit) = &fold.last_exit {
        for e in events {
            if &e.src == last_exit {
                exit_event = Some(e);
            }
        }
    }
    let end = end_of_day(py, last_day)?;
    if fold.status.as_deref() != Some(LISTED) && (exit_event.is_none() || exit_event.unwrap().ts < end) {
        return Ok(None);
    }
    Ok(Some((end, decision, last_day)))
}

fn derive_clock_obligations(st: &mut StateData, cx: &Ctx) -> PyResult<IndexMap<String, Obligation>> {
    let py = cx.py;
    let mut before: IndexMap<String, Obligation> = IndexMap::default();
    if st.fold.obligations.values().any(|ob| ob.clock) {
        for (oid, ob) in st.fold.obligations.iter() {
            if ob.clock {
                before.insert(oid.clone(), ob.clone());
            }
        }
        st.fold.obligations.retain(|_, ob| !ob.clock);
    }
    let expiry = term_expiry(py, &st.events, &st.fold)?;
    if let (Some((end, decision, last_day)), Some(now)) = (expiry, st.now) {
        if now >= end {
            let start = end - 86_400;
            for &(ri, mi) in cx.pol.open_for(TERM_EXPIRED) {
                let rule = &cx.pol.rules[ri];
                if !rule.in_force(&st.jurisdiction, last_day) {
                    continue;
                }
                open_at(st, rule, &rule.opens[mi], decision, start, last_day, cx)?;
            }
        }
    }
    let mut vanished = IndexMap::default();
    for (oid, ob) in before.iter() {
        match st.fold.obligations.get(oid) {
            None => {
                vanished.insert(oid.clone(), ob.clone());
            }
            Some(now_ob) => {
                if now_ob != ob {
                    touch(&mut st.touched, oid);
                }
            }
        }
    }
    let StateData { fold, touched, .. } = st;
    for (oid, ob) in fold.obligations.iter() {
        if ob.clock && !before.contains_key(oid) {
            touch(touched, oid);
        }
    }
    Ok(vanished)
}

#[allow(clippy::too_many_arguments)]
fn open_at(
    st: &mut StateData,
    rule: &Rule,
    m: &Match,
    trigger: usize,
    start: i64,
    start_day: Day,
    cx: &Ctx,
) -> PyResult<()> {
    let py = cx.py;
    let oid = cat(&[&st.listing_id, "|", &rule.id, "|", &st.events[trigger].src]);
    if st.fold.obligations.contains_key(&oid) {
        return Ok(());
    }
    let mut answer: Option<usize> = None;
    'events: for (i, e) in st.events.iter().enumerate() {
        if e.ts < start {
            continue;
        }
        for &(ri, mi) in cx.pol.answer_for(&e.etype) {
            let b = &cx.pol.rules[ri];
            if b.id == rule.id && b.met_by[mi].accepts(py, &e.payload)? {
                answer = Some(i);
                break 'events;
            }
        }
    }
    let resp_code = if rule.responsible == "COURT" { st.fold.court.clone() } else { None };
    let deadline = deadline(rule, start_day, &st.jurisdiction, cx)?;
    let mut ob = new_obligation(
        rule,
        m,
        &st.events[trigger],
        start,
        None,
        resp_code,
        &deadline,
        answer.map(|i| &st.events[i]),
    );
    ob.clock = true;
    st.fold.obligations.insert(oid, ob);
    Ok(())
}

// --- act checks -------------------------------------------------------------------

type Pred = Option<(&'static str, Option<String>, Option<String>, String)>;

fn act_check(fold: &mut Fold, touched: &mut Option<Vec<String>>, rule: &Rule, e: &Ev, cx: &Ctx) -> PyResult<()> {
    let py = cx.py;
    let result = match rule.predicate.as_deref().unwrap_or("") {
        "debtor_not_minor" => p_debtor_not_minor(py, fold, e)?,
        "risk_notice_before" => p_risk_notice(fold, e),
        "applicant_relist_bar" => p_applicant_relist_bar(py, fold, rule, e)?,
        "relist_after_exit" => p_relist_after_exit(fold, e),
        "retention_has_basis_and_period" => p_retention(py, fold, e)?,
        "repair_refused_while_listed" => p_repair(py, fold, e)?,
        "not_for_publication_route" => p_not_for_publication(fold, e),
        "measure_in_force" => p_measure_in_force(py, fold, e)?,
        "listing_in_force" => p_listing_in_force(fold, e),
        other => return Err(pyo3::exceptions::PyKeyError::new_err(other.to_string())),
    };
    let (verdict, trigger, mut response, reason) = match result {
        Some(r) => r,
        None => return Ok(()),
    };
    let trigger = match trigger {
        Some(t) => t,
        None => return Ok(()),
    };
    if rule.response_none {
        response = None;
    }
    let key = cat(&[&rule.id, "|", &trigger, "|", or_none(&response)]);
    fold.act_checks.insert(
        key.clone(),
        ActCheck {
            rule: rule.id.clone(),
            trigger,
            response,
            verdict: verdict.to_string(),
            ts: e.ts,
            act_id: e.event_id.clone(),
            reason,
        },
    );
    touch(touched, &key);
    Ok(())
}

fn verdict_of(ok: bool) -> &'static str {
    if ok {
        COMPLIANT
    } else {
        VIOLATION
    }
}

fn p_debtor_not_minor(py: Python<'_>, fold: &Fold, e: &Ev) -> PyResult<Pred> {
    let own = val::get(&e.payload, "debtor");
    let empty = Val::Dict(IndexMap::default());
    let debtor = if own.truthy(py)? {
        own
    } else if fold.debtor.truthy(py)? {
        &fold.debtor
    } else {
        &empty
    };
    let birth = match birth_date(py, debtor)? {
        Some(b) => b,
        None => return Ok(None),
    };
    let on = local_date(py, e.ts)?;
    let (oy, om, od) = civil_from_days(on);
    let (by, bm, bd) = civil_from_days(birth);
    let age = oy - by - (((om, od) < (bm, bd)) as i64);
    let reason = format!("debtor aged {} at the decision date {}", age, iso(on));
    Ok(Some((verdict_of(age >= 18), Some(e.src.clone()), None, reason)))
}

fn birth_date(py: Python<'_>, debtor: &Val) -> PyResult<Option<Day>> {
    let d = match debtor {
        Val::Dict(d) => d,
        Val::Py(_) => {
            let r = rt(py).birth_date.bind(py).call1((debtor.to_py(py)?,))?;
            return if r.is_none() { Ok(None) } else { Ok(Some(cal::day_of(&r)?)) };
        }
        _ => {
            let obj = debtor.to_py(py)?;
            let tname = obj.bind(py).get_type().name()?.to_string();
            return Err(PyAttributeError::new_err(format!("'{tname}' object has no attribute 'get'")));
        }
    };
    let et = val::get(d, "entity_type");
    if !(et.is_none() || val::eq_opt_str(py, et, Some("NATURAL_PERSON"))?) {
        return Ok(None);
    }
    let bdate = val::get(d, "birth_date");
    if bdate.truthy(py)? {
        let text = bdate.py_str(py)?;
        return cal::iso_date_str(py, &text).map(Some);
    }
    let idn = val::get(d, "id_number");
    let number = if idn.truthy(py)? { idn.py_str(py)? } else { String::new() };
    if !number.is_ascii() {
        // Unicode digits: let Python decide (isdigit / int differ on them)
        let r = rt(py).birth_date.bind(py).call1((debtor.to_py(py)?,))?;
        return if r.is_none() { Ok(None) } else { Ok(Some(cal::day_of(&r)?)) };
    }
    let bytes = number.as_bytes();
    if bytes.len() != 18 || !bytes[6..14].iter().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let num = |a: usize, b: usize| -> i64 { number[a..b].parse::<i64>().unwrap() };
    let (y, m, dd) = (num(6, 10), num(10, 12), num(12, 14));
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || dd < 1 || dd > cal::month_days(y, m as u32) as i64 {
        return Ok(None);
    }
    Ok(Some(cal::days_from_civil(y, m as u32, dd as u32)))
}

fn p_risk_notice(fold: &Fold, e: &Ev) -> Pred {
    let ok = fold.risk_notice;
    let reason = if ok {
        "a risk notice was served before the decision"
    } else {
        "no execution notice with a risk warning was served before the listing decision"
    };
    Some((verdict_of(ok), Some(e.src.clone()), None, reason.to_string()))
}

fn p_applicant_relist_bar(py: Python<'_>, fold: &Fold, rule: &Rule, e: &Ev) -> PyResult<Pred> {
    let deletion = match &fold.applicant_deletion {
        Some(d) => d,
        None => return Ok(None),
    };
    let limit = match &rule.limit {
        Some(l) => l,
        None => return Ok(None),
    };
    let bar_end = cal::add_months(cal::iso_date_str(py, &deletion.1)?, limit.0)?;
    if local_date(py, e.ts)? > bar_end {
        return Ok(None);
    }
    if e.etype == "LISTING_APPLICATION_REJECTED" {
        return Ok(Some((
            COMPLIANT,
            Some(deletion.0.clone()),
            Some(e.src.clone()),
            format!("re-application within the bar (ends {}) refused", iso(bar_end)),
        )));
    }
    if e.etype == "LISTING_DECISION_MADE" && fold.pending_application {
        return Ok(Some((
            VIOLATION,
            Some(deletion.0.clone()),
            Some(e.src.clone()),
            format!(
                "listed again on the applicant's application before the bar ends {}",
                iso(bar_end)
            ),
        )));
    }
    Ok(None)
}

fn p_relist_after_exit(fold: &Fold, e: &Ev) -> Pred {
    if !is_exit_status(&fold.status) || fold.last_exit.is_none() {
        return None;
    }
    if fold.applicant_deletion.is_some() && fold.pending_application {
        return None;
    }
    Some((
        COMPLIANT,
        fold.last_exit.clone(),
        Some(e.src.clone()),
        "listed again after deletion for a new act".to_string(),
    ))
}

fn p_retention(py: Python<'_>, fold: &Fold, e: &Ev) -> PyResult<Pred> {
    if fold.last_exit.is_none() {
        return Ok(None);
    }
    let mut missing = Vec::new();
    for k in ["legal_basis", "retention_until"] {
        if !val::get(&e.payload, k).truthy(py)? {
            missing.push(k);
        }
    }
    let reason = if missing.is_empty() {
        "retention names its legal basis and period".to_string()
    } else {
        format!("retention lacks {}", missing.join(", "))
    };
    Ok(Some((verdict_of(missing.is_empty()), fold.last_exit.clone(), Some(e.src.clone()), reason)))
}

fn p_repair(py: Python<'_>, fold: &Fold, e: &Ev) -> PyResult<Pred> {
    if fold.status.as_deref() != Some(LISTED) {
        return Ok(None);
    }
    let outcome = val::get(&e.payload, "outcome");
    let text = outcome.py_str(py)?;
    let lower = if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        PyString::new(py, &text).call_method0("lower")?.extract::<String>()?
    };
    let reason = format!("credit repair {lower} while the entry is still listed");
    let trigger = val::opt_string(py, val::get(&e.payload, "refers_to"), "refers_to")?;
    Ok(Some((
        verdict_of(val::eq_opt_str(py, outcome, Some("REJECTED"))?),
        trigger,
        Some(e.src.clone()),
        reason,
    )))
}

fn p_not_for_publication(fold: &Fold, e: &Ev) -> Pred {
    fold.last_decision.as_ref()?;
    if e.etype == "EMPLOYER_NOTIFIED" {
        if fold.published.is_some() {
            return Some((
                VIOLATION,
                fold.last_decision.clone(),
                fold.published.clone(),
                "information that may not be published was published".to_string(),
            ));
        }
        return Some((
            COMPLIANT,
            fold.last_decision.clone(),
            Some(e.src.clone()),
            "not published; employer notified".to_string(),
        ));
    }
    if fold.not_for_publication {
        return Some((
            VIOLATION,
            fold.last_decision.clone(),
            Some(e.src.clone()),
            "a not-for-publication listing was published".to_string(),
        ));
    }
    None
}

fn p_measure_in_force(py: Python<'_>, fold: &Fold, e: &Ev) -> PyResult<Pred> {
    let code = val::get(&e.payload, "measure_code");
    let current = match code {
        Val::Str(s) => fold.measures.get(s),
        Val::List(_) => {
            return Err(pyo3::exceptions::PyTypeError::new_err("unhashable type: 'list'"));
        }
        Val::Dict(_) => {
            return Err(pyo3::exceptions::PyTypeError::new_err("unhashable type: 'dict'"));
        }
        Val::Py(o) => {
            // a str subclass may equal a key
            let o = o.bind(py);
            let mut found = None;
            for (k, v) in fold.measures.iter() {
                if o.eq(k)? {
                    found = Some(v);
                    break;
                }
            }
            found
        }
        _ => None,
    };
    let current = match current {
        Some(c) if c.state == RELEASED || c.state == SUSPENDED => c,
        _ => return Ok(None),
    };
    Ok(Some((
        VIOLATION,
        Some(current.src.clone()),
        Some(e.src.clone()),
        format!("measure enforced while {}", current.state.to_lowercase()),
    )))
}

fn p_listing_in_force(fold: &Fold, e: &Ev) -> Pred {
    let ok = fold.status.as_deref() == Some(LISTED);
    let trigger = if truthy_s(&fold.last_exit) { fold.last_exit.clone() } else { fold.last_decision.clone() };
    Some((
        verdict_of(ok),
        trigger,
        Some(e.src.clone()),
        if ok { "listing in force" } else { "the listing is no longer in force" }.to_string(),
    ))
}

// --- outcomes and derived events ------------------------------------------------

/// `_obligation_verdict`
pub fn obligation_verdict(py: Python<'_>, ob: &Obligation, rule: &Rule, now: Option<i64>) -> PyResult<Option<&'static str>> {
    let party = rule.obligor == "PARTY";
    if ob.state_violation.is_some() && !party {
        return Ok(Some(VIOLATION));
    }
    if ob.answer.is_some() {
        if rule.no_period {
            return Ok(Some(NO_NUMERIC_DEADLINE));
        }
        let due = match &ob.due {
            None => return Ok(Some(COMPLIANT)),
            Some(d) => d,
        };
        let answer_ts = ob
            .answer_ts
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("answer_ts is None"))?;
        let on_time = local_date(py, answer_ts)? <= cal::iso_date_str(py, due)?;
        if party {
            return Ok(Some(if on_time { IN_TIME } else { OUT_OF_TIME }));
        }
        return Ok(Some(if on_time { COMPLIANT } else { VIOLATION }));
    }
    if let (Some(due), Some(now)) = (&ob.due, now) {
        if now >= end_of_day(py, cal::iso_date_str(py, due)?)? {
            if party || !rule.answer_required {
                return Ok(None);
            }
            return Ok(Some(VIOLATION));
        }
    }
    Ok(Some(OPEN))
}

pub type Out = Vec<PyObject>;

/// `_diff`
pub fn diff(
    st: &mut StateData,
    cause: &Cause,
    cx: &Ctx,
    changes_before: usize,
    old_fold: Option<Fold>,
) -> PyResult<Out> {
    let vanished = derive_clock_obligations(st, cx)?;
    let touched = st.touched.take();
    // `emitted` is taken out while the outcomes (read in place) are compared to it
    let mut em = std::mem::take(&mut st.emitted);
    let result = diff_outcomes(st, &mut em, cause, cx, touched, changes_before, old_fold, &vanished);
    st.emitted = em;
    result
}

#[allow(clippy::too_many_arguments)]
fn diff_outcomes(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    cx: &Ctx,
    touched: Option<Vec<String>>,
    changes_before: usize,
    old_fold: Option<Fold>,
    vanished: &IndexMap<String, Obligation>,
) -> PyResult<Out> {
    let mut out: Out = Vec::new();
    let full = touched.is_none();
    let from = if full { 0 } else { changes_before };
    if st.fold.changes.len() > from {
        diff_sanctions(st, em, cause, &st.fold.changes[from..], full, cx, &mut out)?;
    }
    match &touched {
        None => {
            for (oid, ob) in st.fold.obligations.iter() {
                let rule = cx.pol.rule(&ob.rule)?;
                diff_obligation(st, em, cause, oid, ob, rule, cx, &mut out)?;
            }
            for (key, ac) in st.fold.act_checks.iter() {
                let rule = cx.pol.rule(&ac.rule)?;
                diff_act(st, em, cause, key, ac, rule, cx, &mut out)?;
            }
        }
        Some(t) => {
            for oid in t {
                if let Some(ob) = st.fold.obligations.get(oid) {
                    let rule = cx.pol.rule(&ob.rule)?;
                    diff_obligation(st, em, cause, oid, ob, rule, cx, &mut out)?;
                }
            }
            for key in t {
                if let Some(ac) = st.fold.act_checks.get(key) {
                    let rule = cx.pol.rule(&ac.rule)?;
                    diff_act(st, em, cause, key, ac, rule, cx, &mut out)?;
                }
            }
        }
    }
    for (oid, ob) in vanished.iter() {
        let last = last_of(em, oid);
        if matches!(last.as_deref(), Some("O") | Some("V")) || bad_met(em, oid, last.as_deref())? {
            let rule = cx.pol.rule(&ob.rule)?;
            withdraw(st, em, cause, oid, ob, rule, cx, &mut out)?;
        }
    }
    if let Some(old) = old_fold {
        for (oid, ob) in old.obligations.iter() {
            if !st.fold.obligations.contains_key(oid) && !vanished.contains_key(oid) {
                let last = last_of(em, oid);
                if matches!(last.as_deref(), Some("O") | Some("V")) || bad_met(em, oid, last.as_deref())? {
                    let rule = cx.pol.rule(&ob.rule)?;
                    withdraw(st, em, cause, oid, ob, rule, cx, &mut out)?;
                }
            }
        }
        for (key, ac) in old.act_checks.iter() {
            if !st.fold.act_checks.contains_key(key) {
                let slot = em.get(&cat(&["A|", key])).cloned();
                if let Some(slot) = slot {
                    let v = slot_verdict(&slot);
                    if v.map(violating).unwrap_or(false) {
                        let rule = cx.pol.rule(&ac.rule)?;
                        withdraw_act(st, em, cause, key, &slot, rule, cx, &mut out)?;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Concatenation with one allocation of the exact size.
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

pub type Emitted = IndexMap<String, Slot>;

fn slot_verdict(slot: &Slot) -> Option<&str> {
    match slot {
        Slot::A { verdict, .. } => Some(verdict.as_str()),
        Slot::V { verdict, .. } => Some(verdict.as_str()),
        Slot::M(_, v, _) => Some(v.as_str()),
        _ => None,
    }
}

fn last_of(em: &Emitted, oid: &str) -> Option<String> {
    match em.get(&cat(&["L|", oid])) {
        Some(Slot::L(k)) => Some(k.clone()),
        _ => None,
    }
}

fn change_key(c: &Change) -> String {
    cat(&["S|", &c.measure, "|", &c.new, "|", &c.src])
}

fn diff_sanctions(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    changes: &[Change],
    full: bool,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    let cid = &cause.event_id;
    for change in changes {
        let key = change_key(change);
        if !em.contains_key(&key) {
            em.insert(key.clone(), Slot::Cause(Some(cid.clone())));
            em
                .insert(cat(&["SL|", &change.measure]), Slot::Last(key.clone(), Some(cid.clone())));
            out.push(sanction_event(st, cause, change, &key, cx)?);
        }
    }
    if !full {
        return Ok(());
    }
    let last_changes = last_changes(&st.fold);
    for (measure, change) in last_changes.iter() {
        let key = change_key(change);
        let sl = cat(&["SL|", measure]);
        let same = matches!(em.get(&sl), Some(Slot::Last(k, _)) if *k == key);
        if !same {
            em.insert(sl, Slot::Last(key.clone(), Some(cid.clone())));
            out.push(sanction_event(st, cause, change, &key, cx)?);
        }
    }
    Ok(())
}

fn last_changes(fold: &Fold) -> IndexMap<String, Change> {
    let mut m = IndexMap::default();
    for c in &fold.changes {
        m.insert(c.measure.clone(), c.clone());
    }
    m
}

fn bad_met(em: &Emitted, oid: &str, last: Option<&str>) -> PyResult<bool> {
    if last != Some("M") {
        return Ok(false);
    }
    match em.get(&cat(&["M|", oid])) {
        Some(Slot::M(_, v, _)) => Ok(violating(v)),
        Some(_) => Ok(false),
        None => Err(pyo3::exceptions::PyKeyError::new_err(cat(&["M|", oid]))),
    }
}

fn diff_obligation(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    oid: &str,
    ob: &Obligation,
    rule: &Rule,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    let py = cx.py;
    let cid = &cause.event_id;
    let quiet = rule.quiet;
    let verdict = obligation_verdict(py, ob, rule, st.now)?;
    let last_key = cat(&["L|", oid]);
    let mut last = last_of(em, oid);
    let o_key = cat(&["O|", oid]);
    if !quiet && !em.contains_key(&o_key) {
        em.insert(o_key.clone(), Slot::Cause(Some(cid.clone())));
        em.insert(last_key.clone(), Slot::L("O".to_string()));
        last = Some("O".to_string());
        out.push(opened_event(st, cause, oid, ob, rule, cx)?);
    }

    if verdict.is_none() || verdict == Some(OPEN) {
        match last.as_deref() {
            None | Some("O") | Some("W") => return Ok(()),
            _ => {}
        }
        if !quiet {
            em.insert(o_key, Slot::Cause(Some(cid.clone())));
            em.insert(last_key, Slot::L("O".to_string()));
            out.push(opened_event(st, cause, oid, ob, rule, cx)?);
        } else if last.as_deref() == Some("V") || bad_met(em, oid, last.as_deref())? {
            withdraw(st, em, cause, oid, ob, rule, cx, out)?;
        }
        return Ok(());
    }
    let verdict = verdict.unwrap();

    if ob.answer.is_none() {
        if last.as_deref() != Some("V") {
            emit_violation(st, em, cause, oid, ob, rule, verdict, cx, out)?;
        }
        return Ok(());
    }

    let violated = violating(verdict);
    if violated && !em.contains_key(&cat(&["V|", oid])) {
        emit_violation(st, em, cause, oid, ob, rule, verdict, cx, out)?;
        last = Some("V".to_string());
    }
    let met_key = cat(&["M|", oid]);
    if last.as_deref() == Some("M") {
        if let Some(Slot::M(_, v, a)) = em.get(&met_key) {
            if v == verdict && *a == ob.answer {
                return Ok(());
            }
        }
    }
    if violated || !quiet || last.as_deref() == Some("V") || bad_met(em, oid, last.as_deref())? {
        em
            .insert(met_key, Slot::M(Some(cid.clone()), verdict.to_string(), ob.answer.clone()));
        em.insert(last_key, Slot::L("M".to_string()));
        out.push(met_event(st, cause, ob, rule, verdict, cx)?);
    }
    Ok(())
}

fn detection(st: &StateData, ob: &Obligation) -> (&'static str, Option<String>, Option<i64>) {
    if let Some(sv) = &ob.state_violation {
        return ("STATE", Some(sv.0.clone()), Some(sv.1));
    }
    if ob.answer.is_some() {
        return ("ANSWER", ob.answer.clone(), ob.answer_ts);
    }
    ("TICK", None, st.now)
}

#[allow(clippy::too_many_arguments)]
fn emit_violation(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    oid: &str,
    ob: &Obligation,
    rule: &Rule,
    verdict: &str,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    let (detected, response, act_ts) = detection(st, ob);
    let slot = Slot::V {
        cause: Some(cause.event_id.clone()),
        verdict: verdict.to_string(),
        detected: detected.to_string(),
        response,
        act_ts,
        now: st.now,
    };
    em.insert(cat(&["V|", oid]), slot.clone());
    em.insert(cat(&["L|", oid]), Slot::L("V".to_string()));
    out.push(violation_event(st, cause, ob, rule, &slot, cx)?);
    Ok(())
}

fn withdrawal_ts(st: &StateData, ts: i64) -> i64 {
    match st.events.last() {
        Some(e) => ts.max(e.ts),
        None => ts,
    }
}

fn withdraw(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    oid: &str,
    ob: &Obligation,
    rule: &Rule,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    let ts = withdrawal_ts(st, ob.ts);
    let slot = Slot::W(Some(cause.event_id.clone()), ts, cause.src_or_id.clone(), ob.clone());
    em.insert(cat(&["W|", oid]), slot);
    em.insert(cat(&["L|", oid]), Slot::L("W".to_string()));
    out.push(withdrawal_event(st, cause, ob, rule, ts, &cause.src_or_id, cx)?);
    Ok(())
}

fn diff_act(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    key: &str,
    ac: &ActCheck,
    rule: &Rule,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    let a_key = cat(&["A|", key]);
    let previous: Option<String> = em.get(&a_key).map(|s| match s {
        Slot::A { verdict, .. } => verdict.clone(),
        _ => String::new(),
    });
    let verdict = &ac.verdict;
    if previous.as_deref() == Some(verdict.as_str()) {
        return Ok(());
    }
    if verdict == COMPLIANT && rule.quiet && !previous.as_deref().map(violating).unwrap_or(false) {
        return Ok(());
    }
    em.insert(
        a_key,
        Slot::A {
            cause: Some(cause.event_id.clone()),
            verdict: verdict.clone(),
            ts: ac.ts,
            rule: ac.rule.clone(),
            trigger: ac.trigger.clone(),
            response: ac.response.clone(),
            withdrawn: None,
        },
    );
    out.push(act_event(st, cause, ac, rule, cx)?);
    Ok(())
}

fn withdraw_act(
    st: &StateData,
    em: &mut Emitted,
    cause: &Cause,
    key: &str,
    slot: &Slot,
    rule: &Rule,
    cx: &Ctx,
    out: &mut Out,
) -> PyResult<()> {
    if let Slot::A { ts, rule: r, trigger, response, .. } = slot {
        let wts = withdrawal_ts(st, *ts);
        let new = Slot::A {
            cause: Some(cause.event_id.clone()),
            verdict: WITHDRAWN.to_string(),
            ts: *ts,
            rule: r.clone(),
            trigger: trigger.clone(),
            response: response.clone(),
            withdrawn: Some((wts, cause.src_or_id.clone())),
        };
        em.insert(cat(&["A|", key]), new.clone());
        out.push(act_withdrawal_event(st, cause, &new, rule, cx)?);
    }
    Ok(())
}

/// `_redeliver`
pub fn redeliver(st: &mut StateData, cause: &Cause, cx: &Ctx) -> PyResult<Out> {
    let py = cx.py;
    let cid = &cause.event_id;
    let mut out: Out = Vec::new();
    let mut last_changes_memo: Option<IndexMap<String, Change>> = None;
    let slots: Vec<(String, Slot)> = st
        .emitted
        .iter()
        .filter(|(k, s)| !k.starts_with("L|") && matches!(s.cause(), Some(Some(c)) if c == cid))
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    for (key, slot) in slots.iter() {
        let (kind, rest) = match key.find('|') {
            Some(i) => (&key[..i], &key[i + 1..]),
            None => (key.as_str(), ""),
        };
        if kind == "L" {
            continue;
        }
        if kind == "SL" {
            if let Slot::Last(k, _) = slot {
                if last_changes_memo.is_none() {
                    last_changes_memo = Some(last_changes(&st.fold));
                }
                if let Some(change) = last_changes_memo.as_ref().unwrap().get(rest) {
                    if *k == change_key(change) {
                        let change = change.clone();
                        out.push(sanction_event(st, cause, &change, k, cx)?);
                    }
                }
            }
            continue;
        }
        match (kind, slot) {
            ("S", _) => {
                let found = st.fold.changes.iter().find(|c| change_key(c) == *key).cloned();
                if let Some(change) = found {
                    out.push(sanction_event(st, cause, &change, key, cx)?);
                }
            }
            ("A", Slot::A { verdict, rule, .. }) => {
                let bound = cx.pol.rule(rule)?;
                let ac = st.fold.act_checks.get(rest).cloned();
                if verdict == WITHDRAWN {
                    if ac.is_none() {
                        out.push(act_withdrawal_event(st, cause, slot, bound, cx)?);
                    }
                } else if let Some(ac) = ac {
                    if ac.verdict == *verdict {
                        out.push(act_event(st, cause, &ac, bound, cx)?);
                    }
                }
            }
            ("W", Slot::W(_, ts, response, ob)) => {
                if last_of(&st.emitted, rest).as_deref() == Some("W") {
                    let bound = cx.pol.rule(&ob.rule)?;
                    out.push(withdrawal_event(st, cause, ob, bound, *ts, response, cx)?);
                }
            }
            _ => {
                let ob = match st.fold.obligations.get(rest) {
                    Some(ob) => ob.clone(),
                    None => continue,
                };
                let bound = cx.pol.rule(&ob.rule)?;
                let verdict = obligation_verdict(py, &ob, bound, st.now)?;
                if kind == "O" {
                    out.push(opened_event(st, cause, rest, &ob, bound, cx)?);
                } else if kind == "V" && verdict.map(violating).unwrap_or(false) {
                    out.push(violation_event(st, cause, &ob, bound, slot, cx)?);
                } else if kind == "M" {
                    if let (Some(v), Slot::M(_, sv, sa)) = (verdict, slot) {
                        if v == sv && ob.answer == *sa {
                            out.push(met_event(st, cause, &ob, bound, v, cx)?);
                        }
                    }
                }
            }
        }
    }
    // unique by event id, first kept
    let mut seen: rustc_hash::FxHashSet<String> = Default::default();
    let mut unique = Vec::with_capacity(out.len());
    let eid = pyo3::intern!(py, "event_id");
    for ev in out {
        let id: String = ev.bind(py).getattr(eid)?.extract()?;
        if seen.insert(id) {
            unique.push(ev);
        }
    }
    Ok(unique)
}

// --- derived events -----------------------------------------------------------------

pub fn uuid5(name: &str) -> String {
    const NS: [u8; 16] = [
        0x6f, 0x1c, 0x2a, 0x4e, 0x5b, 0x7d, 0x4c, 0x1e, 0x9a, 0x3f, 0x2d, 0x8e, 0x7b, 0x6c, 0x5a, 0x41,
    ];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = sha1_smol::Sha1::new();
    h.update(&NS);
    h.update(name.as_bytes());
    let digest = h.digest().bytes();
    // the hex digest h, then h[:8]-h[8:12]-5h[13:16]-(89ab)[h[16] & 3]h[17:20]-h[20:32]
    let mut hex = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 15) as usize];
    }
    let variant = b"89ab"[(digest[8] >> 4 & 3) as usize];
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(&hex[0..8]);
    out.push(b'-');
    out.extend_from_slice(&hex[8..12]);
    out.push(b'-');
    out.push(b'5');
    out.extend_from_slice(&hex[13..16]);
    out.push(b'-');
    out.push(variant);
    out.extend_from_slice(&hex[17..20]);
    out.push(b'-');
    out.extend_from_slice(&hex[20..32]);
    String::from_utf8(out).unwrap()
}

fn derived(
    st: &StateData,
    cause: &Cause,
    etype: &str,
    key: &str,
    ts: i64,
    payload: Bound<'_, PyDict>,
    cx: &Ctx,
) -> PyResult<PyObject> {
    let py = cx.py;
    let r = rt(py);
    let event_id = uuid5(&cat(&[&cause.event_id, "|", etype, "|", key]));
    crate::new_ledger_event(
        py,
        r,
        &event_id,
        etype,
        &st.listing_id,
        cal::instant(py, ts)?,
        &st.jurisdiction,
        payload.into_any().unbind(),
        cause.correlation.clone_ref(py),
        &cause.event_id,
    )
}

/// A dict with room for `n` items (the payload dicts have fixed sizes).
fn dict_sized(py: Python<'_>, n: isize) -> PyResult<Bound<'_, PyDict>> {
    unsafe {
        let raw = pyo3::ffi::_PyDict_NewPresized(n);
        if raw.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, raw).downcast_into_unchecked())
    }
}

fn s(py: Python<'_>, v: &str) -> PyObject {
    PyString::new(py, v).into_any().unbind()
}

fn os(py: Python<'_>, v: &Option<String>) -> PyObject {
    match v {
        Some(x) => s(py, x),
        None => py.None(),
    }
}

struct ObView<'a> {
    oid: Option<String>,
    trigger: &'a str,
    ts: i64,
    measure: &'a Option<String>,
    resp_code: Option<String>,
    source: &'a str,
    due: &'a Option<String>,
    prov: bool,
    cal: &'a Option<String>,
}

fn view(ob: &Obligation) -> ObView<'_> {
    ObView {
        oid: None,
        trigger: &ob.trigger,
        ts: ob.ts,
        measure: &ob.measure,
        resp_code: ob.resp_code.clone(),
        source: &ob.source,
        due: &ob.due,
        prov: ob.prov,
        cal: &ob.cal,
    }
}

/// `_obligation`: the Obligation payload; returns it with its obligation id.
fn obligation<'py>(st: &StateData, ob: &ObView, rule: &Rule, cx: &Ctx<'_, 'py>) -> PyResult<(Bound<'py, PyDict>, String)> {
    let py = cx.py;
    let due = match ob.due {
        Some(d) if !d.is_empty() => Some(cal::iso_date_str(py, d)?),
        _ => None,
    };
    let is_deadline = rule.limit.is_some() && rule.is_deadline;
    let oid = match &ob.oid {
        Some(o) if !o.is_empty() => o.clone(),
        _ => {
            let mut o = cat(&[&st.listing_id, "|", &rule.id, "|", ob.trigger]);
            if let Some(m) = ob.measure {
                if !m.is_empty() {
                    o.push('|');
                    o.push_str(m);
                }
            }
            o
        }
    };
    let d = dict_sized(py, 17)?;
    d.set_item(pyo3::intern!(py, "obligation_id"), &oid)?;
    d.set_item(pyo3::intern!(py, "rule_id"), rule.py.id.bind(py))?;
    d.set_item(pyo3::intern!(py, "rule_source"), rule.source_obj(py, ob.source))?;
    d.set_item(pyo3::intern!(py, "policy_version"), rule.py.policy_version.bind(py))?;
    d.set_item(pyo3::intern!(py, "obligor"), rule.py.obligor.bind(py))?;
    d.set_item(pyo3::intern!(py, "responsible_kind"), rule.py.responsible.bind(py))?;
    d.set_item(pyo3::intern!(py, "responsible_code"), os(py, &ob.resp_code))?;
    d.set_item(pyo3::intern!(py, "trigger_event"), ob.trigger)?;
    d.set_item(pyo3::intern!(py, "triggered_at"), cal::instant(py, ob.ts)?)?;
    match (&rule.limit, is_deadline) {
        (Some((v, _, _)), true) => {
            d.set_item(pyo3::intern!(py, "limit_value"), *v)?;
            d.set_item(pyo3::intern!(py, "limit_unit"), rule.py.limit_unit.as_ref().map(|u| u.bind(py)))?;
        }
        _ => {
            d.set_item(pyo3::intern!(py, "limit_value"), py.None())?;
            d.set_item(pyo3::intern!(py, "limit_unit"), py.None())?;
        }
    }
    match due {
        Some(day) => {
            d.set_item(pyo3::intern!(py, "due_date"), cal::date_obj(py, day)?)?;
            d.set_item(pyo3::intern!(py, "due_at"), cal::instant(py, end_of_day(py, day)?)?)?;
        }
        None => {
            d.set_item(pyo3::intern!(py, "due_date"), py.None())?;
            d.set_item(pyo3::intern!(py, "due_at"), py.None())?;
        }
    }
    d.set_item(pyo3::intern!(py, "provisional"), ob.prov)?;
    match ob.cal {
        Some(c) if *c == cx.cal.version => {
            d.set_item(pyo3::intern!(py, "calendar_version"), cx.cal.py_version.bind(py))?
        }
        _ => d.set_item(pyo3::intern!(py, "calendar_version"), os(py, ob.cal))?,
    }
    d.set_item(pyo3::intern!(py, "why"), rule.py.why.bind(py))?;
    Ok((d, oid))
}

fn met<'py>(
    py: Python<'py>,
    obligation: Bound<'py, PyDict>,
    response: &str,
    answered_ts: i64,
    verdict: &str,
    elapsed: (Option<i64>, Option<i64>),
) -> PyResult<Bound<'py, PyDict>> {
    let d = dict_sized(py, 7)?;
    d.set_item(pyo3::intern!(py, "obligation"), obligation)?;
    d.set_item(pyo3::intern!(py, "response_event"), response)?;
    d.set_item(pyo3::intern!(py, "answered_at"), cal::instant(py, answered_ts)?)?;
    d.set_item(pyo3::intern!(py, "verdict"), verdict)?;
    d.set_item(pyo3::intern!(py, "late"), violating(verdict))?;
    d.set_item(pyo3::intern!(py, "elapsed_calendar_days"), elapsed.0)?;
    d.set_item(pyo3::intern!(py, "elapsed_working_days"), elapsed.1)?;
    Ok(d)
}

fn violated<'py>(
    py: Python<'py>,
    obligation: Bound<'py, PyDict>,
    verdict: &str,
    detected: &str,
    response: &Option<String>,
    actual: Option<Day>,
    reason: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let d = dict_sized(py, 6)?;
    d.set_item(pyo3::intern!(py, "obligation"), obligation)?;
    d.set_item(pyo3::intern!(py, "verdict"), verdict)?;
    d.set_item(pyo3::intern!(py, "detected_by"), detected)?;
    d.set_item(pyo3::intern!(py, "response_event"), os(py, response))?;
    match actual {
        Some(day) => d.set_item(pyo3::intern!(py, "actual_date"), cal::date_obj(py, day)?)?,
        None => d.set_item(pyo3::intern!(py, "actual_date"), py.None())?,
    }
    d.set_item(pyo3::intern!(py, "reason"), reason)?;
    Ok(d)
}

fn opened_event(st: &StateData, cause: &Cause, oid: &str, ob: &Obligation, rule: &Rule, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let (obligation, _) = obligation(st, &view(ob), rule, cx)?;
    let payload = PyDict::new(py);
    payload.set_item(pyo3::intern!(py, "obligation"), obligation)?;
    derived(st, cause, DEADLINE_OPENED, oid, ob.ts, payload, cx)
}

fn violation_event(st: &StateData, cause: &Cause, ob: &Obligation, rule: &Rule, slot: &Slot, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let (verdict, detected, response, act_ts, now) = match slot {
        Slot::V { verdict, detected, response, act_ts, now, .. } => (verdict, detected, response, *act_ts, *now),
        _ => return Err(pyo3::exceptions::PyValueError::new_err("not a violation slot")),
    };
    let due = or_none(&ob.due);
    let reason = if detected == "STATE" {
        format!("{}: forbidden act {} while the obligation was open", rule.id, or_none(response))
    } else if detected == "ANSWER" {
        let answered_on = match act_ts {
            Some(t) => iso(local_date(py, t)?),
            None => return Err(pyo3::exceptions::PyTypeError::new_err("act instant is None")),
        };
        format!("{}: due {}, answered by {} on {}", rule.id, due, or_none(response), answered_on)
    } else {
        format!("{}: due {}, no answer by the clock tick", rule.id, due)
    };
    let ts = act_ts.unwrap_or(ob.ts);
    let who = format!("{} {}", rule.responsible, ob.resp_code.as_deref().unwrap_or(""));
    let (obligation, oid) = obligation(st, &view(ob), rule, cx)?;
    let actual = if response.is_some() {
        Some(local_date(py, ts)?)
    } else {
        match now {
            Some(n) if n != 0 => Some(local_date(py, n)?),
            _ => None,
        }
    };
    let full = format!("{reason}; responsible {who}");
    let payload = violated(py, obligation, verdict, detected, response, actual, full.trim_end_matches(py_space))?;
    derived(st, cause, DEADLINE_VIOLATED, &oid, ts, payload, cx)
}

fn met_event(st: &StateData, cause: &Cause, ob: &Obligation, rule: &Rule, verdict: &str, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let answer_ts = ob
        .answer_ts
        .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("answer_ts is None"))?;
    let start = local_date(py, ob.ts)?;
    let end = local_date(py, answer_ts)?;
    let elapsed = (Some(end - start), Some(cx.cal.working_days_between(start, end, &st.jurisdiction)));
    let (obligation, oid) = obligation(st, &view(ob), rule, cx)?;
    let answer = or_none(&ob.answer);
    let payload = met(py, obligation, answer, answer_ts, verdict, elapsed)?;
    if ob.answer.is_none() {
        payload.set_item(pyo3::intern!(py, "response_event"), py.None())?;
    }
    let key = cat(&[&oid, "|", verdict, "|", answer]);
    derived(st, cause, DEADLINE_MET, &key, answer_ts, payload, cx)
}

#[allow(clippy::too_many_arguments)]
fn withdrawal_event(
    st: &StateData,
    cause: &Cause,
    ob: &Obligation,
    rule: &Rule,
    ts: i64,
    response: &str,
    cx: &Ctx,
) -> PyResult<PyObject> {
    let py = cx.py;
    let (obligation, oid) = obligation(st, &view(ob), rule, cx)?;
    let payload = met(py, obligation, response, ts, WITHDRAWN_VERDICT, (None, None))?;
    let key = cat(&[&oid, "|", WITHDRAWN]);
    derived(st, cause, DEADLINE_MET, &key, ts, payload, cx)
}

fn act_obligation<'py>(
    st: &StateData,
    rule: &Rule,
    trigger: &str,
    response: &Option<String>,
    ts: i64,
    cx: &Ctx<'_, 'py>,
) -> PyResult<(Bound<'py, PyDict>, String)> {
    let mut oid = cat(&[&st.listing_id, "|", &rule.id, "|", trigger]);
    if let Some(r) = response {
        if !r.is_empty() {
            oid.push('|');
            oid.push_str(r);
        }
    }
    let act = match response {
        Some(r) if !r.is_empty() => r.as_str(),
        _ => trigger,
    };
    let none = None;
    let ob = ObView {
        oid: Some(oid),
        trigger,
        ts,
        measure: &none,
        resp_code: act_responsible(st, rule, act),
        source: &rule.source,
        due: &none,
        prov: false,
        cal: &none,
    };
    obligation(st, &ob, rule, cx)
}

fn act_event(st: &StateData, cause: &Cause, ac: &ActCheck, rule: &Rule, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let (obligation, oid) = act_obligation(st, rule, &ac.trigger, &ac.response, ac.ts, cx)?;
    let key = cat(&[&oid, "|", or_none(&ac.response), "|", &ac.verdict]);
    if ac.verdict == COMPLIANT {
        let response = match &ac.response {
            Some(r) if !r.is_empty() => r.as_str(),
            _ => ac.trigger.as_str(),
        };
        let m = met(py, obligation, response, ac.ts, COMPLIANT, (None, None))?;
        return derived(st, cause, DEADLINE_MET, &key, ac.ts, m, cx);
    }
    let v = violated(
        py,
        obligation,
        &ac.verdict,
        "STATE",
        &ac.response,
        Some(local_date(py, ac.ts)?),
        &format!("{}: {}", rule.id, ac.reason),
    )?;
    derived(st, cause, DEADLINE_VIOLATED, &key, ac.ts, v, cx)
}

fn act_responsible(st: &StateData, rule: &Rule, act: &str) -> Option<String> {
    let responsible = &rule.responsible;
    for e in st.events.iter().rev() {
        if e.src == act {
            if e.actor_kind == *responsible && truthy_s(&e.actor_code) {
                return e.actor_code.clone();
            }
            break;
        }
    }
    if responsible == "COURT" {
        return st.fold.court.clone();
    }
    None
}

fn act_withdrawal_event(st: &StateData, cause: &Cause, slot: &Slot, rule: &Rule, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let (ts, trigger, response, wts, by) = match slot {
        Slot::A { ts, trigger, response, withdrawn: Some((wts, by)), .. } => (*ts, trigger, response, *wts, by),
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "not enough values to unpack (expected 8, got 6)",
            ))
        }
    };
    let (obligation, oid) = act_obligation(st, rule, trigger, response, ts, cx)?;
    let m = met(py, obligation, by, wts, WITHDRAWN_VERDICT, (None, None))?;
    let key = cat(&[&oid, "|", WITHDRAWN]);
    derived(st, cause, DEADLINE_MET, &key, wts, m, cx)
}

fn sanction_event(st: &StateData, cause: &Cause, change: &Change, key: &str, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let d = dict_sized(py, 9)?;
    let agency = match &change.agency {
        Some(a) if !a.is_empty() => a.clone(),
        _ => change.measure.split('.').next().unwrap_or("").to_string(),
    };
    d.set_item(pyo3::intern!(py, "agency"), agency)?;
    d.set_item(pyo3::intern!(py, "measure_code"), &change.measure)?;
    d.set_item(pyo3::intern!(py, "state"), &change.new)?;
    d.set_item(pyo3::intern!(py, "previous_state"), os(py, &change.previous))?;
    d.set_item(pyo3::intern!(py, "since"), cal::instant(py, change.ts)?)?;
    d.set_item(pyo3::intern!(py, "reason"), change.reason.to_py(py)?)?;
    d.set_item(pyo3::intern!(py, "legal_basis"), change.basis.to_py(py)?)?;
    if change.until.truthy(py)? {
        let day = match &change.until {
            Val::Str(s) => cal::iso_date_str(py, s)?,
            other => {
                // `_iso_date` is cached: an unhashable value fails on the hash
                let obj = other.to_py(py)?;
                obj.bind(py).hash()?;
                cal::iso_date_obj(py, obj.bind(py))?
            }
        };
        d.set_item(pyo3::intern!(py, "retained_until"), cal::date_obj(py, day)?)?;
    } else {
        d.set_item(pyo3::intern!(py, "retained_until"), py.None())?;
    }
    d.set_item(pyo3::intern!(py, "trigger_event"), &change.src)?;
    derived(st, cause, SANCTION_STATE_CHANGED, key, change.ts, d, cx)
}

// --- check rows -------------------------------------------------------------------

pub fn checks(st: &StateData, include_open: bool, cx: &Ctx) -> PyResult<Vec<PyObject>> {
    let py = cx.py;
    let mut rows: Vec<(i64, String, PyObject)> = Vec::new();
    for ob in st.fold.obligations.values() {
        let rule = cx.pol.rule(&ob.rule)?;
        let verdict = match obligation_verdict(py, ob, rule, st.now)? {
            Some(v) => v,
            None => continue,
        };
        if verdict == OPEN && !include_open {
            continue;
        }
        if rule.quiet && !(verdict == VIOLATION || verdict == OUT_OF_TIME || verdict == OVERDUE) && !(include_open && verdict == OPEN) {
            continue;
        }
        rows.push((ob.ts, ob.rule.clone(), check_row(st, ob, rule, verdict, cx)?));
    }
    for ac in st.fold.act_checks.values() {
        let rule = cx.pol.rule(&ac.rule)?;
        if rule.quiet && ac.verdict == COMPLIANT {
            continue;
        }
        rows.push((ac.ts, ac.rule.clone(), act_row(st, ac, rule, cx)?));
    }
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(rows.into_iter().map(|r| r.2).collect())
}

fn check_row(st: &StateData, ob: &Obligation, rule: &Rule, verdict: &str, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let (mut elapsed_cal, mut elapsed_wd) = (py.None(), py.None());
    if let Some(ats) = ob.answer_ts {
        let start = local_date(py, ob.ts)?;
        let end = local_date(py, ats)?;
        elapsed_cal = (end - start).into_pyobject(py)?.into_any().unbind();
        elapsed_wd = cx
            .cal
            .working_days_between(start, end, &st.jurisdiction)
            .into_pyobject(py)?
            .into_any()
            .unbind();
    }
    let response = if truthy_s(&ob.answer) {
        os(py, &ob.answer)
    } else {
        match &ob.state_violation {
            Some(sv) => s(py, &sv.0),
            None => py.None(),
        }
    };
    let deadline = match &ob.due {
        Some(d) if !d.is_empty() => cal::date_obj(py, cal::iso_date_str(py, d)?)?,
        _ => py.None(),
    };
    let kw = PyDict::new(py);
    kw.set_item(pyo3::intern!(py, "listing_id"), &st.listing_id)?;
    kw.set_item(pyo3::intern!(py, "rule_id"), &rule.id)?;
    kw.set_item(pyo3::intern!(py, "source"), &ob.source)?;
    kw.set_item(pyo3::intern!(py, "trigger_event"), &ob.trigger)?;
    kw.set_item(pyo3::intern!(py, "response_event"), response)?;
    kw.set_item(pyo3::intern!(py, "verdict"), verdict)?;
    kw.set_item(pyo3::intern!(py, "deadline"), deadline)?;
    match &rule.limit {
        Some((v, _, u)) => {
            kw.set_item(pyo3::intern!(py, "limit_value"), *v)?;
            kw.set_item(pyo3::intern!(py, "limit_unit"), u)?;
        }
        None => {
            kw.set_item(pyo3::intern!(py, "limit_value"), py.None())?;
            kw.set_item(pyo3::intern!(py, "limit_unit"), py.None())?;
        }
    }
    kw.set_item(pyo3::intern!(py, "obligor"), &rule.obligor)?;
    kw.set_item(pyo3::intern!(py, "responsible_kind"), &rule.responsible)?;
    kw.set_item(pyo3::intern!(py, "responsible_code"), os(py, &ob.resp_code))?;
    kw.set_item(pyo3::intern!(py, "why"), &rule.why)?;
    kw.set_item(pyo3::intern!(py, "provisional"), ob.prov)?;
    kw.set_item(pyo3::intern!(py, "calendar_version"), os(py, &ob.cal))?;
    kw.set_item(pyo3::intern!(py, "elapsed_calendar_days"), elapsed_cal)?;
    kw.set_item(pyo3::intern!(py, "elapsed_working_days"), elapsed_wd)?;
    Ok(rt(py).check_cls.bind(py).call((), Some(&kw))?.unbind())
}

fn act_row(st: &StateData, ac: &ActCheck, rule: &Rule, cx: &Ctx) -> PyResult<PyObject> {
    let py = cx.py;
    let kw = PyDict::new(py);
    kw.set_item(pyo3::intern!(py, "listing_id"), &st.listing_id)?;
    kw.set_item(pyo3::intern!(py, "rule_id"), &rule.id)?;
    kw.set_item(pyo3::intern!(py, "source"), &rule.source)?;
    kw.set_item(pyo3::intern!(py, "trigger_event"), &ac.trigger)?;
    kw.set_item(pyo3::intern!(py, "response_event"), os(py, &ac.response))?;
    kw.set_item(pyo3::intern!(py, "verdict"), &ac.verdict)?;
    kw.set_item(pyo3::intern!(py, "deadline"), py.None())?;
    kw.set_item(pyo3::intern!(py, "limit_value"), py.None())?;
    kw.set_item(pyo3::intern!(py, "limit_unit"), py.None())?;
    kw.set_item(pyo3::intern!(py, "obligor"), &rule.obligor)?;
    kw.set_item(pyo3::intern!(py, "responsible_kind"), &rule.responsible)?;
    let rc = if rule.responsible == "COURT" { os(py, &st.fold.court) } else { py.None() };
    kw.set_item(pyo3::intern!(py, "responsible_code"), rc)?;
    kw.set_item(pyo3::intern!(py, "why"), format!("{} ({})", rule.why, ac.reason))?;
    kw.set_item(pyo3::intern!(py, "provisional"), false)?;
    kw.set_item(pyo3::intern!(py, "calendar_version"), py.None())?;
    kw.set_item(pyo3::intern!(py, "elapsed_calendar_days"), py.None())?;
    kw.set_item(pyo3::intern!(py, "elapsed_working_days"), py.None())?;
    Ok(rt(py).check_cls.bind(py).call((), Some(&kw))?.unbind())
}

/// `next_due`: epoch seconds, or None.
pub fn next_due(py: Python<'_>, st: &StateData) -> PyResult<Option<i64>> {
    let now = st.now;
    let mut earliest: Option<i64> = None;
    if let Some((end, _, _)) = term_expiry(py, &st.events, &st.fold)? {
        if now.is_none() || now.unwrap() < end {
            earliest = Some(end);
        }
    }
    for ob in st.fold.obligations.values() {
        if ob.answer.is_some() || ob.due.is_none() {
            continue;
        }
        if ob.state_violation.is_some() {
            continue;
        }
        let due_at = end_of_day(py, cal::iso_date_str(py, ob.due.as_ref().unwrap())?)?;
        if let Some(n) = now {
            if n >= due_at {
                continue;
            }
        }
        if earliest.is_none() || due_at < earliest.unwrap() {
            earliest = Some(due_at);
        }
    }
    Ok(earliest)
}

fn is_kept(k: &str) -> bool {
    matches!(
        k,
        "outcome"
            | "document"
            | "form"
            | "result"
            | "found"
            | "round"
            | "measure_code"
            | "refers_to"
            | "to_agency"
            | "to_court"
            | "republisher"
            | "legal_basis"
            | "retention_until"
            | "risk_warning_included"
            | "publishable"
            | "not_for_publication"
            | "debtor"
            | "birth_date"
            | "id_number"
            | "entity_type"
            | "reason"
    )
}

pub fn kept(py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<Payload> {
    let mut out: Payload = IndexMap::default();
    if !payload.is_truthy()? {
        return Ok(out);
    }
    let mut term: Option<Bound<'_, PyAny>> = None;
    let handle = |k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>, out: &mut Payload| -> PyResult<()> {
        if let Ok(ks) = k.downcast::<PyString>() {
            let ks = ks.to_cow()?;
            if is_kept(ks.as_ref()) {
                out.insert(ks.into_owned(), val::plain(py, v)?);
            }
        }
        Ok(())
    };
    if let Ok(d) = payload.downcast::<PyDict>() {
        for (k, v) in d.iter() {
            handle(&k, &v, &mut out)?;
        }
        term = d.get_item(pyo3::intern!(py, "listing_term"))?;
    } else {
        for item in payload.call_method0("items")?.try_iter()? {
            let item = item?;
            let k = item.get_item(0)?;
            let v = item.get_item(1)?;
            handle(&k, &v, &mut out)?;
        }
        let t = payload.call_method1("get", (pyo3::intern!(py, "listing_term"),))?;
        if !t.is_none() {
            term = Some(t);
        }
    }
    if let Some(term) = term {
        if let Ok(t) = term.downcast::<PyDict>() {
            let years = t.get_item(pyo3::intern!(py, "years"))?;
            out.insert(
                "term_years".to_string(),
                match years {
                    Some(y) => val::raw(&y)?,
                    None => Val::None,
                },
            );
            if let Some(exp) = t.get_item(pyo3::intern!(py, "expires"))? {
                if !exp.is_none() {
                    out.insert("term_expires".to_string(), val::plain(py, &exp)?);
                }
            }
        }
    }
    let _ = PyList::empty(py);
    Ok(out)
}
