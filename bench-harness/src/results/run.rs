//! What every run folder shares: today's date and this machine's name (for default folder names), the git revision
//! every result row carries, and progress bars (hidden when quiet; drawn only by commands, never by libraries'
//! inner loops on their own).

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// This machine's host name, made safe for a folder name.
pub fn machine_name() -> String {
    let raw = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "machine".into());
    let s: String = raw.trim().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if s.is_empty() { "machine".into() } else { s }
}

/// The source revision this binary was built from (baked in by `build.rs`: the commit, `-dirty` when tracked files
/// differed, `unknown` outside a checkout); `SNNBENCH_GIT_REV` overrides it (e.g. for a binary built from a tree whose
/// `.git` is elsewhere). Read at build time, not run time: a binary run while the working tree moves on still names
/// the code it was made from.
pub fn git_revision() -> String {
    if let Ok(rev) = std::env::var("SNNBENCH_GIT_REV")
        && !rev.trim().is_empty()
    {
        return rev.trim().to_string();
    }
    env!("SNNBENCH_BUILD_REV").to_string()
}

/// A progress bar (hidden when quiet).
pub fn progress(quiet: bool, len: u64, msg: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:28} {bar:40} {pos}/{len} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(msg.to_string());
    bar
}
