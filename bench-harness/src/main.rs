//! `snnbench`: parses the command line, installs the log subscriber, runs the command, prints its summary, and on
//! error prints the whole cause chain and exits non-zero.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    give_the_loader_a_runtime_dir();
    let cli = bench_harness::cli::Cli::parse();
    let level = if cli.quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let quiet = cli.quiet;
    match bench_harness::cli::run(cli) {
        Ok(summary) => {
            if !quiet && !summary.is_empty() {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Without `XDG_RUNTIME_DIR`, libraries that probe for a desktop session (OpenGL through EGL, which burn's wgpu
/// backend tries when Vulkan offers only a software adapter) print "error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment." — harmless for compute, but it reads as a failure. When the variable is unset (or not a folder),
/// `snnbench` re-executes itself, same pid and arguments, with the variable pointing at a private folder
/// ([`bench_harness::results::run::private_runtime_dir`]). Setting the variable in this process would need `unsafe`.
fn give_the_loader_a_runtime_dir() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| std::path::Path::new(&v).is_dir()) {
            return;
        }
        let (Some(dir), Ok(exe)) = (bench_harness::results::run::private_runtime_dir(), std::env::current_exe()) else {
            return;
        };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(argv0) = args.next() {
            cmd.arg0(argv0);
        }
        // `exec` returns only when it failed: then go on without the variable.
        let _ = cmd.args(args).env("XDG_RUNTIME_DIR", dir).exec();
    }
}
