//! What sources leave in the world and must take back on every way out: Unix socket files and
//! the process groups of commands.
//!
//! A source registers here when it creates such a thing and unregisters when it undoes it
//! itself (detached, ended). [`run`] undoes whatever is left; it is called when the program ends,
//! whichever way (the panic hook included), and is idempotent.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::process::{
    kill_process_group, test_kill_process_group, waitpgid, Pid, Signal, WaitOptions,
};

/// How long commands get to end after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Left {
    /// Socket files: path, and the (device, inode) created, so that a file someone else put
    /// there since is left alone.
    sockets: Vec<(PathBuf, (u64, u64))>,
    /// Process groups of commands still running.
    groups: Vec<i32>,
}

static LEFT: Mutex<Left> = Mutex::new(Left { sockets: Vec::new(), groups: Vec::new() });

fn left() -> MutexGuard<'static, Left> {
    LEFT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a socket file just created at `path`.
pub fn add_socket(path: PathBuf) {
    if let Ok(m) = std::fs::symlink_metadata(&path) {
        left().sockets.push((path, (m.dev(), m.ino())));
    }
}

/// Removes the socket file at `path` (if it is still ours) and forgets it.
pub fn remove_socket(path: &std::path::Path) {
    let mut left = left();
    if let Some(i) = left.sockets.iter().position(|(p, _)| p == path) {
        let (path, id) = left.sockets.swap_remove(i);
        remove_if_ours(&path, id);
    }
}

fn remove_if_ours(path: &std::path::Path, id: (u64, u64)) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == id) {
        let _ = std::fs::remove_file(path);
    }
}

/// Registers the process group of a command just started.
pub fn add_group(pgid: i32) {
    left().groups.push(pgid);
}

/// Forgets a process group (its command ended, or it was terminated).
pub fn forget_group(pgid: i32) {
    left().groups.retain(|&g| g != pgid);
}

/// Whether any process of group `pgid` is still there (reaping those of ours that ended).
pub fn group_alive(pgid: i32) -> bool {
    let Some(p) = Pid::from_raw(pgid) else { return false };
    while let Ok(Some(_)) = waitpgid(p, WaitOptions::NOHANG) {}
    test_kill_process_group(p).is_ok()
}

/// Asks the whole group to end (SIGTERM).
pub fn terminate_group(pgid: i32) {
    if let Some(p) = Pid::from_raw(pgid) {
        let _ = kill_process_group(p, Signal::TERM);
    }
}

/// Ends the whole group at once (SIGKILL).
pub fn kill_group(pgid: i32) {
    if let Some(p) = Pid::from_raw(pgid) {
        let _ = kill_process_group(p, Signal::KILL);
    }
}

/// Undoes everything still registered: socket files removed, command groups terminated (killed
/// after [`GRACE`]).
pub fn run() {
    let Left { sockets, groups } = std::mem::take(&mut *left());
    for (path, id) in sockets {
        remove_if_ours(&path, id);
    }
    for &g in &groups {
        terminate_group(g);
    }
    let end = Instant::now() + GRACE;
    while groups.iter().any(|&g| group_alive(g)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    for g in groups {
        kill_group(g);
    }
}
