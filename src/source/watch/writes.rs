//! Writes to the files being read wake their followers straight from the runtime's thread.
//!
//! notify reads its inotify instance on a thread of its own, so a line written to a file would
//! wake two threads in turn (notify's, then the runtime) before it is read. The file a follower
//! reads, once it changes, also gets a watch in an inotify instance of our own, read on the
//! runtime, for `IN_MODIFY` and `IN_CLOSE_WRITE` (all that a writer through a shared mapping
//! raises): a write then wakes the follower at once, as `tail -F`'s single wake-up does. notify's
//! directory watches stay the source of every other event (names that appear, go or move), and
//! its report of a write to a file watched here is passed over while the follower knows the name
//! still leads to that file (see [`super::subscription::Hint`]).
//!
//! The watch is added through `/proc/self/fd/N`, so it is on the very file the follower has
//! open, whatever its name leads to meanwhile. Watches are a per-user resource shared with
//! notify's: this instance takes at most half of the limit, and a file without a watch here is
//! woken by notify as before.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use rustix::fs::inotify;
use tokio::io::unix::AsyncFd;

use super::{lock, Hint};

/// The instance and who waits on each of its watches.
pub(super) struct Writes {
    fd: AsyncFd<OwnedFd>,
    state: Mutex<State>,
}

struct State {
    /// The followers of each watched file (the same file followed twice has one watch).
    by_wd: HashMap<i32, Vec<Arc<Hint>>>,
    /// How many more watches this instance may take.
    room: usize,
    /// The instance failed: nobody reads it any more.
    dead: bool,
}

/// The bytes of an event on a file (no name follows).
const EVENT: usize = std::mem::size_of::<i32>() + 3 * std::mem::size_of::<u32>();

impl Writes {
    /// Starts the instance and its reader on the current runtime (which must have I/O enabled,
    /// as every runtime of mux-tail has); `None` where inotify (or a runtime) is not available:
    /// notify's events then wake every follower.
    pub(super) fn start() -> Option<Arc<Writes>> {
        tokio::runtime::Handle::try_current().ok()?;
        let fd =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).ok()?;
        // SAFETY: the descriptor is owned by the AsyncFd, open for as long as it lives.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()?;
        let room = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(8192)
            / 2;
        let writes = Arc::new(Writes {
            fd,
            state: Mutex::new(State { by_wd: HashMap::new(), room, dead: false }),
        });
        tokio::spawn(writes.clone().run());
        Some(writes)
    }

    /// Wakes `hint` on every write to `file` from now on; the watch's descriptor, or `None`
    /// when there is no watch left.
    pub(super) fn add(&self, file: BorrowedFd<'_>, hint: &Arc<Hint>) -> Option<i32> {
        let mut state = lock(&self.state);
        if state.room == 0 || state.dead {
            return None;
        }
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let mask = inotify::WatchFlags::MODIFY | inotify::WatchFlags::CLOSE_WRITE;
        let wd = inotify::add_watch(self.fd.get_ref(), path, mask).ok()?;
        let hints = state.by_wd.entry(wd).or_default();
        let new = hints.is_empty();
        hints.push(hint.clone());
        if new {
            state.room -= 1;
        }
        Some(wd)
    }

    /// `hint` no longer waits on watch `wd`; the last one to go removes the watch.
    pub(super) fn remove(&self, wd: i32, hint: &Arc<Hint>) {
        let mut state = lock(&self.state);
        let Some(hints) = state.by_wd.get_mut(&wd) else {
            return;
        };
        if let Some(at) = hints.iter().position(|h| Arc::ptr_eq(h, hint)) {
            hints.swap_remove(at);
        }
        if hints.is_empty() {
            state.by_wd.remove(&wd);
            state.room += 1;
            // Already gone if the kernel dropped it (its file system went away).
            let _ = inotify::remove_watch(self.fd.get_ref(), wd);
        }
    }

    /// How many files are watched.
    #[cfg(test)]
    pub(super) fn watched(&self) -> usize {
        lock(&self.state).by_wd.len()
    }

    /// Reads the events as they come and wakes the followers they concern.
    async fn run(self: Arc<Self>) {
        // Room for many events per read.
        let mut buf = [0u8; 4096];
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
                return self.give_up();
            };
            let n = match rustix::io::read(self.fd.get_ref().as_fd(), &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::AGAIN) => {
                    ready.clear_ready();
                    continue;
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return self.give_up(),
            };
            // A read that left room for more took everything there was: no read just to hear
            // that there is nothing (a new event makes the descriptor ready again).
            if n + EVENT + 256 < buf.len() {
                ready.clear_ready();
            }
            drop(ready);
            self.wake(&buf[..n]);
        }
    }

    /// Wakes the followers of the events in `bytes` (whole events, as inotify reads them).
    fn wake(&self, mut bytes: &[u8]) {
        let mut state = lock(&self.state);
        while bytes.len() >= EVENT {
            let field = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4"));
            let wd = field(0) as i32;
            let mask = field(4);
            let len = field(12) as usize;
            bytes = &bytes[(EVENT + len).min(bytes.len())..];
            if mask & inotify::ReadFlags::QUEUE_OVERFLOW.bits() != 0 {
                // Events were lost (a watch the kernel dropped may be among them): every
                // follower looks, and notify's reports wake them from now on.
                for hint in state.by_wd.values().flatten() {
                    hint.without_writes();
                    hint.notify.notify_one();
                }
                continue;
            }
            if mask & inotify::ReadFlags::IGNORED.bits() != 0 {
                // The kernel dropped the watch (the file's file system went away): notify wakes
                // these followers from now on.
                let Some(hints) = state.by_wd.remove(&wd) else {
                    continue;
                };
                state.room += 1;
                for hint in hints {
                    hint.without_writes();
                    hint.notify.notify_one();
                }
                continue;
            }
            for hint in state.by_wd.get(&wd).into_iter().flatten() {
                hint.notify.notify_one();
            }
        }
    }

    /// The instance failed: notify wakes every follower from now on.
    fn give_up(&self) {
        let mut state = lock(&self.state);
        state.dead = true;
        for hint in state.by_wd.values().flatten() {
            hint.without_writes();
            hint.notify.notify_one();
        }
    }
}
