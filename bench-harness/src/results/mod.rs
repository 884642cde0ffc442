//! The results layer under the jobs: run-folder facts (`run`: date, machine, git revision, progress) and result
//! tables written to and read from CSV (`table`). `bench`, `reproduce` and later jobs build on it; it imports
//! nothing from them.

pub mod lock;
pub mod run;
pub mod table;
