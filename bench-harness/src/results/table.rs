//! Result tables: rows of named values, written to and read from CSV through polars, so every CSV of a run has one
//! writer and one reader and the report is always rebuilt from the files.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number (NaN and infinities are written as empty cells, never as numbers).
    F(f64),
    /// An integer.
    I(i64),
    /// Text.
    S(String),
    /// Empty (not measured / not applicable).
    Null,
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        if v.is_finite() { Value::F(v) } else { Value::Null }
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::I(v as i64)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::I(v as i64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::S(v.to_string())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::S(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::S(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Columns read back as text whatever they look like (identifiers, not quantities).
pub const TEXT_COLUMNS: [&str; 3] = ["git_rev", "cell", "condition"];

/// A table under construction or read back: named columns, rows in order.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column names in order.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Self { columns: columns.iter().map(|s| s.to_string()).collect(), rows: vec![] }
    }

    /// Appends a row given as (column, value) pairs; every column must be named exactly once.
    pub fn push(&mut self, cells: Vec<(&str, Value)>) -> Result<()> {
        let mut row = vec![Value::Null; self.columns.len()];
        let mut seen = vec![false; self.columns.len()];
        for (name, v) in cells {
            let i = self.index(name)?;
            if seen[i] {
                bail!("internal: column `{name}` given twice in one row");
            }
            seen[i] = true;
            row[i] = v;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            bail!("internal: row lacks column `{}`", self.columns[i]);
        }
        self.rows.push(row);
        Ok(())
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).with_context(|| format!("no column `{name}`"))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A column as numbers (`None` for empty cells and text).
    pub fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let i = self.index(name)?;
        Ok(self
            .rows
            .iter()
            .map(|r| match &r[i] {
                Value::F(v) => Some(*v),
                Value::I(v) => Some(*v as f64),
                _ => None,
            })
            .collect())
    }

    /// A column as text (numbers formatted, empty cells as "").
    pub fn strs(&self, name: &str) -> Result<Vec<String>> {
        let i = self.index(name)?;
        Ok(self.rows.iter().map(|r| cell_text(&r[i])).collect())
    }

    /// The rows whose column `name` equals `value` (as text).
    pub fn filter(&self, name: &str, value: &str) -> Result<Table> {
        let i = self.index(name)?;
        Ok(Table {
            columns: self.columns.clone(),
            rows: self.rows.iter().filter(|r| cell_text(&r[i]) == value).cloned().collect(),
        })
    }

    /// Distinct values of a column, in order of first appearance.
    pub fn distinct(&self, name: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = vec![];
        for s in self.strs(name)? {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn to_frame(&self) -> Result<DataFrame> {
        let mut cols = Vec::with_capacity(self.columns.len());
        for (i, name) in self.columns.iter().enumerate() {
            let cells: Vec<&Value> = self.rows.iter().map(|r| &r[i]).collect();
            let all = |f: fn(&Value) -> bool| cells.iter().all(|v| f(v) || matches!(v, Value::Null));
            let col = if all(|v| matches!(v, Value::I(_))) {
                let v: Vec<Option<i64>> =
                    cells.iter().map(|v| if let Value::I(x) = v { Some(*x) } else { None }).collect();
                Column::new(name.as_str().into(), v)
            } else if all(|v| matches!(v, Value::I(_) | Value::F(_))) {
                let v: Vec<Option<f64>> = cells
                    .iter()
                    .map(|v| match v {
                        Value::F(x) => Some(*x),
                        Value::I(x) => Some(*x as f64),
                        _ => None,
                    })
                    .collect();
                Column::new(name.as_str().into(), v)
            } else {
                let v: Vec<Option<String>> =
                    cells.iter().map(|v| if matches!(v, Value::Null) { None } else { Some(cell_text(v)) }).collect();
                Column::new(name.as_str().into(), v)
            };
            cols.push(col);
        }
        Ok(DataFrame::new(self.rows.len(), cols)?)
    }

    /// Writes the table as CSV (header first), atomically: a partial file never stays behind.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut df = self.to_frame()?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut b = tempfile::Builder::new();
        // Readable by others like any file the run writes (a temporary file would be 0600), e.g. a group sharing a
        // cluster's sweep folder.
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let mut tmp = b.tempfile_in(dir).with_context(|| format!("{}: cannot write", dir.display()))?;
        CsvWriter::new(&mut tmp).include_header(true).finish(&mut df)?;
        tmp.persist(path).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(())
    }

    /// Reads a CSV written by [`Table::write_csv`] (or by hand, with a header row).
    pub fn read_csv(path: &Path) -> Result<Table> {
        if !path.exists() {
            bail!("{}: no such file (run `snnbench reproduce` to make it)", path.display());
        }
        // Text that can look like a number stays text: a revision such as `16e116010900` would be read as the float
        // 1.6e116010901 (inf), and `012345678901` would lose its leading zero.
        let mut text = Schema::default();
        for c in TEXT_COLUMNS {
            text.with_column(c.into(), DataType::String);
        }
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .with_schema_overwrite(Some(std::sync::Arc::new(text)))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()
            .map_err(|e| anyhow::anyhow!("{}: not a readable CSV: {e}", path.display()))?;
        let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = vec![Vec::with_capacity(columns.len()); df.height()];
        for name in &columns {
            let s = df.column(name)?.as_materialized_series().clone();
            match s.dtype() {
                DataType::Int64 | DataType::Int32 | DataType::UInt32 | DataType::UInt64 => {
                    let s = s.cast(&DataType::Int64)?;
                    let ca = s.i64()?;
                    for (k, row) in rows.iter_mut().enumerate() {
                        row.push(ca.get(k).map_or(Value::Null, Value::I));
                    }
                }
                DataType::Float64 | DataType::Float32 => {
                    let s = s.cast(&DataType::Float64)?;
                    let ca = s.f64()?;
                    for (k, row) in rows.iter_mut().enumerate() {
                        row.push(ca.get(k).map_or(Value::Null, Value::F));
                    }
                }
                _ => {
                    let s = s.cast(&DataType::String)?;
                    let ca = s.str()?;
                    for (k, row) in rows.iter_mut().enumerate() {
                        row.push(ca.get(k).map_or(Value::Null, |t| Value::S(t.to_string())));
                    }
                }
            }
        }
        Ok(Table { columns, rows })
    }
}

/// A cell as text: numbers formatted, empty cells as "".
pub(super) fn cell_text(v: &Value) -> String {
    match v {
        Value::F(x) => format!("{x}"),
        Value::I(x) => x.to_string(),
        Value::S(s) => s.clone(),
        Value::Null => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A revision that reads as a number (`16e116010900` is 1.6e116010901 to a float parser) stays text.
    #[test]
    fn revisions_that_look_like_numbers_stay_text() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        let mut t = Table::new(&["git_rev", "x"]);
        for rev in ["16e116010900", "012345678901"] {
            t.push(vec![("git_rev", rev.into()), ("x", 1.0.into())]).expect("push");
        }
        t.write_csv(&path).expect("write");
        let back = Table::read_csv(&path).expect("read");
        assert_eq!(back.strs("git_rev").expect("git_rev"), ["16e116010900", "012345678901"]);
        back.write_csv(&path).expect("write again");
        assert!(std::fs::read_to_string(&path).expect("csv").contains("\n16e116010900,"));
    }

    #[test]
    fn csv_round_trip_keeps_types_and_empty_cells() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut t = Table::new(&["name", "n", "x"]);
        t.push(vec![("name", "a, b".into()), ("n", 3usize.into()), ("x", 0.25.into())]).expect("row");
        t.push(vec![("name", "c".into()), ("n", Value::Null), ("x", f64::NAN.into())]).expect("row");
        let p = dir.path().join("t.csv");
        t.write_csv(&p).expect("write");
        let r = Table::read_csv(&p).expect("read");
        assert_eq!(r.columns, t.columns);
        assert_eq!(r.strs("name").expect("col"), vec!["a, b", "c"]);
        assert_eq!(r.f64s("n").expect("col"), vec![Some(3.0), None]);
        assert_eq!(r.f64s("x").expect("col"), vec![Some(0.25), None]);
        assert!(t.push(vec![("name", "d".into())]).is_err(), "a row must name every column");
    }
}
