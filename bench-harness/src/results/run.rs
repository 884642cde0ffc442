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

/// What a measurement ran on, for the row that carries it (reports quote this instead of a remembered description):
/// the CPU's model name, the CPUs this process may use, the widest vector unit it has, the clock `/proc/cpuinfo`
/// reports and the OS, e.g. `Intel(R) Xeon(R) Processor; 2 CPUs; AVX-512; 2.60 GHz; Debian GNU/Linux 12 (bookworm)`.
/// Parts the system does not say are left out. Read once per process.
pub fn host_description() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let mut parts = vec![cpuinfo_field("model name").unwrap_or_else(|| std::env::consts::ARCH.to_string())];
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        parts.push(format!("{cpus} CPU{}", if cpus == 1 { "" } else { "s" }));
        parts.push(vector_unit().to_string());
        if let Some(mhz) = cpu_mhz() {
            parts.push(format!("{:.2} GHz", mhz / 1e3));
        }
        let os = std::fs::read_to_string("/etc/os-release").ok().and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim().trim_matches('"').to_string())
        });
        parts.extend(os.filter(|o| !o.is_empty()));
        parts.join("; ")
    })
    .clone()
}

/// The value of the first `key : value` line of /proc/cpuinfo, when it has one.
fn cpuinfo_field(key: &str) -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The clock /proc/cpuinfo reports, MHz.
pub fn cpu_mhz() -> Option<f64> {
    cpuinfo_field("cpu MHz")?.parse().ok()
}

/// The width of the widest SIMD unit this CPU has, bits (what the floor's peak counts lanes of).
pub fn simd_bits() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return 256;
        }
    }
    128
}

/// The widest SIMD unit this CPU has, by name.
fn vector_unit() -> &'static str {
    match simd_bits() {
        512 => "AVX-512",
        #[cfg(target_arch = "x86_64")]
        256 if std::arch::is_x86_feature_detected!("fma") => "AVX2 + FMA",
        256 => "AVX2",
        _ if cfg!(target_arch = "x86_64") => "SSE",
        _ => std::env::consts::ARCH,
    }
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

/// A command's progress: a bar when stderr is a terminal, plain lines when it is a file or a pipe (CI, nohup:
/// one line when a unit of work starts, then at most every tenth of the way or every minute, and one when it ends),
/// nothing when quiet. Safe to advance from several threads.
#[derive(Debug)]
pub struct Progress(Inner);

#[derive(Debug)]
enum Inner {
    Hidden,
    Bar(indicatif::ProgressBar),
    Lines(std::sync::Mutex<Lines>),
}

/// The state of a progress written as lines.
#[derive(Debug)]
struct Lines {
    msg: String,
    len: u64,
    pos: u64,
    start: std::time::Instant,
    last: std::time::Instant,
    /// The last tenth of the way a line was written for.
    tenth: u64,
    started: bool,
    ended: bool,
    /// Whether to estimate the time left (not where the units take very different times).
    eta: bool,
}

impl Lines {
    /// The line for the current state: `chip_eprop: 12,000/50,820 (24 %), 1 min 02 s, ~3 min 16 s left`.
    fn line(&self) -> String {
        let el = self.start.elapsed().as_secs_f64();
        let mut s = format!("{}: {}", self.msg, self.pos);
        if self.len > 0 {
            let f = self.pos as f64 / self.len as f64;
            s += &format!("/{} ({:.0} %), {}", self.len, 100.0 * f, duration(el));
            if self.eta && f > 0.0 && f < 1.0 {
                s += &format!(", ~{} left", duration(el * (1.0 - f) / f));
            }
        } else {
            s += &format!(", {}", duration(el));
        }
        s
    }

    fn advanced(&mut self) {
        if self.ended {
            return;
        }
        if !self.started {
            self.started = true;
            let len = if self.len > 0 { format!(" ({} to do)", self.len) } else { String::new() };
            draw(&format!("{}: started{len}", self.msg));
            self.last = std::time::Instant::now();
            return;
        }
        let tenth = (10 * self.pos).checked_div(self.len).unwrap_or(0);
        let since = self.last.elapsed().as_secs_f64();
        if (tenth > self.tenth && since >= 5.0) || since >= 60.0 {
            self.tenth = tenth;
            self.last = std::time::Instant::now();
            if self.pos < self.len || self.len == 0 {
                draw(&self.line());
            }
        }
    }

    fn end(&mut self, how: &str) {
        if !self.ended && self.started {
            self.ended = true;
            let after = duration(self.start.elapsed().as_secs_f64());
            if self.len == 0 {
                draw(&format!("{}: {how} after {after}", self.msg));
            } else {
                draw(&format!("{}: {how} at {}/{} after {after}", self.msg, self.pos, self.len));
            }
        }
    }
}

/// How a progress written as lines draws (to stderr, where a bar would be drawn; never a command's result).
fn draw(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Seconds as `42 s`, `3 min 05 s` or `1 h 02 min`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

impl Progress {
    fn with(&self, bar: impl FnOnce(&indicatif::ProgressBar), lines: impl FnOnce(&mut Lines)) {
        match &self.0 {
            Inner::Hidden => {}
            Inner::Bar(b) => bar(b),
            Inner::Lines(m) => lines(&mut m.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        self.with(
            |b| b.inc(n),
            |l| {
                l.pos += n;
                l.advanced()
            },
        );
    }

    /// Moves to `pos` (e.g. where a resumed run starts).
    pub fn set_position(&self, pos: u64) {
        self.with(
            |b| b.set_position(pos),
            |l| {
                l.pos = pos;
                l.advanced()
            },
        );
    }

    /// Sets the total.
    pub fn set_length(&self, len: u64) {
        self.with(|b| b.set_length(len), |l| l.len = len);
    }

    /// Replaces the message.
    pub fn set_message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        self.with(|b| b.set_message(msg.clone()), |l| l.msg = msg.clone());
    }

    /// Stops where it is (an error or an interruption), leaving the bar on screen.
    pub fn abandon(&self) {
        self.with(|b| b.abandon(), |l| l.end("stopped"));
    }

    /// Ends the unit of work (the bar is removed; the lines say it is done).
    pub fn finish_and_clear(&self) {
        self.with(|b| b.finish_and_clear(), |l| l.end("done"));
    }
}

/// A progress for `len` units of work named `msg`: see [`Progress`].
pub fn progress(quiet: bool, len: u64, msg: &str) -> Progress {
    progress_with(quiet, len, msg, true)
}

/// [`progress`] with or without an estimate of the time left.
fn progress_with(quiet: bool, len: u64, msg: &str, eta: bool) -> Progress {
    use std::io::IsTerminal;
    if quiet {
        return Progress(Inner::Hidden);
    }
    if !std::io::stderr().is_terminal() {
        let now = std::time::Instant::now();
        return Progress(Inner::Lines(std::sync::Mutex::new(Lines {
            msg: msg.to_string(),
            len,
            pos: 0,
            start: now,
            last: now,
            tenth: 0,
            started: false,
            ended: false,
            eta,
        })));
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(if eta {
            "{msg:28} {bar:40} {pos}/{len} [{elapsed} < {eta}]"
        } else {
            "{msg:28} {bar:40} {pos}/{len} [{elapsed}]"
        })
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(msg.to_string());
    Progress(Inner::Bar(bar))
}

/// A progress that shows only once its work turns out to have units, without an estimate of the time left: compiling
/// kernels ahead ([`kernels::compile_ahead`]), which has nothing to do when the driver's cache already holds them and
/// whose kernels take from seconds to minutes each.
#[derive(Debug)]
struct LazyProgress {
    quiet: bool,
    msg: String,
    bar: std::sync::OnceLock<Progress>,
}

impl LazyProgress {
    /// Nothing is shown until [`LazyProgress::set`].
    fn new(quiet: bool, msg: &str) -> Self {
        Self { quiet, msg: msg.to_string(), bar: std::sync::OnceLock::new() }
    }

    /// `done` of `total` units (the first call shows the progress). Safe from several threads.
    fn set(&self, done: usize, total: usize) {
        // No estimate of the time left: the units (kernels) take from seconds to minutes each.
        let bar = self.bar.get_or_init(|| progress_with(self.quiet, total as u64, &self.msg, false));
        bar.set_position(done as u64);
    }

    /// Ends it, if it was shown.
    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// Runs `compile` (a [`kernels::compile_ahead`] call) with a report that shows as a progress of its own: on a CPU
/// adapter the first run of a network compiles for minutes, and a command must not look stuck meanwhile.
pub fn with_kernel_compile_progress<R>(quiet: bool, compile: impl FnOnce(kernels::CompileReport) -> R) -> R {
    let bar = LazyProgress::new(quiet, "compiling WGSL kernels (cached for later runs)");
    let out = compile(&|done, total| bar.set(done, total));
    bar.finish();
    out
}

/// A private runtime folder for this user, `<tmp>/snnbench-runtime-<uid>` (mode 0700, created once and reused), or
/// `None` when it cannot be made ours alone. `snnbench` hands it to libraries that want `XDG_RUNTIME_DIR`.
pub fn private_runtime_dir() -> Option<std::path::PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let dir = std::env::temp_dir().join(format!("snnbench-runtime-{uid}"));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        // A folder (not a link) of ours that nobody else can enter.
        let m = std::fs::symlink_metadata(&dir).ok()?;
        (m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0).then_some(dir)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_is_named_by_what_the_system_says() {
        let host = super::host_description();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(host.contains(&format!("{cpus} CPU")), "{host}");
        // On Linux the CPU's model name and the OS come from the system, not from a default.
        if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo")
            && let Some(model) = info.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':'))
        {
            assert!(host.starts_with(model.1.trim()), "{host}");
        }
        if let Ok(os) = std::fs::read_to_string("/etc/os-release")
            && let Some(name) = os.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))
        {
            assert!(host.ends_with(name.trim_matches('"')), "{host}");
        }
    }
}
