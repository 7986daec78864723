//! A followed file's subscription to the directory watcher, and the hint it waits on.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use super::path::{key_of, normalize};
#[cfg(doc)]
use super::writes::Writes;
use super::{lock, Dir, PollReason, Request, Shared, POLL_INTERVAL};

/// What a subscriber waits on.
#[derive(Default)]
pub(super) struct Hint {
    pub(super) notify: Notify,
    /// Wake for events on any name in the directory (while a renamed file is still drained).
    pub(super) any_name: AtomicBool,
    /// Wake only for names that appear, go or move (a directory listing's changes).
    pub(super) names_only: bool,
    pub(super) poll: AtomicU8,
    /// A watch of [`Writes`] wakes this subscriber for writes to the file it reads.
    pub(super) writes: AtomicBool,
    /// How many hints to look at the name (anything but a write) there were.
    pub(super) looks: AtomicU64,
    /// One more than `looks` was when the subscriber last found that its name still leads to
    /// the file it reads (0: not so). While no hint to look at the name came since, notify's
    /// report of a write there is passed over: the watch of [`Writes`] reported it first.
    pub(super) settled_at: AtomicU64,
}

impl Hint {
    /// Wakes the subscriber to look at its name again.
    pub(super) fn wake(&self) {
        self.looks.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Wakes the subscriber for notify's report of a write, unless a watch of [`Writes`] on
    /// the file the name still leads to has reported it.
    pub(super) fn wake_for_write(&self) {
        if self.writes.load(Ordering::SeqCst)
            && self.settled_at.load(Ordering::SeqCst) == self.looks.load(Ordering::SeqCst) + 1
        {
            return;
        }
        self.notify.notify_one();
    }

    /// The watch of [`Writes`] is gone: notify's reports of writes wake the subscriber again.
    pub(super) fn without_writes(&self) {
        self.writes.store(false, Ordering::SeqCst);
    }
}

/// One file's subscription; dropping it unsubscribes.
pub struct Subscription {
    pub(super) shared: Arc<Shared>,
    pub(super) hint: Arc<Hint>,
    /// The keys registered: the path itself, and the target of a symlink.
    pub(super) keys: Vec<Key>,
    /// The watch of [`Writes`] on the file read, if any.
    pub(super) writes_wd: Option<i32>,
    /// Whether the file read had its chance of such a watch (or there is no file).
    pub(super) writes_tried: bool,
}

/// What a subscription is registered under: a normalized directory and a name in it (empty: the
/// directory's own names). Shared with the registry, not copied: ten thousand files in one
/// directory hold one copy of its path and one of each name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) dir: Arc<Path>,
    pub(super) name: Arc<OsStr>,
}

impl Key {
    pub(super) fn new((dir, name): (PathBuf, OsString)) -> Key {
        Key { dir: dir.into(), name: name.into() }
    }

    /// A directory's own key (its names).
    pub(super) fn dir(dir: PathBuf) -> Key {
        Key::new((dir, OsString::new()))
    }
}

impl Subscription {
    /// Waits for the next hint that the file may have changed.
    ///
    /// Cancel-safe: a hint that arrives while nobody waits is kept for the next call.
    pub async fn changed(&self) {
        if self.poll_reason().is_some() {
            // Boxed: a timer is large, and ten thousand waiting files mostly need none.
            let tick = Box::pin(tokio::time::sleep(POLL_INTERVAL));
            tokio::select! {
                _ = self.hint.notify.notified() => {}
                _ = tick => {}
            }
        } else {
            self.hint.notify.notified().await;
        }
    }

    /// Drops a hint that came while the file was being woken for an earlier one: what it
    /// reports happened before now, so the look that follows sees it. (A write is often two
    /// events, a change and a close: one look, not two.)
    pub fn forget_pending(&self) {
        let notified = std::pin::pin!(self.hint.notify.notified());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // Ready: a stored hint was taken. Pending: there was none (and dropping unregisters).
        let _ = notified.poll(&mut cx);
    }

    /// `file` is now the file read under the name (`None`: no file is read): the watch for the
    /// writes to the one before goes; [`Subscription::watch_writes`] gives this one its own.
    pub fn set_file(&mut self, file: Option<std::os::fd::BorrowedFd<'_>>) {
        self.hint.writes.store(false, Ordering::SeqCst);
        self.hint.settled_at.store(0, Ordering::SeqCst);
        if let (Some(wd), Some(Some(writes))) = (self.writes_wd.take(), self.shared.writes.get()) {
            writes.remove(wd, &self.hint);
        }
        self.writes_tried = file.is_none();
    }

    /// Wakes for writes to `file` (the file read, which just changed) through a watch of its
    /// own from now on. Once per file: a file that is never written to costs no watch, and ten
    /// thousand files start as fast as before.
    pub fn watch_writes(&mut self, file: std::os::fd::BorrowedFd<'_>) {
        if std::mem::replace(&mut self.writes_tried, true) {
            return;
        }
        if let Some(writes) = self.shared.writes() {
            self.writes_wd = writes.add(file, &self.hint);
            self.hint.writes.store(self.writes_wd.is_some(), Ordering::SeqCst);
        }
    }

    /// Where the hints stand before a look at the name: given to [`Subscription::settled`]
    /// once the look is over.
    pub fn mark(&self) -> u64 {
        self.hint.looks.load(Ordering::SeqCst)
    }

    /// Says what the look that began at `mark` found: `true`, that the name leads to the file
    /// read (set with [`Subscription::set_file`]), so notify's reports of writes to it may be
    /// passed over until a hint to look at the name comes.
    pub fn settled(&self, mark: u64, settled: bool) {
        let at = if settled { mark + 1 } else { 0 };
        self.hint.settled_at.store(at, Ordering::SeqCst);
    }

    /// Why this file is polled, if it is.
    pub fn poll_reason(&self) -> Option<PollReason> {
        PollReason::from_code(self.hint.poll.load(Ordering::Relaxed))
    }

    /// Also wake for events on other names in the file's directory (used while the file's old
    /// inode, renamed away, is still being read).
    pub fn set_any_name(&self, on: bool) {
        if self.hint.any_name.swap(on, Ordering::Relaxed) == on {
            return;
        }
        let mut reg = lock(&self.shared.reg);
        for Key { dir, name } in &self.keys {
            if let Some(entry) = reg.dirs.get_mut(dir).filter(|_| !name.is_empty()) {
                entry.any.retain(|h| !Arc::ptr_eq(h, &self.hint));
                if on {
                    entry.any.push(self.hint.clone());
                }
            }
        }
    }

    /// Also wakes for the names in each of `dirs` (a glob's directories under its root), and
    /// no longer for those of an earlier call that are not among them; the directory this was
    /// subscribed with stays. True when a directory was added.
    pub fn set_dirs(&mut self, dirs: &[PathBuf]) -> bool {
        let first = self.keys.first().cloned();
        let wanted: std::collections::HashSet<Key> = dirs
            .iter()
            .map(|d| {
                let abs = std::path::absolute(d).unwrap_or_else(|_| d.clone());
                Key::dir(normalize(&abs))
            })
            .filter(|k| Some(k) != first.as_ref())
            .collect();
        let old: Vec<_> = self.keys.drain(1.min(self.keys.len())..).collect();
        let mut added = false;
        for key in &old {
            if !wanted.contains(key) {
                self.remove_key(key.clone());
            }
        }
        let had: std::collections::HashSet<_> = old.into_iter().collect();
        for key in wanted {
            if had.contains(&key) {
                self.keys.push(key);
            } else {
                self.add_key(key);
                added = true;
            }
        }
        added
    }

    /// Also watch `target` (the file a symlink points to), replacing any earlier target.
    pub fn set_target(&mut self, target: Option<&Path>) {
        let wanted = target.map(|t| Key::new(key_of(t)));
        if self.keys.get(1) == wanted.as_ref() {
            return;
        }
        while self.keys.len() > 1 {
            let key = self.keys.pop().expect("checked length");
            self.remove_key(key);
        }
        if let Some(target) = target {
            let key = self.shared.key_of(target);
            self.add_key(key);
        }
    }

    pub(super) fn add_key(&mut self, Key { dir, name }: Key) {
        let new_dir = {
            let mut reg = lock(&self.shared.reg);
            let broken = reg.broken;
            let entry = reg.dirs.entry(dir.clone()).or_insert_with(|| Dir {
                subs: HashMap::new(),
                count: 0,
                any: Vec::new(),
                watched: None,
                poll: broken.then_some(PollReason::NoWatch),
            });
            entry.subs.entry(name.clone()).or_default().push(self.hint.clone());
            entry.count += 1;
            if !name.is_empty() && self.hint.any_name.load(Ordering::Relaxed) {
                entry.any.push(self.hint.clone());
            }
            let poll = entry.poll;
            self.hint.poll.store(PollReason::code(poll), Ordering::Relaxed);
            entry.count == 1
        };
        if new_dir {
            self.shared.request(Request::Resolve(dir.to_path_buf()));
        }
        self.keys.push(Key { dir, name });
    }

    fn remove_key(&self, Key { dir, name }: Key) {
        let mut reg = lock(&self.shared.reg);
        let Some(entry) = reg.dirs.get_mut(&dir) else {
            return;
        };
        let mine = |h: &Arc<Hint>| Arc::ptr_eq(h, &self.hint);
        if let Some(hints) = entry.subs.get_mut(&name) {
            if let Some(at) = hints.iter().position(mine) {
                hints.swap_remove(at);
                entry.count -= 1;
            }
            if hints.is_empty() {
                entry.subs.remove(&name);
            }
        }
        entry.any.retain(|h| !mine(h));
        if entry.count == 0 {
            let entry = reg.dirs.remove(&dir).expect("entry exists");
            if let Some(watched) = entry.watched {
                let waiting = *watched != *dir;
                drop(reg);
                self.shared.request(Request::Release(watched, waiting));
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let (Some(wd), Some(Some(writes))) = (self.writes_wd, self.shared.writes.get()) {
            writes.remove(wd, &self.hint);
        }
        for key in std::mem::take(&mut self.keys) {
            self.remove_key(key);
        }
    }
}
