//! `snnbench`: parses the command line, installs the log subscriber, runs the command, prints its summary, and on
//! error prints the whole cause chain and exits non-zero.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
