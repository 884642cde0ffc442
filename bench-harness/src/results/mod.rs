//! The results layer under the jobs: run-folder facts (`run`: date, machine, git revision, progress), result
//! tables written to and read from CSV (`table`) with one row type per CSV (`row`), and the one look of every plot
//! (`plot`). `bench`, `reproduce`
//! and later jobs build on it; it imports nothing from them.

pub mod lock;
pub mod plot;
pub mod row;
pub mod run;
pub mod table;
