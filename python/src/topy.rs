//! Core values straight to Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`,
//! `None`), through their `serde::Serialize` impls: the objects `json.loads` would build from
//! the same value's JSON, without writing and parsing the text, except that timestamps
//! ([`enrollkit::TIMESTAMP_SERDE_NAME`]) become aware UTC `datetime`s. Field names and unit
//! variants (the core's `&'static str`s) are interned, as Python interns attribute names, and
//! kept: an Enrollment has 36 of them. Other map keys are converted like values: every map in
//! the core's records has string keys, as JSON objects do.

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString};
use serde::ser::{self, Serialize};

/// `value` as Python objects.
pub(crate) fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    value.serialize(Serializer { py }).map_err(|e| e.0)
}

/// A small cache keyed by `&'static str`s (by address and length, plus a number): a
/// direct-mapped table, where an entry replaces the one in its slot. A miss costs only the
/// work the cache saves, so collisions are harmless.
struct Cache<T, const SLOTS: usize>(Mutex<[Option<(CacheKey, T)>; SLOTS]>);

/// (address, length, number).
type CacheKey = (usize, usize, usize);

impl<T, const SLOTS: usize> Cache<T, SLOTS> {
    const fn new() -> Self {
        Cache(Mutex::new([const { None }; SLOTS]))
    }

    fn key(name: &'static str, number: usize) -> CacheKey {
        (name.as_ptr() as usize, name.len(), number)
    }

    fn slot(key: CacheKey) -> usize {
        // Fibonacci hashing: the top bits of the product pick the slot.
        let hash =
            ((key.0 ^ key.1 ^ key.2.rotate_left(17)) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - SLOTS.trailing_zeros())) as usize
    }

    /// Every caller holds the GIL and nothing under the lock runs Python code: never contended.
    fn table(&self) -> std::sync::MutexGuard<'_, [Option<(CacheKey, T)>; SLOTS]> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `found` applied to the value of `key`, if it is in the cache.
    fn get<R>(&self, key: CacheKey, found: impl FnOnce(&T) -> R) -> Option<R> {
        match &self.table()[Self::slot(key)] {
            Some((k, v)) if *k == key => Some(found(v)),
            _ => None,
        }
    }

    fn put(&self, key: CacheKey, value: T) {
        self.table()[Self::slot(key)] = Some((key, value));
    }
}

/// Interned Python strings of the `&'static str`s seen (field names, unit variants). Interning
/// anew on every use (decode, hash, look up the interpreter's table, free the copy) was half
/// the cost of turning an Enrollment into a dict.
static INTERNED: Cache<Py<PyString>, 256> = Cache::new();

/// `name` as an interned Python string.
fn interned<'py>(py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
    let key = Cache::<Py<PyString>, 256>::key(name, 0);
    if let Some(s) = INTERNED.get(key, |s| s.bind(py).clone()) {
        return s;
    }
    let s = PyString::intern(py, name);
    INTERNED.put(key, s.clone().unbind());
    s
}

/// The fields a struct serialized last time, in order, and a dict of them all set to `None`.
/// The next struct of the same name and length starts as a copy of that dict: copying is
/// cheaper than growing a dict key by key, and `None` fields need no work at all.
struct Shape {
    names: Vec<&'static str>,
    keys: Vec<Py<PyString>>,
    template: Py<PyDict>,
}

/// The last shape of each struct, by name and field count.
static SHAPES: Cache<Arc<Shape>, 64> = Cache::new();

/// A struct's dict being filled. While its fields come in the order of `shape`, the dict is a
/// copy of the shape's template and only fields that are not `None` are set; a struct that
/// leaves the shape (another struct of the same name and length, or fields skipped) is
/// finished field by field in a new dict, and its own shape is kept for the next one.
pub(crate) struct Struct<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
    key: CacheKey,
    shape: Option<Arc<Shape>>,
    /// Fields serialized while following `shape`.
    followed: usize,
    /// The fields serialized, once not following a shape.
    names: Vec<&'static str>,
}

impl<'py> Struct<'py> {
    fn new(py: Python<'py>, name: &'static str, len: usize) -> Result<Self> {
        let key = Cache::<Arc<Shape>, 64>::key(name, len);
        let shape = SHAPES.get(key, Arc::clone);
        let (dict, names) = match &shape {
            Some(shape) => (shape.template.bind(py).copy()?, Vec::new()),
            None => (PyDict::new(py), Vec::with_capacity(len)),
        };
        Ok(Struct {
            py,
            dict,
            key,
            shape,
            followed: 0,
            names,
        })
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<()> {
        let value = value.serialize(Serializer { py: self.py })?;
        if let Some(shape) = &self.shape {
            if shape
                .names
                .get(self.followed)
                .is_some_and(|n| std::ptr::eq(*n, name))
            {
                if !value.is_none() {
                    let key = shape.keys[self.followed].bind(self.py);
                    self.dict.set_item(key, value)?;
                }
                self.followed += 1;
                return Ok(());
            }
            self.leave_shape()?;
        }
        self.dict.set_item(interned(self.py, name), value)?;
        self.names.push(name);
        Ok(())
    }

    /// Continues without the shape: a new dict with the fields followed so far, in order.
    fn leave_shape(&mut self) -> Result<()> {
        let Some(shape) = self.shape.take() else {
            return Ok(());
        };
        let dict = PyDict::new(self.py);
        for key in &shape.keys[..self.followed] {
            let key = key.bind(self.py);
            let value = self
                .dict
                .get_item(key)?
                .unwrap_or_else(|| self.py.None().into_bound(self.py));
            dict.set_item(key, value)?;
        }
        self.names = shape.names[..self.followed].to_vec();
        self.dict = dict;
        Ok(())
    }

    fn end(mut self) -> Result<Bound<'py, PyAny>> {
        if let Some(shape) = &self.shape {
            if self.followed == shape.names.len() {
                return Ok(self.dict.into_any());
            }
            // Fewer fields than the shape has.
            self.leave_shape()?;
        }
        let keys: Vec<Py<PyString>> = self
            .names
            .iter()
            .map(|n| interned(self.py, n).unbind())
            .collect();
        let template = PyDict::new(self.py);
        for key in &keys {
            template.set_item(key.bind(self.py), self.py.None())?;
        }
        let shape = Shape {
            names: self.names,
            keys,
            template: template.unbind(),
        };
        SHAPES.put(self.key, Arc::new(shape));
        Ok(self.dict.into_any())
    }
}

/// `datetime.datetime.fromisoformat`, and whether it reads a trailing `Z` (Python 3.11+).
static FROM_ISO: PyOnceLock<(Py<PyAny>, bool)> = PyOnceLock::new();

/// The aware UTC `datetime` of `text`, a timestamp's canonical text
/// (`2026-01-15T10:30:00.123Z`) as a Python string: records reach Python with their times
/// converted, instead of Python code looking at each time field of each record.
fn datetime<'py>(py: Python<'py>, text: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let (from_iso, reads_z) = FROM_ISO.get_or_try_init(py, || -> PyResult<_> {
        let class = py.import("datetime")?.getattr("datetime")?;
        Ok((
            class.getattr("fromisoformat")?.unbind(),
            py.version_info() >= (3, 11),
        ))
    })?;
    if *reads_z {
        return from_iso.bind(py).call1((text,));
    }
    // Python 3.9 and 3.10 read an offset, not "Z".
    let text = text.cast::<PyString>()?.to_cow()?;
    let offset = format!("{}+00:00", text.trim_end_matches('Z'));
    from_iso.bind(py).call1((offset,))
}

/// A Python exception carried through serde.
#[derive(Debug)]
pub(crate) struct Error(PyErr);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        Error(PyValueError::new_err(msg.to_string()))
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error(e)
    }
}

type Result<T> = std::result::Result<T, Error>;

#[derive(Clone, Copy)]
struct Serializer<'py> {
    py: Python<'py>,
}

/// A list being filled (sequences, tuples).
struct Seq<'py> {
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
}

/// A dict being filled (maps, structs), with the key of a map entry whose value is next.
struct Map<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

/// A tuple or struct variant being filled: `{variant: filled}`.
struct Variant<T> {
    name: &'static str,
    filled: T,
}

/// `{variant: value}`, as serde_json writes newtype, tuple and struct variants.
fn tagged<'py>(
    py: Python<'py>,
    variant: &'static str,
    value: Bound<'py, PyAny>,
) -> Result<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    dict.set_item(interned(py, variant), value)?;
    Ok(dict.into_any())
}

impl<'py> ser::Serializer for Serializer<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'py>;
    type SerializeTuple = Seq<'py>;
    type SerializeTupleStruct = Seq<'py>;
    type SerializeTupleVariant = Variant<Seq<'py>>;
    type SerializeMap = Map<'py>;
    type SerializeStruct = Struct<'py>;
    type SerializeStructVariant = Variant<Map<'py>>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        Ok(PyList::new(self.py, v)?.into_any())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        Ok(interned(self.py, variant).into_any())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        let value = value.serialize(self)?;
        if name == enrollkit::TIMESTAMP_SERDE_NAME {
            return Ok(datetime(self.py, value)?);
        }
        Ok(value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        tagged(self.py, variant, value.serialize(self)?)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(Seq {
            py: self.py,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Ok(Variant {
            name: variant,
            filled: self.serialize_seq(Some(len))?,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Map {
            py: self.py,
            dict: PyDict::new(self.py),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct> {
        Struct::new(self.py, name, len)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Ok(Variant {
            name: variant,
            filled: self.serialize_map(Some(len))?,
        })
    }
}

impl<'py> Seq<'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items
            .push(value.serialize(Serializer { py: self.py })?);
        Ok(())
    }
    fn list(self) -> Result<Bound<'py, PyAny>> {
        Ok(PyList::new(self.py, self.items)?.into_any())
    }
}

impl<'py> ser::SerializeSeq for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.list()
    }
}

impl<'py> ser::SerializeTuple for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.list()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.list()
    }
}

impl<'py> ser::SerializeTupleVariant for Variant<Seq<'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.filled.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        let py = self.filled.py;
        tagged(py, self.name, self.filled.list()?)
    }
}

impl<'py> Map<'py> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let value = value.serialize(Serializer { py: self.py })?;
        self.dict.set_item(interned(self.py, key), value)?;
        Ok(())
    }
}

impl<'py> ser::SerializeMap for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(Serializer { py: self.py })?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a map value without its key"))?;
        self.dict
            .set_item(key, value.serialize(Serializer { py: self.py })?)?;
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

impl<'py> ser::SerializeStruct for Struct<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        Struct::end(self)
    }
}

impl<'py> ser::SerializeStructVariant for Variant<Map<'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.filled.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        let py = self.filled.py;
        tagged(py, self.name, self.filled.dict.into_any())
    }
}

/// Values whose structs change shape between calls, for `topy_cases`: two structs named
/// `Same` with three fields each, and one whose fields come and go.
mod shapes {
    use serde::Serialize;

    pub(super) mod a {
        #[derive(serde::Serialize)]
        pub(crate) struct Same {
            pub(crate) x: Option<u32>,
            pub(crate) y: &'static str,
            pub(crate) z: Option<f64>,
        }
    }

    pub(super) mod b {
        #[derive(serde::Serialize)]
        pub(crate) struct Same {
            pub(crate) z: Option<f64>,
            pub(crate) w: bool,
            pub(crate) x: Option<u32>,
        }
    }

    #[derive(Serialize)]
    pub(super) struct Varies {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) first: Option<&'static str>,
        pub(super) always: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) last: Option<Vec<a::Same>>,
    }
}

/// `(label, to_py(value), the value's JSON)` for structs that change shape between calls:
/// the Python tests check that each object is what `json.loads` makes of the text, keys in the
/// same order. (This crate cannot run Rust tests: extension modules do not link libpython.)
pub(crate) fn cases(py: Python<'_>) -> PyResult<Vec<(String, Bound<'_, PyAny>, String)>> {
    use shapes::{a, b, Varies};
    let same_a = |x: Option<u32>, z: Option<f64>| a::Same { x, y: "y", z };
    let same_b = |z: Option<f64>, x: Option<u32>| b::Same { z, w: true, x };
    let varies = |first: Option<&'static str>, always: Option<i64>, last: bool| Varies {
        first,
        always,
        last: last.then(|| vec![same_a(Some(1), None), same_a(None, Some(0.5))]),
    };
    let values: Vec<(&str, Box<dyn erased::Value>)> = vec![
        ("a", Box::new(same_a(Some(1), Some(2.5)))),
        ("a, nones", Box::new(same_a(None, None))),
        ("b after a", Box::new(same_b(Some(1.5), None))),
        ("a after b", Box::new(same_a(Some(7), None))),
        ("b, nones", Box::new(same_b(None, None))),
        ("all fields", Box::new(varies(Some("f"), Some(1), true))),
        ("all fields again", Box::new(varies(Some("g"), None, true))),
        ("first missing", Box::new(varies(None, Some(2), true))),
        ("last missing", Box::new(varies(Some("h"), Some(3), false))),
        ("only always", Box::new(varies(None, None, false))),
        (
            "all fields after fewer",
            Box::new(varies(Some("i"), Some(4), true)),
        ),
        ("a list of both", Box::new(vec![same_b(None, Some(3))])),
    ];
    values
        .into_iter()
        .map(|(label, value)| {
            let json = value
                .json()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok((label.to_owned(), value.to_py(py)?, json))
        })
        .collect()
}

/// Boxed values of different `Serialize` types for [`cases`].
mod erased {
    use super::*;

    pub(super) trait Value {
        fn json(&self) -> serde_json::Result<String>;
        fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
    }

    impl<T: Serialize> Value for T {
        fn json(&self) -> serde_json::Result<String> {
            serde_json::to_string(self)
        }
        fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, self)
        }
    }
}
