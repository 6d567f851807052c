//! `rules.policy.Policy` as plain data (validated in Python, handed over once).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::cal::{day_of, Day, CALENDAR_DAYS, MONTHS, WORKING_DAYS};
use crate::val::{self, eq, none_or_empty, Payload, Val};

pub enum Expected {
    One(Val),
    Any(Vec<Val>),
}

pub struct Match {
    pub where_: Vec<(String, Expected)>,
    pub present: Vec<String>,
    pub absent: Vec<String>,
    pub guard: Option<String>,
    pub source: Option<String>,
    pub same_measure: bool,
    pub refers_to_trigger: bool,
}

impl Match {
    /// `Match.accepts`
    pub fn accepts(&self, py: Python<'_>, payload: &Payload) -> PyResult<bool> {
        for (key, expected) in &self.where_ {
            let value = val::get(payload, key);
            match expected {
                Expected::Any(list) => {
                    let mut found = false;
                    for x in list {
                        if eq(py, value, x)? {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        return Ok(false);
                    }
                }
                Expected::One(x) => {
                    if !eq(py, value, x)? {
                        return Ok(false);
                    }
                }
            }
        }
        for key in &self.present {
            if none_or_empty(py, val::get(payload, key))? {
                return Ok(false);
            }
        }
        for key in &self.absent {
            if !none_or_empty(py, val::get(payload, key))? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Python strings of a rule's constant payload fields (made once).
pub struct PyStrings {
    pub id: Py<PyString>,
    pub policy_version: Py<PyString>,
    pub obligor: Py<PyString>,
    pub responsible: Py<PyString>,
    pub why: Py<PyString>,
    pub source: Py<PyString>,
    /// the sources the rule's matches name instead (`Match.source`)
    pub match_sources: Vec<(String, Py<PyString>)>,
    pub limit_unit: Option<Py<PyString>>,
}

pub struct Rule {
    pub py: PyStrings,
    pub id: String,
    pub source: String,
    pub is_deadline: bool,
    pub limit: Option<(i64, u8, String)>,
    pub no_period: bool,
    pub answer_required: bool,
    pub predicate: Option<String>,
    pub response_none: bool,
    pub quiet: bool, // report == VIOLATIONS
    pub per_measure: bool,
    pub forbidden_acts: Vec<String>,
    pub except_jurisdictions: Vec<String>,
    pub obligor: String,
    pub responsible: String,
    pub responsible_field: Option<String>,
    pub why: String,
    pub policy_version: String,
    pub jurisdiction: String,
    pub effective_from: Day,
    pub effective_to: Option<Day>,
    pub opens: Vec<Match>,
    pub met_by: Vec<Match>,
    pub acts: Vec<Match>,
}

impl Rule {
    /// `BoundRule.in_force`
    pub fn in_force(&self, jurisdiction: &str, on: Day) -> bool {
        if on < self.effective_from {
            return false;
        }
        if let Some(to) = self.effective_to {
            if on > to {
                return false;
            }
        }
        if self.except_jurisdictions.iter().any(|j| j == jurisdiction) {
            return false;
        }
        self.jurisdiction == "CN" || jurisdiction == self.jurisdiction
    }
}

type Index = HashMap<String, Vec<(usize, usize)>>;

#[pyclass(frozen, module = "rules._native")]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub by_id: HashMap<String, usize>,
    pub by_open: Index,
    pub by_answer: Index,
    pub by_act: Index,
    pub forbidden_acts: HashSet<String>,
}

pub static EMPTY: Vec<(usize, usize)> = Vec::new();

fn strings(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let mut out = Vec::new();
    for x in obj.try_iter()? {
        out.push(x?.extract::<String>()?);
    }
    Ok(out)
}

fn get<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(key)?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_string()))
}

fn matches(list: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Match)>> {
    let mut out = Vec::new();
    for m in list.try_iter()? {
        let m = m?;
        let m = m.downcast::<PyDict>()?;
        let mut where_ = Vec::new();
        for (k, v) in get(m, "where")?.downcast::<PyDict>()?.iter() {
            let expected = if let Ok(l) = v.downcast::<PyList>() {
                Expected::Any(l.iter().map(|x| val::from_json(&x)).collect::<PyResult<_>>()?)
            } else {
                Expected::One(val::from_json(&v)?)
            };
            where_.push((k.extract::<String>()?, expected));
        }
        out.push((
            get(m, "event")?.extract::<String>()?,
            Match {
                where_,
                present: strings(&get(m, "present")?)?,
                absent: strings(&get(m, "absent")?)?,
                guard: get(m, "guard")?.extract()?,
                source: get(m, "source")?.extract()?,
                same_measure: get(m, "same_measure")?.extract()?,
                refers_to_trigger: get(m, "refers_to_trigger")?.extract()?,
            },
        ));
    }
    Ok(out)
}

#[pymethods]
impl Policy {
    /// `rules`: the bound rules in policy order, each a dict (see rules/_bridge.py).
    #[new]
    fn new(rules: &Bound<'_, PyList>) -> PyResult<Self> {
        let mut policy = Policy {
            rules: Vec::new(),
            by_id: HashMap::default(),
            by_open: HashMap::default(),
            by_answer: HashMap::default(),
            by_act: HashMap::default(),
            forbidden_acts: HashSet::default(),
        };
        for (ri, d) in rules.iter().enumerate() {
            let d = d.downcast::<PyDict>()?;
            let limit = get(d, "limit")?;
            let limit = if limit.is_none() {
                None
            } else {
                let value: i64 = limit.get_item(0)?.extract()?;
                let unit: String = limit.get_item(1)?.extract()?;
                let code = match unit.as_str() {
                    "CALENDAR_DAYS" => CALENDAR_DAYS,
                    "WORKING_DAYS" => WORKING_DAYS,
                    "MONTHS" => MONTHS,
                    _ => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!(
                            "period unit {unit:?} is unknown"
                        )))
                    }
                };
                Some((value, code, unit))
            };
            let to = get(d, "effective_to")?;
            let opens = matches(&get(d, "opens")?)?;
            let met_by = matches(&get(d, "met_by")?)?;
            let acts = matches(&get(d, "acts")?)?;
            let id: String = get(d, "id")?.extract()?;
            for (mi, (ev, _)) in opens.iter().enumerate() {
                policy.by_open.entry(ev.clone()).or_default().push((ri, mi));
            }
            for (mi, (ev, _)) in met_by.iter().enumerate() {
                policy.by_answer.entry(ev.clone()).or_default().push((ri, mi));
            }
            for (mi, (ev, _)) in acts.iter().enumerate() {
                policy.by_act.entry(ev.clone()).or_default().push((ri, mi));
            }
            let forbidden = strings(&get(d, "forbidden_acts")?)?;
            for a in &forbidden {
                policy.forbidden_acts.insert(a.clone());
            }
            if policy.by_id.contains_key(&id) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "rule id {id:?} is defined twice"
                )));
            }
            policy.by_id.insert(id.clone(), ri);
            let pys = |k: &str| -> PyResult<Py<PyString>> {
                Ok(PyString::new(d.py(), &get(d, k)?.extract::<String>()?).unbind())
            };
            let py_strings = PyStrings {
                id: pys("id")?,
                policy_version: pys("policy_version")?,
                obligor: pys("obligor")?,
                responsible: pys("responsible")?,
                why: pys("why")?,
                source: pys("source")?,
                match_sources: opens
                    .iter()
                    .chain(met_by.iter())
                    .chain(acts.iter())
                    .filter_map(|(_, m)| m.source.clone())
                    .map(|src| {
                        let obj = PyString::new(d.py(), &src).unbind();
                        (src, obj)
                    })
                    .collect(),
                limit_unit: limit.as_ref().map(|l| PyString::new(d.py(), &l.2).unbind()),
            };
            policy.rules.push(Rule {
                py: py_strings,
                id,
                source: get(d, "source")?.extract()?,
                is_deadline: get(d, "kind")?.extract::<String>()? == "DEADLINE",
                limit,
                no_period: get(d, "no_period")?.extract()?,
                answer_required: get(d, "answer_required")?.extract()?,
                predicate: get(d, "predicate")?.extract()?,
                response_none: get(d, "response")?.extract::<String>()? == "NONE",
                quiet: get(d, "report")?.extract::<String>()? == "VIOLATIONS",
                per_measure: get(d, "per_measure")?.extract()?,
                forbidden_acts: forbidden,
                except_jurisdictions: strings(&get(d, "except_jurisdictions")?)?,
                obligor: get(d, "obligor")?.extract()?,
                responsible: get(d, "responsible")?.extract()?,
                responsible_field: get(d, "responsible_field")?.extract()?,
                why: get(d, "why")?.extract()?,
                policy_version: get(d, "policy_version")?.extract()?,
                jurisdiction: get(d, "jurisdiction")?.extract()?,
                effective_from: day_of(&get(d, "effective_from")?)?,
                effective_to: if to.is_none() { None } else { Some(day_of(&to)?) },
                opens: opens.into_iter().map(|(_, m)| m).collect(),
                met_by: met_by.into_iter().map(|(_, m)| m).collect(),
                acts: acts.into_iter().map(|(_, m)| m).collect(),
            });
        }
        Ok(policy)
    }
}

impl Rule {
    /// The Python str of an obligation's `source` (one of the rule's own).
    pub fn source_obj<'py>(&self, py: Python<'py>, source: &str) -> Bound<'py, PyAny> {
        if source == self.id_source() {
            return self.py.source.bind(py).clone().into_any();
        }
        for (s, obj) in &self.py.match_sources {
            if s == source {
                return obj.bind(py).clone().into_any();
            }
        }
        PyString::new(py, source).into_any()
    }

    fn id_source(&self) -> &str {
        &self.source
    }
}

impl Policy {
    pub fn rule(&self, id: &str) -> PyResult<&Rule> {
        match self.by_id.get(id) {
            Some(i) => Ok(&self.rules[*i]),
            None => Err(pyo3::exceptions::PyKeyError::new_err(id.to_string())),
        }
    }
    pub fn open_for(&self, etype: &str) -> &Vec<(usize, usize)> {
        self.by_open.get(etype).unwrap_or(&EMPTY)
    }
    pub fn answer_for(&self, etype: &str) -> &Vec<(usize, usize)> {
        self.by_answer.get(etype).unwrap_or(&EMPTY)
    }
    pub fn act_for(&self, etype: &str) -> &Vec<(usize, usize)> {
        self.by_act.get(etype).unwrap_or(&EMPTY)
    }
}
