//! The one directory watcher shared by every followed file.
//!
//! A followed file subscribes by path; this module watches its parent directory (one inotify
//! watch per directory, through `notify`, however many files live there) and wakes the
//! subscriber when an event names its file. Events are only hints: the subscriber then asks
//! `stat` what really happened. A directory that does not exist yet (or was deleted) is served by
//! a watch on its nearest existing ancestor until it appears. Where events cannot be trusted (a
//! remote or FUSE file system, or no inotify watch left) the subscriber is told to poll instead.
//!
//! Watches are added and removed only by a manager thread: notify's event thread must never wait
//! on its own watch calls, so it merely dispatches events and queues directories to re-resolve.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use notify::event::{AccessKind, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

/// How often a file whose events cannot be trusted is checked.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why a subscription polls instead of waiting for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollReason {
    /// The file lives on a remote or FUSE file system, where inotify misses other hosts' writes.
    RemoteFs,
    /// The inotify watch limit is reached (or inotify is unavailable).
    NoWatch,
}

impl PollReason {
    fn code(reason: Option<PollReason>) -> u8 {
        match reason {
            None => 0,
            Some(PollReason::RemoteFs) => 1,
            Some(PollReason::NoWatch) => 2,
        }
    }

    fn from_code(code: u8) -> Option<PollReason> {
        match code {
            1 => Some(PollReason::RemoteFs),
            2 => Some(PollReason::NoWatch),
            _ => None,
        }
    }
}

/// The directory watcher; cheap to clone, shared by all file sources.
#[derive(Clone, Default)]
pub struct DirWatch {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    reg: Mutex<Registry>,
    manager: OnceLock<Mutex<mpsc::Sender<Request>>>,
    /// Directories as written, normalized (a thousand files in one directory resolve it once).
    dirs: Mutex<HashMap<PathBuf, PathBuf>>,
}

#[derive(Default)]
struct Registry {
    /// Directories that hold followed files, by normalized path.
    dirs: HashMap<PathBuf, Dir>,
    /// Paths watched through notify.
    watches: HashMap<PathBuf, WatchEntry>,
    /// Set when inotify could not be started at all.
    broken: bool,
}

struct Dir {
    subs: Vec<(OsString, Arc<Hint>)>,
    /// The watched path serving this directory: itself, or its nearest existing ancestor.
    watched: Option<PathBuf>,
    poll: Option<PollReason>,
}

struct WatchEntry {
    refs: usize,
    /// (device, inode) of the directory when the watch was added.
    id: (u64, u64),
    /// How many directories rely on this watch while they do not exist.
    waiting: usize,
}

/// What a subscriber waits on.
#[derive(Default)]
struct Hint {
    notify: Notify,
    /// Wake for events on any name in the directory (while a renamed file is still drained).
    any_name: AtomicBool,
    /// Wake only for names that appear, go or move (a directory listing's changes).
    names_only: bool,
    poll: AtomicU8,
}

enum Request {
    Resolve(PathBuf),
    Release(PathBuf, bool),
}

/// One file's subscription; dropping it unsubscribes.
pub struct Subscription {
    shared: Arc<Shared>,
    hint: Arc<Hint>,
    /// (directory, name) pairs registered: the path itself, and the target of a symlink.
    keys: Vec<(PathBuf, OsString)>,
}

impl DirWatch {
    /// Subscribes to changes of the file at `path` (which need not exist).
    pub fn subscribe(&self, path: &Path) -> Subscription {
        let mut sub =
            Subscription { shared: self.shared.clone(), hint: Arc::default(), keys: Vec::new() };
        sub.add_key(self.shared.key_of(path));
        sub
    }

    /// Subscribes to the names in directory `dir` (which need not exist): wakes when a file
    /// appears in it, goes or is renamed, not when files change.
    pub fn subscribe_dir(&self, dir: &Path) -> Subscription {
        let hint = Hint { any_name: AtomicBool::new(true), names_only: true, ..Hint::default() };
        let mut sub =
            Subscription { shared: self.shared.clone(), hint: Arc::new(hint), keys: Vec::new() };
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        sub.add_key((normalize(&abs), OsString::new()));
        sub
    }
}

impl Subscription {
    /// Waits for the next hint that the file may have changed.
    ///
    /// Cancel-safe: a hint that arrives while nobody waits is kept for the next call.
    pub async fn changed(&self) {
        if self.poll_reason().is_some() {
            tokio::select! {
                _ = self.hint.notify.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        } else {
            self.hint.notify.notified().await;
        }
    }

    /// Why this file is polled, if it is.
    pub fn poll_reason(&self) -> Option<PollReason> {
        PollReason::from_code(self.hint.poll.load(Ordering::Relaxed))
    }

    /// Also wake for events on other names in the file's directory (used while the file's old
    /// inode, renamed away, is still being read).
    pub fn set_any_name(&self, on: bool) {
        self.hint.any_name.store(on, Ordering::Relaxed);
    }

    /// Also watch `target` (the file a symlink points to), replacing any earlier target.
    pub fn set_target(&mut self, target: Option<&Path>) {
        let wanted = target.map(key_of);
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

    fn add_key(&mut self, (dir, name): (PathBuf, OsString)) {
        let new_dir = {
            let mut reg = lock(&self.shared.reg);
            let broken = reg.broken;
            let entry = reg.dirs.entry(dir.clone()).or_insert_with(|| Dir {
                subs: Vec::new(),
                watched: None,
                poll: broken.then_some(PollReason::NoWatch),
            });
            entry.subs.push((name.clone(), self.hint.clone()));
            let poll = entry.poll;
            self.hint.poll.store(PollReason::code(poll), Ordering::Relaxed);
            entry.subs.len() == 1
        };
        if new_dir {
            self.shared.request(Request::Resolve(dir.clone()));
        }
        self.keys.push((dir, name));
    }

    fn remove_key(&self, (dir, name): (PathBuf, OsString)) {
        let mut reg = lock(&self.shared.reg);
        let Some(entry) = reg.dirs.get_mut(&dir) else {
            return;
        };
        entry.subs.retain(|(n, h)| !(n == &name && Arc::ptr_eq(h, &self.hint)));
        if entry.subs.is_empty() {
            let entry = reg.dirs.remove(&dir).expect("entry exists");
            if let Some(watched) = entry.watched {
                let waiting = watched != dir;
                drop(reg);
                self.shared.request(Request::Release(watched, waiting));
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        for key in std::mem::take(&mut self.keys) {
            self.remove_key(key);
        }
    }
}

impl Shared {
    fn request(self: &Arc<Self>, req: Request) {
        let sender = self.manager.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            let shared = self.clone();
            std::thread::Builder::new()
                .name("mux-tail watch".into())
                .spawn(move || Manager::new(shared).run(rx))
                .expect("cannot start the watch thread");
            Mutex::new(tx)
        });
        // The manager lives as long as the process.
        let _ = lock(sender).send(req);
    }

    /// Called on notify's thread for every event.
    fn dispatch(self: &Arc<Self>, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(_) => return self.wake_all(),
        };
        if event.need_rescan() {
            return self.wake_all();
        }
        if matches!(
            event.kind,
            EventKind::Access(AccessKind::Open(_) | AccessKind::Read | AccessKind::Close(_))
        ) && !matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(notify::event::AccessMode::Write))
        ) {
            return;
        }
        let names = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(notify::event::ModifyKind::Name(_))
                | EventKind::Other
        );
        let mut resolve = Vec::new();
        {
            let reg = lock(&self.reg);
            for path in &event.paths {
                reg.dispatch_path(path, names, &mut resolve);
            }
        }
        for dir in resolve {
            self.request(Request::Resolve(dir));
        }
    }

    fn wake_all(&self) {
        let reg = lock(&self.reg);
        for dir in reg.dirs.values() {
            for (_, hint) in &dir.subs {
                hint.notify.notify_one();
            }
        }
    }
}

impl Registry {
    /// Wakes the subscribers an event on `path` concerns; `names` says whether a name
    /// appeared, went or moved.
    fn dispatch_path(&self, path: &Path, names: bool, resolve: &mut Vec<PathBuf>) {
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            if let Some(dir) = self.dirs.get(parent) {
                if dir.watched.as_deref() == Some(parent) {
                    for (sub_name, hint) in &dir.subs {
                        let named = sub_name == name || hint.any_name.load(Ordering::Relaxed);
                        if named && (names || !hint.names_only) {
                            hint.notify.notify_one();
                        }
                    }
                }
            }
            // Something appeared (or went) below a watched ancestor of a missing directory.
            if self.watches.get(parent).is_some_and(|w| w.waiting > 0) {
                for (key, dir) in &self.dirs {
                    if dir.watched.as_deref() == Some(parent)
                        && key != parent
                        && key.starts_with(path)
                    {
                        resolve.push(key.clone());
                    }
                }
            }
        }
        // An event on a watched directory itself: it may have been deleted, moved or replaced.
        if self.watches.contains_key(path) {
            for (key, dir) in &self.dirs {
                if dir.watched.as_deref() == Some(path) {
                    resolve.push(key.clone());
                }
            }
        }
    }
}

/// The thread that owns the notify watcher and adds and removes its watches.
struct Manager {
    shared: Arc<Shared>,
    watcher: Option<RecommendedWatcher>,
}

impl Manager {
    fn new(shared: Arc<Shared>) -> Manager {
        let handler = {
            let shared = shared.clone();
            move |event| shared.dispatch(event)
        };
        let watcher = RecommendedWatcher::new(handler, notify::Config::default()).ok();
        if watcher.is_none() {
            lock(&shared.reg).broken = true;
        }
        Manager { shared, watcher }
    }

    fn run(mut self, rx: mpsc::Receiver<Request>) {
        for req in rx {
            match req {
                Request::Resolve(dir) => self.resolve(&dir),
                Request::Release(path, waiting) => self.release(&path, waiting),
            }
        }
    }

    /// Makes sure `dir` is served by a watch on itself or its nearest existing ancestor, then
    /// wakes its subscribers so that they look again.
    fn resolve(&mut self, dir: &Path) {
        for _attempt in 0..8 {
            let Some(current) = lock(&self.shared.reg).dirs.get(dir).map(|d| d.watched.clone())
            else {
                return; // unsubscribed meanwhile
            };
            let (target, id) = nearest_existing(dir);
            let poll = if is_remote(&target) {
                Some(PollReason::RemoteFs)
            } else if self.watcher.is_none() {
                Some(PollReason::NoWatch)
            } else {
                None
            };
            if poll.is_some() {
                if let Some(old) = current {
                    self.release(&old, old != dir);
                }
                return self.set(dir, None, poll);
            }
            if current.as_deref() == Some(&target) && self.is_current(&target, id) {
                return self.set(dir, current, None);
            }
            match self.acquire(&target, id, target != dir) {
                Ok(()) => {
                    if let Some(old) = current {
                        // Same path with a renewed watch keeps its one reference.
                        self.release(&old, old != dir);
                    }
                    let ancestor = target != dir;
                    self.set(dir, Some(target.clone()), None);
                    // A directory created below the ancestor before its watch was in place
                    // sent no event: look again now that the watch is there.
                    if ancestor && nearest_existing(dir).0 != target {
                        continue;
                    }
                    return;
                }
                // The directory went away between the look and the watch: look again.
                Err(None) => continue,
                Err(Some(reason)) => {
                    if let Some(old) = current {
                        self.release(&old, old != dir);
                    }
                    return self.set(dir, None, Some(reason));
                }
            }
        }
        self.set(dir, None, Some(PollReason::NoWatch));
    }

    /// Records how `dir` is served and wakes its subscribers.
    fn set(&mut self, dir: &Path, watched: Option<PathBuf>, poll: Option<PollReason>) {
        let mut reg = lock(&self.shared.reg);
        let Some(entry) = reg.dirs.get_mut(dir) else {
            // Unsubscribed while the watch was being added: give it back.
            drop(reg);
            if let Some(w) = watched {
                self.release(&w, w != dir);
            }
            return;
        };
        entry.watched = watched;
        entry.poll = poll;
        for (_, hint) in &entry.subs {
            hint.poll.store(PollReason::code(poll), Ordering::Relaxed);
            hint.notify.notify_one();
        }
    }

    /// Whether the watch on `path` (if any) is still on the same directory.
    fn is_current(&self, path: &Path, id: (u64, u64)) -> bool {
        lock(&self.shared.reg).watches.get(path).is_some_and(|w| w.id == id)
    }

    /// Takes one reference on a watch of `path`, adding (or renewing) the watch as needed.
    ///
    /// Fails with the reason to poll instead, or with `None` when the directory vanished.
    fn acquire(
        &mut self,
        path: &Path,
        id: (u64, u64),
        waiting: bool,
    ) -> Result<(), Option<PollReason>> {
        let existing = lock(&self.shared.reg).watches.get(path).map(|w| w.id);
        let watcher = self.watcher.as_mut().ok_or(Some(PollReason::NoWatch))?;
        if existing != Some(id) {
            if existing.is_some() {
                let _ = watcher.unwatch(path);
            }
            if let Err(e) = watcher.watch(path, RecursiveMode::NonRecursive) {
                if existing.is_some() {
                    lock(&self.shared.reg).watches.remove(path);
                }
                return Err(match e.kind {
                    notify::ErrorKind::PathNotFound => None,
                    _ => Some(PollReason::NoWatch),
                });
            }
        }
        let mut reg = lock(&self.shared.reg);
        let entry =
            reg.watches.entry(path.to_path_buf()).or_insert(WatchEntry { refs: 0, id, waiting: 0 });
        entry.id = id;
        entry.refs += 1;
        entry.waiting += usize::from(waiting);
        Ok(())
    }

    /// Drops one reference on the watch of `path`, removing the watch with the last one.
    fn release(&mut self, path: &Path, waiting: bool) {
        let unwatch = {
            let mut reg = lock(&self.shared.reg);
            let Some(entry) = reg.watches.get_mut(path) else {
                return;
            };
            entry.refs -= 1;
            entry.waiting -= usize::from(waiting);
            entry.refs == 0 && reg.watches.remove(path).is_some()
        };
        if let (true, Some(watcher)) = (unwatch, self.watcher.as_mut()) {
            // The watch may already be gone with its directory.
            let _ = watcher.unwatch(path);
        }
    }
}

/// The (directory, name) key for a file path: the directory made absolute and normalized.
fn key_of(path: &Path) -> (PathBuf, OsString) {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let name = abs.file_name().map(OsStr::to_os_string).unwrap_or_default();
    let dir = abs.parent().map(normalize).unwrap_or_else(|| PathBuf::from("/"));
    (dir, name)
}

impl Shared {
    /// [`key_of`], with the directory's normalization remembered.
    fn key_of(&self, path: &Path) -> (PathBuf, OsString) {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return key_of(path);
        };
        if name == ".." || name == "." {
            return key_of(path);
        }
        let known = lock(&self.dirs).get(parent).cloned();
        let dir = known.unwrap_or_else(|| {
            let (dir, _) = key_of(&parent.join("x"));
            lock(&self.dirs).insert(parent.to_path_buf(), dir.clone());
            dir
        });
        (dir, name.to_os_string())
    }
}

/// Resolves symlinks and `..` in the part of `dir` that exists, so that one directory always has
/// one key (notify reports events under the path it was given).
fn normalize(dir: &Path) -> PathBuf {
    let mut existing = dir.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name().map(OsStr::to_os_string), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => {
                // Only `..` and roots left: fall back to lexical clean-up.
                let mut out = PathBuf::new();
                for c in dir.components() {
                    match c {
                        Component::ParentDir => {
                            out.pop();
                        }
                        Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                return out;
            }
        }
    }
}

/// The nearest directory at or above `dir` that exists, with its (device, inode).
fn nearest_existing(dir: &Path) -> (PathBuf, (u64, u64)) {
    let mut p = dir;
    loop {
        if let Ok(m) = std::fs::metadata(p) {
            if m.is_dir() {
                return (p.to_path_buf(), (m.dev(), m.ino()));
            }
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return (PathBuf::from("/"), (0, 0)),
        }
    }
}

/// Whether `path` is on a file system where inotify does not see every change.
fn is_remote(path: &Path) -> bool {
    // Magic numbers from statfs(2): file systems whose files other hosts (or a user-space
    // server) can change without the local kernel knowing.
    const REMOTE: &[u64] = &[
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x6573_5546, // FUSE
        0x0102_1997, // 9P
        0x00C3_6400, // Ceph
        0x0BD0_0BD0, // Lustre
        0x5346_414F, // AFS
        0x6B41_4653, // kAFS
        0x7375_7245, // Coda
        0x0116_1970, // GFS2
        0x7461_636F, // OCFS2
        0x4750_4653, // GPFS
    ];
    match rustix::fs::statfs(path) {
        #[allow(clippy::unnecessary_cast)]
        Ok(fs) => REMOTE.contains(&(fs.f_type as u64 & 0xFFFF_FFFF)),
        Err(_) => false,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
