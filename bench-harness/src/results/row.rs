//! One row type per CSV: a `#[derive(Serialize, Deserialize)]` struct whose fields, in declaration order, are the
//! CSV's columns. The schema is written once — the writer fills the struct, the reader gets it back typed — and
//! [`Table`] still does the CSV itself, so the files' text does not depend on how a row was built.
//!
//! Cells map to fields as [`Value`] does: integers, floats (NaN and infinities are empty cells), text, `bool` as
//! `true`/`false`, `Option` as an empty cell. Reading is lenient where a CSV cannot tell types apart: an empty cell
//! is `""` for text and NaN for a float, a number is text for a text field, and a missing column is `None` for an
//! `Option` field (older run folders). Fields must be plain values (no nesting, no `flatten`).

use anyhow::{Context, Result, bail};
use serde::{
    Serialize,
    de::{self, DeserializeOwned, IntoDeserializer, Visitor},
};

use super::table::{Table, Value, cell_text};

/// A CSV's row type.
pub trait Row: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> Row for T {}

/// The columns of row type `R`: its field names in declaration order.
pub fn columns<R: DeserializeOwned>() -> Result<Vec<&'static str>> {
    let mut names = Vec::new();
    // Deriving Deserialize for a struct hands its field names to `deserialize_struct`; nothing is read.
    let _ = R::deserialize(FieldNames(&mut names));
    if names.is_empty() {
        bail!("internal: `{}` is not a struct with named fields", std::any::type_name::<R>());
    }
    Ok(names)
}

impl Table {
    /// An empty table with `R`'s columns.
    pub fn of<R: Row>() -> Result<Table> {
        Ok(Table::new(&columns::<R>()?))
    }

    /// A table of `rows`, with `R`'s columns.
    pub fn from_rows<R: Row>(rows: &[R]) -> Result<Table> {
        let mut t = Table::of::<R>()?;
        for r in rows {
            t.push_row(r)?;
        }
        Ok(t)
    }

    /// Appends `row`; the table's columns must be `R`'s (every column named exactly once).
    pub fn push_row<R: Row>(&mut self, row: &R) -> Result<()> {
        let serde_json::Value::Object(mut fields) = serde_json::to_value(row).context("internal: a CSV row")? else {
            bail!("internal: `{}` is not a struct", std::any::type_name::<R>());
        };
        let mut cells = Vec::with_capacity(fields.len());
        for name in columns::<R>()? {
            let v = match fields.remove(name) {
                None | Some(serde_json::Value::Null) => Value::Null,
                Some(serde_json::Value::Bool(b)) => Value::S(b.to_string()),
                Some(serde_json::Value::String(s)) => Value::S(s),
                Some(serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(i) => Value::I(i),
                    None => n.as_f64().map_or(Value::Null, Value::from),
                },
                Some(other) => bail!("internal: column `{name}` holds {other}, not a plain value"),
            };
            cells.push((name, v));
        }
        self.push(cells)
    }

    /// Every row as an `R`, by column name (columns `R` does not have are ignored).
    pub fn typed<R: Row>(&self) -> Result<Vec<R>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(k, row)| {
                let cells = self.columns.iter().map(String::as_str).zip(row.iter().map(Cell));
                R::deserialize(de::value::MapDeserializer::new(cells))
                    .map_err(|e| anyhow::anyhow!("row {}: {e}", k + 1))
            })
            .collect()
    }
}

/// A deserializer that only collects a struct's field names.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("a row type must be a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// One cell, read into a field.
#[derive(Clone, Copy)]
struct Cell<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, de::value::Error> for Cell<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl Cell<'_> {
    fn text(&self) -> String {
        cell_text(self.0)
    }

    fn integer(&self) -> Result<i64, de::value::Error> {
        match self.0 {
            Value::I(i) => Ok(*i),
            Value::F(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(*x as i64),
            other => Err(de::Error::custom(format!("expected an integer, found {other:?}"))),
        }
    }
}

macro_rules! integers {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_i64(self.integer()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Cell<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::F(x) => visitor.visit_f64(*x),
            Value::I(i) => visitor.visit_i64(*i),
            Value::S(s) => visitor.visit_str(s),
            Value::Null => visitor.visit_unit(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.text().as_str() {
            "true" | "1" => visitor.visit_bool(true),
            "false" | "0" => visitor.visit_bool(false),
            t => Err(de::Error::custom(format!("expected true or false, found `{t}`"))),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::F(x) => visitor.visit_f64(*x),
            Value::I(i) => visitor.visit_f64(*i as f64),
            Value::Null => visitor.visit_f64(f64::NAN),
            Value::S(s) => Err(de::Error::custom(format!("expected a number, found `{s}`"))),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.text())
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.text())
    }

    integers!(deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64, deserialize_u8, deserialize_u16);
    integers!(deserialize_u32, deserialize_u64);

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Example {
        name: String,
        n: usize,
        x: f64,
        ok: bool,
        note: Option<String>,
        later: Option<f64>,
    }

    /// The columns are the fields in order; a row survives a CSV round trip, empty cells included.
    #[test]
    fn rows_round_trip_through_csv() {
        assert_eq!(columns::<Example>().expect("columns"), ["name", "n", "x", "ok", "note", "later"]);
        let rows = [
            Example { name: "a, b".into(), n: 3, x: 0.25, ok: true, note: None, later: Some(1.0) },
            Example { name: "12".into(), n: 0, x: 1.0, ok: false, note: Some("n".into()), later: None },
        ];
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.csv");
        Table::from_rows(&rows).expect("table").write_csv(&p).expect("write");
        let back: Vec<Example> = Table::read_csv(&p).expect("read").typed().expect("typed");
        assert_eq!(back, rows);
        // Same text as a table built cell by cell.
        let mut t = Table::new(&["name", "n", "x", "ok", "note", "later"]);
        for r in &rows {
            t.push(vec![
                ("name", r.name.clone().into()),
                ("n", r.n.into()),
                ("x", r.x.into()),
                ("ok", r.ok.into()),
                ("note", r.note.clone().into()),
                ("later", r.later.into()),
            ])
            .expect("row");
        }
        let q = dir.path().join("u.csv");
        t.write_csv(&q).expect("write");
        assert_eq!(std::fs::read(&p).expect("p"), std::fs::read(&q).expect("q"));
    }

    /// A column the row type has but an older file lacks reads as `None`; a missing required one is an error.
    #[test]
    fn older_files_without_optional_columns_read() {
        let mut t = Table::new(&["name", "n", "x", "ok"]);
        t.push(vec![("name", "a".into()), ("n", 1usize.into()), ("x", 2.0.into()), ("ok", true.into())]).expect("row");
        let r: Vec<Example> = t.typed().expect("typed");
        assert_eq!((r[0].note.clone(), r[0].later), (None, None));
        let t = Table::new(&["name"]);
        assert!(t.typed::<Example>().expect("no rows").is_empty());
        let mut t = Table::new(&["name"]);
        t.push(vec![("name", "a".into())]).expect("row");
        assert!(t.typed::<Example>().is_err());
    }
}
