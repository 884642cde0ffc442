//! Bakes the source revision into the binary (`SNNBENCH_BUILD_REV`): the commit the build was made from, `-dirty`
//! when tracked files differed from it, `unknown` outside a git checkout. Result rows carry it, so they name the code
//! that made them — not whatever the working tree holds when the binary runs.

use std::path::Path;
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).parent().unwrap_or(Path::new(".")).to_path_buf();
    let rev = match git(&root, &["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&root, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev}-dirty") } else { rev }
        }
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=SNNBENCH_BUILD_REV={rev}");
    // Again when the commit or the index moves, or any source of the workspace changes.
    if let Some(git_dir) = git(&root, &["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        println!("cargo:rerun-if-changed={git_dir}/index");
        if let Some(r) = git(&root, &["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={git_dir}/{r}");
        }
    }
    for dir in ["models", "kernels", "bench-harness/src", "burn-baseline", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
}
