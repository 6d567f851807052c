//! JSON-plain payload values with Python semantics (equality, truthiness, str()).

use indexmap::IndexMap as BaseIndexMap;

/// Insertion-ordered map (Python dict order) with a fast hash.
pub type Map<K, V> = BaseIndexMap<K, V, std::hash::BuildHasherDefault<rustc_hash::FxHasher>>;
type IndexMap<K, V> = Map<K, V>;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::rt;

/// A payload value. `Py` keeps any object that is not JSON-plain as the Python
/// engine would (it keeps the object itself).
pub enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Val>),
    Dict(IndexMap<String, Val>),
    Py(PyObject),
}

impl Clone for Val {
    fn clone(&self) -> Self {
        match self {
            Val::None => Val::None,
            Val::Bool(b) => Val::Bool(*b),
            Val::Int(i) => Val::Int(*i),
            Val::Float(f) => Val::Float(*f),
            Val::Str(s) => Val::Str(s.clone()),
            Val::List(v) => Val::List(v.clone()),
            Val::Dict(d) => Val::Dict(d.clone()),
            Val::Py(o) => Python::with_gil(|py| Val::Py(o.clone_ref(py))),
        }
    }
}

pub static NONE: Val = Val::None;

pub type Payload = IndexMap<String, Val>;

pub fn get<'a>(p: &'a Payload, key: &str) -> &'a Val {
    p.get(key).unwrap_or(&NONE)
}

impl Val {
    pub fn is_none(&self) -> bool {
        matches!(self, Val::None)
    }

    /// Python truthiness.
    pub fn truthy(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(match self {
            Val::None => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::List(v) => !v.is_empty(),
            Val::Dict(d) => !d.is_empty(),
            Val::Py(o) => o.bind(py).is_truthy()?,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// `x is False`
    pub fn is_false(&self) -> bool {
        matches!(self, Val::Bool(false))
    }

    pub fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(match self {
            Val::None => py.None(),
            Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
            Val::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
            Val::Float(f) => PyFloat::new(py, *f).into_any().unbind(),
            Val::Str(s) => PyString::new(py, s).into_any().unbind(),
            Val::List(v) => {
                let items = v.iter().map(|x| x.to_py(py)).collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any().unbind()
            }
            Val::Dict(d) => {
                let out = PyDict::new(py);
                for (k, v) in d {
                    out.set_item(k, v.to_py(py)?)?;
                }
                out.into_any().unbind()
            }
            Val::Py(o) => o.clone_ref(py),
        })
    }

    /// Python `str(value)`.
    pub fn py_str(&self, py: Python<'_>) -> PyResult<String> {
        match self {
            Val::Str(s) => Ok(s.clone()),
            Val::None => Ok("None".to_string()),
            Val::Bool(true) => Ok("True".to_string()),
            Val::Bool(false) => Ok("False".to_string()),
            Val::Int(i) => Ok(i.to_string()),
            _ => Ok(self.to_py(py)?.bind(py).str()?.to_cow()?.into_owned()),
        }
    }
}

/// Python `a == b`.
pub fn eq(py: Python<'_>, a: &Val, b: &Val) -> PyResult<bool> {
    use Val::*;
    Ok(match (a, b) {
        (Py(_), _) | (_, Py(_)) => {
            let x = a.to_py(py)?;
            let y = b.to_py(py)?;
            x.bind(py).eq(y.bind(py))?
        }
        (None, None) => true,
        (None, _) | (_, None) => false,
        (Str(x), Str(y)) => x == y,
        (Str(_), _) | (_, Str(_)) => false,
        (List(x), List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (i, j) in x.iter().zip(y.iter()) {
                if !eq(py, i, j)? {
                    return Ok(false);
                }
            }
            true
        }
        (List(_), _) | (_, List(_)) => false,
        (Dict(x), Dict(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if !eq(py, v, w)? {
                            return Ok(false);
                        }
                    }
                    Option::None => return Ok(false),
                }
            }
            true
        }
        (Dict(_), _) | (_, Dict(_)) => false,
        (Float(x), Float(y)) => x == y,
        (Float(x), Int(y)) | (Int(y), Float(x)) => *x == *y as f64 && (*y as f64) as i64 == *y,
        (Float(x), Bool(y)) | (Bool(y), Float(x)) => *x == if *y { 1.0 } else { 0.0 },
        (Int(x), Int(y)) => x == y,
        (Int(x), Bool(y)) | (Bool(y), Int(x)) => *x == *y as i64,
        (Bool(x), Bool(y)) => x == y,
    })
}

/// `value == s` where `s` is a str or None (as Python compares them).
pub fn eq_opt_str(py: Python<'_>, v: &Val, s: Option<&str>) -> PyResult<bool> {
    match (v, s) {
        (Val::Py(_), Some(s)) => eq(py, v, &Val::Str(s.to_string())),
        (Val::Py(o), Option::None) => Ok(o.bind(py).eq(py.None())?),
        (Val::None, Option::None) => Ok(true),
        (Val::Str(x), Some(y)) => Ok(x == y),
        _ => Ok(false),
    }
}

/// `value in (None, "")`
pub fn none_or_empty(py: Python<'_>, v: &Val) -> PyResult<bool> {
    Ok(match v {
        Val::None => true,
        Val::Str(s) => s.is_empty(),
        Val::Py(o) => {
            let o = o.bind(py);
            o.is_none() || o.eq(py.None())? || o.eq("")?
        }
        _ => false,
    })
}

/// A Python value as the state keeps it without `_plain` (JSON data, policy data).
pub fn raw(obj: &Bound<'_, PyAny>) -> PyResult<Val> {
    if obj.is_none() {
        return Ok(Val::None);
    }
    if obj.is_exact_instance_of::<PyString>() {
        return Ok(Val::Str(obj.downcast::<PyString>()?.to_cow()?.into_owned()));
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Ok(Val::Bool(obj.is_truthy()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Val::Int(i));
        }
        return Ok(Val::Py(obj.clone().unbind()));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return Ok(Val::Float(obj.extract::<f64>()?));
    }
    Ok(Val::Py(obj.clone().unbind()))
}

/// A stored (JSON) value: lists and dicts become native.
pub fn from_json(obj: &Bound<'_, PyAny>) -> PyResult<Val> {
    if obj.is_exact_instance_of::<PyList>() {
        let l = obj.downcast::<PyList>()?;
        return Ok(Val::List(l.iter().map(|x| from_json(&x)).collect::<PyResult<_>>()?));
    }
    if obj.is_exact_instance_of::<PyDict>() {
        let d = obj.downcast::<PyDict>()?;
        let mut out = IndexMap::with_capacity_and_hasher(d.len(), Default::default());
        for (k, v) in d.iter() {
            if !k.is_exact_instance_of::<PyString>() {
                return Ok(Val::Py(obj.clone().unbind()));
            }
            out.insert(k.downcast::<PyString>()?.to_cow()?.into_owned(), from_json(&v)?);
        }
        return Ok(Val::Dict(out));
    }
    raw(obj)
}

/// `engine._plain`: a JSON-plain copy of a payload value (dates as ISO strings).
pub fn plain(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Val> {
    if obj.is_none()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyBool>()
        || obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyFloat>()
    {
        return raw(obj);
    }
    let r = rt(py);
    if obj.is_instance(r.date_type.bind(py))? {
        let s = obj.call_method0("isoformat")?;
        return raw(&s);
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        let mut out = IndexMap::with_capacity_and_hasher(d.len(), Default::default());
        for (k, v) in d.iter() {
            let key = if k.is_exact_instance_of::<PyString>() {
                k.downcast::<PyString>()?.to_cow()?.into_owned()
            } else {
                k.str()?.to_cow()?.into_owned()
            };
            out.insert(key, plain(py, &v)?);
        }
        return Ok(Val::Dict(out));
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return Ok(Val::List(l.iter().map(|x| plain(py, &x)).collect::<PyResult<_>>()?));
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return Ok(Val::List(t.iter().map(|x| plain(py, &x)).collect::<PyResult<_>>()?));
    }
    Ok(Val::Py(obj.clone().unbind()))
}

pub fn payload_to_py(py: Python<'_>, p: &Payload) -> PyResult<PyObject> {
    let out = PyDict::new(py);
    for (k, v) in p {
        out.set_item(k, v.to_py(py)?)?;
    }
    Ok(out.into_any().unbind())
}

/// A value that the engine uses as an id (str or None).
pub fn opt_string(py: Python<'_>, v: &Val, what: &str) -> PyResult<Option<String>> {
    match v {
        Val::None => Ok(None),
        Val::Str(s) => Ok(Some(s.clone())),
        _ => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "native rules engine: {what} is {}; expected a string",
            v.to_py(py)?.bind(py).repr()?
        ))),
    }
}
