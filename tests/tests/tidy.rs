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

/// The module graph of a crate's `src`: node = a module's path (`reproduce/train`, `cost`), edge = a `crate::…` or
/// `super::…` path naming another module. Edges to a module's own ancestors or descendants are left out (a parent
/// declares its children and children use their parent's items: Rust's shape, not a cycle).
fn module_graph(src: &Path) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files_rs = Vec::new();
    files(src, "rs", &mut files_rs);
    let module_of = |p: &Path| -> String {
        let rel = p.strip_prefix(src).expect("under src").with_extension("");
        let s = rel.to_string_lossy().replace('\\', "/");
        s.strip_suffix("/mod").unwrap_or(&s).to_string()
    };
    let nodes: std::collections::BTreeSet<String> = files_rs.iter().map(|p| module_of(p)).collect();
    let resolve = |segs: &[&str]| -> Option<String> {
        (1..=segs.len()).rev().map(|k| segs[..k].join("/")).find(|c| nodes.contains(c))
    };
    let related = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"));
    let mut graph = std::collections::BTreeMap::new();
    for p in &files_rs {
        let me = module_of(p);
        let parent = me.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut out = std::collections::BTreeSet::new();
        // `crate::a::b`, `super::a`, and the items of `use crate::{a::…, b}` / `use super::{a, b::…}` groups.
        let mut paths: Vec<(bool, String)> = Vec::new();
        for (root, is_super) in [("crate::", false), ("super::", true)] {
            for (i, _) in code.match_indices(root) {
                let rest = &code[i + root.len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    let body = &group[..group.find('}').unwrap_or(group.len())];
                    paths.extend(body.split(',').map(|item| (is_super, item.trim().to_string())));
                } else {
                    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
                    paths.push((is_super, rest[..end].to_string()));
                }
            }
        }
        for (is_super, path) in paths {
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty() && *s != "self").collect();
            let base: Vec<&str> = if is_super && !parent.is_empty() { parent.split('/').collect() } else { vec![] };
            let full: Vec<&str> = base.into_iter().chain(segs).collect();
            if let Some(target) = resolve(&full)
                && !related(&me, &target)
            {
                out.insert(target);
            }
        }
        graph.insert(me, out);
    }
    graph
}

/// No import cycle between modules of the library crates (e.g. `bench` ↔ `reproduce`, `cli` ↔ `cost` once were).
#[test]
fn no_import_cycles_between_modules() {
    for krate in ["models/src", "kernels/src", "bench-harness/src"] {
        let g = module_graph(&root().join(krate));
        // Depth-first search for a back edge; report the cycle's path.
        fn visit(
            n: &str,
            g: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
            state: &mut std::collections::BTreeMap<String, u8>,
            stack: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            state.insert(n.to_string(), 1);
            stack.push(n.to_string());
            for m in g.get(n).into_iter().flatten() {
                match state.get(m.as_str()).copied().unwrap_or(0) {
                    1 => {
                        let i = stack.iter().position(|s| s == m).unwrap_or(0);
                        let mut c = stack[i..].to_vec();
                        c.push(m.clone());
                        return Some(c);
                    }
                    0 => {
                        if let Some(c) = visit(m, g, state, stack) {
                            return Some(c);
                        }
                    }
                    _ => {}
                }
            }
            stack.pop();
            state.insert(n.to_string(), 2);
            None
        }
        let mut state = std::collections::BTreeMap::new();
        for n in g.keys() {
            if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
                let cycle = visit(n, &g, &mut state, &mut Vec::new());
                assert!(cycle.is_none(), "{krate}: import cycle {}", cycle.unwrap_or_default().join(" → "));
            }
        }
    }
}

/// The speech front end knows nothing of the network, the kernels or the jobs.
#[test]
fn the_data_module_imports_no_model_kernel_or_job() {
    let mut data = Vec::new();
    files(&root().join("bench-harness/src/data"), "rs", &mut data);
    assert!(data.len() >= 5, "bench-harness/src/data holds the front end");
    for p in data {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for forbidden in [
            "models::",
            "kernels::",
            "burn_baseline::",
            "crate::reproduce",
            "crate::bench",
            "crate::cli",
            "crate::contender",
            "crate::cost",
        ] {
            assert!(!text.contains(forbidden), "{} names {forbidden}", p.display());
        }
    }
}

/// The README's performance table is a committed run's bench.md (scripts/readme-perf.sh pastes it), never typed.
#[test]
fn readme_performance_table_is_a_committed_runs_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let begin = readme.find("<!-- perf:begin ").expect("README.md has no `<!-- perf:begin DIR ...-->` marker");
    let rest = &readme[begin + "<!-- perf:begin ".len()..];
    let dir = rest.split_whitespace().next().expect("the marker names the run folder");
    let body_start = rest.find("-->\n").expect("marker closes") + 4;
    let body_end = rest.find("<!-- perf:end -->").expect("README.md has no `<!-- perf:end -->` marker");
    let table = std::fs::read_to_string(root().join(dir).join("bench.md"))
        .unwrap_or_else(|e| panic!("{dir}/bench.md (named by README.md's perf marker): {e}"));
    assert_eq!(
        &rest[body_start..body_end],
        table,
        "README.md's table differs from {dir}/bench.md: run scripts/readme-perf.sh {dir}"
    );
    // Run folders under reports/ are ignored by git unless added with -f, so a table pasted from an uncommitted run
    // passes here and fails in a fresh clone: ask git, where this is a checkout.
    if root().join(".git").exists() {
        let tracked = std::process::Command::new("git")
            .args(["ls-files", "--error-unmatch", &format!("{dir}/bench.md")])
            .current_dir(root())
            .output();
        if let Ok(out) = tracked {
            assert!(out.status.success(), "{dir}/bench.md is not committed: git add -f {dir}/bench.md {dir}/bench.csv");
        }
    }
}
