//! Tidy checks on the source tree, as ordinary tests: module docs, no panicking unwraps or printing in libraries.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn sources(dirs: &[&str], ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        files(&root().join(d), ext, &mut out);
    }
    assert!(!out.is_empty(), "no .{ext} files found under {dirs:?}");
    out
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let bad: Vec<_> = sources(&["models", "kernels", "bench-harness", "tests/src", "tests/tests"], "rs")
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap_or_default().starts_with("//!"))
        .collect();
    assert!(bad.is_empty(), "files without a leading //! line: {bad:?}");
}

#[test]
fn libraries_do_not_unwrap_or_print() {
    let mut bad = Vec::new();
    for p in sources(&["models/src", "kernels/src", "bench-harness/src"], "rs") {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        // Unit tests at the end of a file may unwrap and print.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let is_main = p.ends_with("bench-harness/src/main.rs");
        for (i, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if l.contains(".unwrap()") {
                bad.push(format!("{}:{}: unwrap()", p.display(), i + 1));
            }
            if !is_main && (l.contains("println!") || l.contains("eprintln!")) {
                bad.push(format!("{}:{}: prints (only the binary prints)", p.display(), i + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn wgsl_files_open_with_their_equations() {
    let mut wgsl = Vec::new();
    files(&root().join("kernels/wgsl"), "wgsl", &mut wgsl);
    for p in wgsl {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        assert!(text.starts_with("//"), "{} must open with a comment: equations, bindings, dispatch", p.display());
    }
}

#[test]
fn models_does_not_depend_on_io_or_gpu_crates() {
    let toml = std::fs::read_to_string(root().join("models/Cargo.toml")).expect("models/Cargo.toml");
    for forbidden in ["wgpu", "kernels", "bench-harness", "safetensors", "polars", "plotters"] {
        assert!(!toml.contains(&format!("\n{forbidden}")), "models must not depend on {forbidden}");
    }
}
