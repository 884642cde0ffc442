//! One process per run folder: `reproduce`, `train` and a sweep's cells hold `<folder>/.snnbench.lock` while they
//! write there. The file names its holder (host, pid) and is rewritten every [`HEARTBEAT`] while held, so a second
//! process — on this machine or another node sharing the folder — refuses with one line naming the holder, and a
//! lock left by a killed process is taken over: on this host when its pid is gone, anywhere when its heartbeat is
//! older than [`STALE_AFTER`].

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".snnbench.lock";
/// How often a holder rewrites its lock.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// A lock whose heartbeat is older than this is taken over (a holder on another node that died).
pub const STALE_AFTER: Duration = Duration::from_secs(90);

/// Who holds a lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

impl Holder {
    fn me() -> Self {
        Self { host: super::run::machine_name(), pid: std::process::id() }
    }

    fn parse(text: &str) -> Option<Self> {
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k).map(str::trim).map(str::to_string));
        Some(Self { host: field("host=")?, pid: field("pid=")?.parse().ok()? })
    }

    fn text(&self) -> String {
        format!("host={}\npid={}\n", self.host, self.pid)
    }
}

/// The error of a folder another live process holds.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} is in use by pid {} on {} (lock {}); wait for it to finish, or stop that process and run again",
    dir.display(),
    holder.pid,
    holder.host,
    lock.display()
)]
pub struct Locked {
    /// The folder.
    pub dir: PathBuf,
    /// Its holder.
    pub holder: Holder,
    /// The lock file.
    pub lock: PathBuf,
}

/// A held lock; released (the file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl RunLock {
    /// Takes the lock of `dir` (creating the folder), or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let me = Holder::me();
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(me.text().as_bytes())?;
                    return Ok(Self::held(path, me));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    match Holder::parse(&text) {
                        Some(h) if !stale(&h, &me, age) => {
                            return Err(Locked { dir: dir.to_path_buf(), holder: h, lock: path }.into());
                        }
                        // Half-written (the holder died between create and write) or stale: take it over.
                        None if age < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(200)),
                        h => {
                            tracing::warn!(
                                "{}: taking over a lock left by {} (no longer running)",
                                dir.display(),
                                h.map_or("an unknown process".into(), |h| format!("pid {} on {}", h.pid, h.host))
                            );
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("{}: cannot create the lock", path.display())),
            }
        }
        bail!("{}: could not take the lock after three tries; is another process starting there?", path.display())
    }

    fn held(path: PathBuf, me: Holder) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (path.clone(), stop.clone());
        let heartbeat = std::thread::Builder::new()
            .name("run-lock-heartbeat".into())
            .spawn(move || {
                let tick = Duration::from_millis(250);
                let mut waited = Duration::ZERO;
                while !s.load(Ordering::SeqCst) {
                    std::thread::sleep(tick);
                    waited += tick;
                    if waited >= HEARTBEAT {
                        waited = Duration::ZERO;
                        // Only while the file is still ours (a takeover elsewhere wrote another holder).
                        if std::fs::read_to_string(&p).ok().and_then(|t| Holder::parse(&t)).as_ref() == Some(&me) {
                            let _ = std::fs::write(&p, me.text());
                        }
                    }
                }
            })
            .ok();
        Self { path, stop, heartbeat }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        if std::fs::read_to_string(&self.path).ok().and_then(|t| Holder::parse(&t)) == Some(Holder::me()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The holder of `dir`'s lock when it is held by a live process (for `sweep status`).
pub fn holder(dir: &Path) -> Option<Holder> {
    let path = dir.join(LOCK_FILE);
    let h = Holder::parse(&std::fs::read_to_string(&path).ok()?)?;
    let age = std::fs::metadata(&path).ok()?.modified().ok()?.elapsed().unwrap_or_default();
    (!stale(&h, &Holder::me(), age)).then_some(h)
}

fn stale(h: &Holder, me: &Holder, age: Duration) -> bool {
    if age > STALE_AFTER {
        return true;
    }
    // On this host a pid that is gone or a zombie (killed, not yet reaped), or this very process (a lock left by an
    // earlier run under a reused pid), is dead.
    h.host == me.host && (h.pid == me.pid || !alive(h.pid))
}

/// Whether process `pid` runs on this host (Linux: /proc; elsewhere assumed alive, so only the heartbeat frees it).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // `pid (comm) S ...`: the state letter follows the last ')'.
        Ok(stat) => {
            stat.rsplit_once(')').and_then(|(_, r)| r.trim_start().chars().next()).is_some_and(|s| s != 'Z' && s != 'X')
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_by_name_and_the_lock_goes_with_its_holder() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // A live process on this host that is not us: our parent.
        let other = Holder { host: super::super::run::machine_name(), pid: std::os::unix::process::parent_id() };
        std::fs::write(dir.path().join(LOCK_FILE), other.text())?;
        let err = RunLock::acquire(dir.path()).expect_err("a live holder was ignored").to_string();
        assert!(err.contains(&format!("pid {}", other.pid)) && err.contains(&other.host), "{err}");
        assert!(!err.contains('\n'));
        // A dead pid on this host is taken over; the lock is ours until dropped.
        std::fs::write(dir.path().join(LOCK_FILE), Holder { pid: u32::MAX - 1, ..other }.text())?;
        let lock = RunLock::acquire(dir.path())?;
        assert_eq!(holder(dir.path()), None, "our own lock counts as ours, not another's");
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        Ok(())
    }

    #[test]
    fn another_hosts_lock_is_honoured_until_its_heartbeat_stops() {
        let h = Holder { host: "elsewhere".into(), pid: 1 };
        let me = Holder::me();
        assert!(!stale(&h, &me, Duration::from_secs(10)));
        assert!(stale(&h, &me, STALE_AFTER + Duration::from_secs(1)));
    }
}
