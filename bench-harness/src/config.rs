//! Partial config files: a TOML file names only the fields it changes; every other field keeps the base's value
//! (the quick or full run, a backend's schedule). A key the config does not know is a one-line error that names the
//! key, its line and the keys the table knows; a file that spells out every field (an old `config.toml`) reads as
//! before.

use std::path::Path;

use anyhow::{Result, anyhow};
use serde::{Serialize, de::DeserializeOwned};

/// Parses `text` as a TOML table, with errors on one line (`origin:LINE: message`).
pub fn parse_table(text: &str, origin: &Path) -> Result<toml::Table> {
    text.parse::<toml::Table>().map_err(|e| one_line(&e, text, origin))
}

/// `base` with every field `text` gives replaced (tables merged key by key, arrays and values replaced). `V` is the
/// same config with every field defaulted and unknown keys denied: the file is checked against it first, so an
/// unknown or mistyped key is reported with its line (the merged table has no lines any more).
pub fn partial<T, V>(base: &T, text: &str, origin: &Path) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    V: DeserializeOwned,
{
    check::<V>(text, origin)?;
    overlay(base, parse_table(text, origin)?, origin)
}

/// Checks `text` against `V` (every field defaulted, unknown keys denied): one-line errors with the line.
pub fn check<V: DeserializeOwned>(text: &str, origin: &Path) -> Result<()> {
    toml::from_str::<V>(text).map(|_| ()).map_err(|e| one_line(&e, text, origin))
}

/// `base` with the fields of `over` replaced (see [`merge`]).
pub fn overlay<T>(base: &T, over: toml::Table, origin: &Path) -> Result<T>
where
    T: Serialize + DeserializeOwned,
{
    let mut merged = toml::Table::try_from(base)?;
    merge(&mut merged, over);
    toml::Value::Table(merged)
        .try_into::<T>()
        .map_err(|e| anyhow!("{}: {}", origin.display(), e.message().replace('\n', " ")))
}

/// Overlays `over` onto `base`: tables key by key, everything else replaced.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Sets the dotted key `path` (`net.n_rec`) of `table` to `value`, making tables on the way.
pub fn set_dotted(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().filter(|s| !s.is_empty()).ok_or_else(|| anyhow!("empty key `{path}`"))?;
    let mut t = table;
    for p in parts {
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| anyhow!("`{path}`: `{p}` is a value, not a table"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// The dotted key `path` of `table`, if present.
pub fn get_dotted<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

fn one_line(e: &toml::de::Error, text: &str, origin: &Path) -> anyhow::Error {
    let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let msg = e.message().replace('\n', " ");
    match line {
        Some(l) => anyhow!("{}:{l}: {msg}", origin.display()),
        None => anyhow!("{}: {msg}", origin.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        a: u32,
        b: Option<String>,
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Outer {
        x: f64,
        inner: Inner,
        list: Vec<u32>,
    }

    fn base() -> Outer {
        Outer { x: 2.5, inner: Inner { a: 7, b: None }, list: vec![1, 2] }
    }

    #[test]
    fn an_empty_file_is_the_base_and_a_partial_one_changes_only_its_fields() -> Result<()> {
        let p = Path::new("c.toml");
        assert_eq!(partial::<Outer, Outer>(&base(), "", p)?, base());
        let c = partial::<Outer, Outer>(&base(), "list = [9]\n[inner]\nb = \"hi\"\n", p)?;
        assert_eq!(c, Outer { x: 2.5, inner: Inner { a: 7, b: Some("hi".into()) }, list: vec![9] });
        Ok(())
    }

    #[test]
    fn a_misspelt_key_is_one_line_naming_it_its_line_and_the_known_keys() {
        let err = partial::<Outer, Outer>(&base(), "x = 1.0\n[inner]\naa = 3\n", Path::new("c.toml"))
            .expect_err("unknown key accepted")
            .to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.starts_with("c.toml:3: unknown field `aa`"), "{err}");
        assert!(err.contains("`a`") && err.contains("`b`"), "{err}");
    }

    #[test]
    fn dotted_keys_are_set_and_read() -> Result<()> {
        let mut t = toml::Table::new();
        set_dotted(&mut t, "net.n_rec", toml::Value::Integer(64))?;
        assert_eq!(get_dotted(&t, "net.n_rec"), Some(&toml::Value::Integer(64)));
        assert!(set_dotted(&mut t, "net.n_rec.deeper", toml::Value::Integer(1)).is_err());
        Ok(())
    }
}
