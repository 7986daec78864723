//! Running out of file descriptors: a wait, never an end.
//!
//! When opening a file or accepting a connection fails with `EMFILE` or `ENFILE`, the source
//! holds a [`Starved`] guard and waits with [`freed`] until descriptors may be free again: one
//! of mux-tail's own closes (a file read to its end, a deleted file let go, a source detached,
//! a connection closed), or, since other processes share the system's table, a retry every
//! second while it waits. One source says so; the others wait quietly until the episode is over
//! (no source is starved any more), which the last one says.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Notify;

/// How often a starved source tries again when nothing of mux-tail's closed meanwhile.
pub const RETRY: Duration = Duration::from_secs(1);

/// Sources waiting for a descriptor right now.
static STARVED: AtomicUsize = AtomicUsize::new(0);

/// The user was told of this episode.
static NOTED: AtomicBool = AtomicBool::new(false);

/// Woken when mux-tail closes a descriptor that a starved source could use.
static FREED: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Whether `e` says the process (`EMFILE`) or the system (`ENFILE`) has no descriptor left.
pub fn exhausted(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Says that descriptors were closed: starved sources try again.
pub fn released() {
    if STARVED.load(Ordering::Relaxed) > 0 {
        FREED.notify_waiters();
    }
}

/// Waits until a descriptor may be free: one was released, or [`RETRY`] passed.
pub async fn freed() {
    let _ = tokio::time::timeout(RETRY, FREED.notified()).await;
}

/// A source counted as waiting for a descriptor, for as long as the guard lives.
#[derive(Debug)]
pub struct Starved(());

impl Starved {
    /// Counts a source as starved.
    pub fn start() -> Starved {
        STARVED.fetch_add(1, Ordering::Relaxed);
        Starved(())
    }

    /// Whether the user is still to be told of this episode: true for one caller only.
    pub fn tell(&self) -> bool {
        !NOTED.swap(true, Ordering::Relaxed)
    }

    /// Ends the wait; true when it was the last source waiting of an episode the user was told
    /// of (it is over, and can be said so).
    pub fn release(self) -> bool {
        let last = STARVED.load(Ordering::Relaxed) == 1;
        let told = NOTED.load(Ordering::Relaxed);
        drop(self);
        last && told
    }
}

impl Drop for Starved {
    fn drop(&mut self) {
        if STARVED.fetch_sub(1, Ordering::Relaxed) == 1 {
            NOTED.store(false, Ordering::Relaxed);
        }
    }
}

/// What the user is told when an episode starts.
pub fn note() -> String {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let limit = limit.map(|n| format!(" (limit {n})")).unwrap_or_default();
    format!(
        "out of file descriptors{limit}: this and every other file or directory that cannot be \
         opened waits, and is opened as descriptors free up"
    )
}

/// What the user is told when an episode is over.
pub const OVER: &str = "descriptors free again: every file that waited for one is open";
