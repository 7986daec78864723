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

mod manager;
mod path;
mod writes;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use notify::event::{AccessKind, EventKind};

use manager::Manager;
use path::{key_of, normalize};
use tokio::sync::Notify;
use writes::Writes;

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

/// Whether nobody said yet that a file is polled for want of a watch: said once for all
/// files (ten thousand files past the watch limit are one note).
pub fn first_without_watch() -> bool {
    static SAID: AtomicBool = AtomicBool::new(false);
    !SAID.swap(true, Ordering::Relaxed)
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
    /// Directories as written, normalized (a thousand files in one directory resolve it once,
    /// and share its name).
    dirs: Mutex<HashMap<PathBuf, Arc<Path>>>,
    /// The instance that wakes followers for writes to their open files (none where it could
    /// not start).
    writes: OnceLock<Option<Arc<Writes>>>,
}

#[derive(Default)]
struct Registry {
    /// Directories that hold followed files, by normalized path.
    dirs: HashMap<Arc<Path>, Dir>,
    /// Paths watched through notify.
    watches: HashMap<PathBuf, WatchEntry>,
    /// Set when inotify could not be started at all.
    broken: bool,
}

struct Dir {
    /// The subscriptions by the name they follow (the empty name: a directory's own, which
    /// wake for any name), so that an event costs the same with ten or ten thousand files.
    subs: HashMap<Arc<OsStr>, Vec<Arc<Hint>>>,
    /// How many there are.
    count: usize,
    /// File subscriptions that wake for any name for now (`Subscription::set_any_name`).
    any: Vec<Arc<Hint>>,
    /// The watched path serving this directory: itself, or its nearest existing ancestor.
    watched: Option<PathBuf>,
    poll: Option<PollReason>,
}

struct WatchEntry {
    refs: usize,
    /// (device, inode) of the directory when the watch was added; [`GONE`] once notify has
    /// dropped the watch itself.
    id: (u64, u64),
    /// How many directories rely on this watch while they do not exist.
    waiting: usize,
}

/// The id of a watch that notify dropped on its own: a directory deleted or moved away loses its
/// watch, and a directory made again at once may get the same inode number back, so the id alone
/// would not tell that the watch must be added again.
const GONE: (u64, u64) = (u64::MAX, u64::MAX);

/// What a subscriber waits on.
#[derive(Default)]
struct Hint {
    notify: Notify,
    /// Wake for events on any name in the directory (while a renamed file is still drained).
    any_name: AtomicBool,
    /// Wake only for names that appear, go or move (a directory listing's changes).
    names_only: bool,
    poll: AtomicU8,
    /// A watch of [`Writes`] wakes this subscriber for writes to the file it reads.
    writes: AtomicBool,
    /// How many hints to look at the name (anything but a write) there were.
    looks: AtomicU64,
    /// One more than `looks` was when the subscriber last found that its name still leads to
    /// the file it reads (0: not so). While no hint to look at the name came since, notify's
    /// report of a write there is passed over: the watch of [`Writes`] reported it first.
    settled_at: AtomicU64,
}

impl Hint {
    /// Wakes the subscriber to look at its name again.
    fn wake(&self) {
        self.looks.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Wakes the subscriber for notify's report of a write, unless a watch of [`Writes`] on
    /// the file the name still leads to has reported it.
    fn wake_for_write(&self) {
        if self.writes.load(Ordering::SeqCst)
            && self.settled_at.load(Ordering::SeqCst) == self.looks.load(Ordering::SeqCst) + 1
        {
            return;
        }
        self.notify.notify_one();
    }

    /// The watch of [`Writes`] is gone: notify's reports of writes wake the subscriber again.
    fn without_writes(&self) {
        self.writes.store(false, Ordering::SeqCst);
    }
}

enum Request {
    Resolve(PathBuf),
    Release(PathBuf, bool),
}

/// One file's subscription; dropping it unsubscribes.
pub struct Subscription {
    shared: Arc<Shared>,
    hint: Arc<Hint>,
    /// The keys registered: the path itself, and the target of a symlink.
    keys: Vec<Key>,
    /// The watch of [`Writes`] on the file read, if any.
    writes_wd: Option<i32>,
    /// Whether the file read had its chance of such a watch (or there is no file).
    writes_tried: bool,
}

/// What a subscription is registered under: a normalized directory and a name in it (empty: the
/// directory's own names). Shared with the registry, not copied: ten thousand files in one
/// directory hold one copy of its path and one of each name.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    dir: Arc<Path>,
    name: Arc<OsStr>,
}

impl Key {
    fn new((dir, name): (PathBuf, OsString)) -> Key {
        Key { dir: dir.into(), name: name.into() }
    }

    /// A directory's own key (its names).
    fn dir(dir: PathBuf) -> Key {
        Key::new((dir, OsString::new()))
    }
}

impl DirWatch {
    /// Sets up inotify now, before sources take descriptors (otherwise it starts with the first
    /// subscription).
    pub fn start(&self) {
        self.shared.manager();
        self.shared.writes();
    }

    /// Subscribes to changes of the file at `path` (which need not exist).
    pub fn subscribe(&self, path: &Path) -> Subscription {
        // Room for the one key most files have (a symlink's target is a second).
        let keys = Vec::with_capacity(1);
        let mut sub = Subscription {
            shared: self.shared.clone(),
            hint: Arc::default(),
            keys,
            writes_wd: None,
            writes_tried: true,
        };
        sub.add_key(self.shared.key_of(path));
        sub
    }

    /// Subscribes to the names in directory `dir` (which need not exist): wakes when a file
    /// appears in it, goes or is renamed, not when files change.
    pub fn subscribe_dir(&self, dir: &Path) -> Subscription {
        let hint = Hint { any_name: AtomicBool::new(true), names_only: true, ..Hint::default() };
        let mut sub = Subscription {
            shared: self.shared.clone(),
            hint: Arc::new(hint),
            keys: Vec::new(),
            writes_wd: None,
            writes_tried: true,
        };
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        sub.add_key(Key::dir(normalize(&abs)));
        sub
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

    fn add_key(&mut self, Key { dir, name }: Key) {
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

impl Shared {
    /// The instance for writes, started on first use (on the runtime).
    fn writes(&self) -> Option<&Arc<Writes>> {
        self.writes.get_or_init(Writes::start).as_ref()
    }

    fn request(self: &Arc<Self>, req: Request) {
        // The manager lives as long as the process.
        let _ = lock(self.manager()).send(req);
    }

    /// The manager thread's queue, starting it (and inotify) on first use.
    fn manager(self: &Arc<Self>) -> &Mutex<mpsc::Sender<Request>> {
        self.manager.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            // inotify is set up here, on the caller's thread, so that it exists once this
            // returns.
            let manager = Manager::new(self.clone());
            std::thread::Builder::new()
                .name("mux-tail watch".into())
                .spawn(move || manager.run(rx))
                .expect("cannot start the watch thread");
            Mutex::new(tx)
        })
    }

    /// Called on notify's thread for every event.
    fn dispatch(self: &Arc<Self>, event: notify::Result<notify::Event>) {
        yield_to_readers();
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
        let write = matches!(
            event.kind,
            EventKind::Modify(notify::event::ModifyKind::Data(_))
                | EventKind::Access(AccessKind::Close(notify::event::AccessMode::Write))
        );
        let names = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(notify::event::ModifyKind::Name(_))
                | EventKind::Other
        );
        // notify drops its watch of a directory that is deleted or moved away (seen from the
        // directory itself or from its parent).
        let dropped = matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        let mut resolve = Vec::new();
        {
            let mut reg = lock(&self.reg);
            for path in &event.paths {
                if dropped {
                    if let Some(watch) = reg.watches.get_mut(path) {
                        watch.id = GONE;
                    }
                }
                reg.dispatch_path(path, names, write, &mut resolve);
            }
        }
        for dir in resolve {
            self.request(Request::Resolve(dir));
        }
    }

    fn wake_all(&self) {
        let reg = lock(&self.reg);
        for dir in reg.dirs.values() {
            for hint in dir.hints() {
                hint.wake();
            }
        }
    }
}

impl Dir {
    /// Every subscription's hint.
    fn hints(&self) -> impl Iterator<Item = &Arc<Hint>> {
        self.subs.values().flatten()
    }
}

impl Registry {
    /// Wakes the subscribers an event on `path` concerns; `names` says whether a name
    /// appeared, went or moved, `write` whether the event is a write to the file.
    fn dispatch_path(&self, path: &Path, names: bool, write: bool, resolve: &mut Vec<PathBuf>) {
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            if let Some(dir) = self.dirs.get(parent) {
                if dir.watched.as_deref() == Some(parent) {
                    let by_name = dir.subs.get(name).into_iter().flatten();
                    let any = dir.subs.get(OsStr::new("")).into_iter().flatten().chain(&dir.any);
                    for hint in by_name.chain(any) {
                        if names || !hint.names_only {
                            if write {
                                hint.wake_for_write();
                            } else {
                                hint.wake();
                            }
                        }
                    }
                }
            }
            // Something appeared (or went) below a watched ancestor of a missing directory.
            if self.watches.get(parent).is_some_and(|w| w.waiting > 0) {
                for (key, dir) in &self.dirs {
                    if dir.watched.as_deref() == Some(parent)
                        && **key != *parent
                        && key.starts_with(path)
                    {
                        resolve.push(key.to_path_buf());
                    }
                }
            }
        }
        // An event on a watched directory itself: it may have been deleted, moved or replaced.
        // The directory of that name is looked at too, even if the manager has not yet recorded
        // that its own watch serves it (it may be just doing so).
        if self.watches.contains_key(path) {
            for (key, dir) in &self.dirs {
                if dir.watched.as_deref() == Some(path) || **key == *path {
                    resolve.push(key.to_path_buf());
                }
            }
        }
    }
}

/// Makes notify's thread (the caller) give way to the runtime: a write to a followed file wakes
/// both (notify's directory watch sees it too, and passes over it), and the one that reads the
/// line must not wait for a CPU behind the one that does nothing with it.
fn yield_to_readers() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !DONE.replace(true) {
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE);
    }
}

/// The niceness of notify's thread.
const NICE: i32 = 10;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
impl Shared {
    /// [`key_of`], with the directory's normalization remembered.
    fn key_of(&self, path: &Path) -> Key {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Key::new(key_of(path));
        };
        if name == ".." || name == "." {
            return Key::new(key_of(path));
        }
        let known = lock(&self.dirs).get(parent).cloned();
        let dir = known.unwrap_or_else(|| {
            let (dir, _) = key_of(&parent.join("x"));
            let dir: Arc<Path> = dir.into();
            lock(&self.dirs).insert(parent.to_path_buf(), dir.clone());
            dir
        });
        Key { dir, name: name.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    const DEADLINE: Duration = Duration::from_secs(30);

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// Waits for hints until `cond` holds (a hint says "look again", nothing more).
    async fn wait_until(sub: &Subscription, what: &str, cond: impl Fn() -> bool) {
        let waited = tokio::time::timeout(DEADLINE, async {
            while !cond() {
                sub.changed().await;
            }
        });
        waited.await.unwrap_or_else(|_| panic!("no hint for {what}"));
    }

    /// Waits until `cond` holds, looking every few milliseconds (for the registry's own state,
    /// which changes without a hint of its own).
    async fn wait_state(what: &str, cond: impl Fn() -> bool) {
        let end = tokio::time::Instant::now() + DEADLINE;
        while !cond() {
            assert!(tokio::time::Instant::now() < end, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Whether `hint` holds a wake (taking it).
    fn woken(hint: &Hint) -> bool {
        let notified = std::pin::pin!(hint.notify.notified());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        notified.poll(&mut cx).is_ready()
    }

    #[test]
    fn notify_s_report_of_a_write_is_passed_over_only_while_the_name_is_settled() {
        let hint = Hint::default();
        // No watch of our own: every report wakes.
        hint.wake_for_write();
        assert!(woken(&hint));
        hint.writes.store(true, Ordering::SeqCst);
        // Not settled yet.
        hint.wake_for_write();
        assert!(woken(&hint));
        // A look found the name leading to the file read: its watch reports the writes.
        let mark = hint.looks.load(Ordering::SeqCst);
        hint.settled_at.store(mark + 1, Ordering::SeqCst);
        hint.wake_for_write();
        assert!(!woken(&hint));
        // A name changed: writes wake again, even if a look that began before says it settled.
        hint.wake();
        assert!(woken(&hint));
        hint.settled_at.store(mark + 1, Ordering::SeqCst);
        hint.wake_for_write();
        assert!(woken(&hint), "a look from before the name changed must not settle it");
        // The watch went away: notify's reports wake.
        let mark = hint.looks.load(Ordering::SeqCst);
        hint.settled_at.store(mark + 1, Ordering::SeqCst);
        hint.without_writes();
        hint.wake_for_write();
        assert!(woken(&hint));
    }

    #[test]
    fn a_write_wakes_through_the_runtime_s_own_watch_of_the_file_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.log");
        std::fs::write(&path, "").unwrap();
        runtime().block_on(async {
            let watch = DirWatch::default();
            watch.start();
            let mut sub = watch.subscribe(&path);
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("the watch is in place");
            let file = std::fs::File::open(&path).unwrap();
            sub.set_file(Some(file.as_fd()));
            sub.watch_writes(file.as_fd());
            assert!(sub.writes_wd.is_some());
            let mark = sub.mark();
            sub.settled(mark, true);
            sub.forget_pending();
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap()
                .write_all(b"x\n")
                .unwrap();
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("a hint for the write");
            // A writer through a shared mapping raises only a close.
            sub.settled(sub.mark(), true);
            sub.forget_pending();
            drop(std::fs::OpenOptions::new().append(true).open(&path).unwrap());
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("a hint for the close");
            // The watch goes with the file.
            let writes = watch.shared.writes().unwrap().clone();
            assert_eq!(writes.watched(), 1);
            sub.set_file(None);
            assert_eq!(writes.watched(), 0);
        });
    }

    #[test]
    fn a_write_to_the_file_wakes_its_subscriber() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a.log");
        std::fs::write(&file, "").unwrap();
        runtime().block_on(async {
            let watch = DirWatch::default();
            let sub = watch.subscribe(&file);
            // The first hint says the watch is in place.
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("the watch is in place");
            assert_eq!(sub.poll_reason(), None);
            std::fs::write(&file, "x\n").unwrap();
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("a hint for the write");
        });
    }

    #[test]
    fn a_file_in_a_directory_made_later_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("later/deeper/a.log");
        runtime().block_on(async {
            let watch = DirWatch::default();
            let sub = watch.subscribe(&file);
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("the watch is in place");
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, "x\n").unwrap();
            wait_until(&sub, "the new file", || file.exists()).await;
            // The directory's own watch takes over from its ancestor's.
            let dir = normalize(file.parent().unwrap());
            let watched =
                || lock(&watch.shared.reg).dirs.get(dir.as_path()).and_then(|d| d.watched.clone());
            wait_until(&sub, "the directory's own watch", || watched() == Some(dir.clone())).await;
        });
    }

    #[test]
    fn a_directory_deleted_and_made_again_is_watched_again() {
        // Made again at once, a directory often gets its old inode number back: the watch must
        // be renewed all the same.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let file = dir.join("a.log");
        std::fs::create_dir(&dir).unwrap();
        runtime().block_on(async {
            let watch = DirWatch::default();
            let sub = watch.subscribe(&file);
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("the watch is in place");
            let key = normalize(&dir);
            let watched =
                || lock(&watch.shared.reg).watches.get(&key).is_some_and(|w| w.id != GONE);
            for round in 0..20 {
                std::fs::remove_dir_all(&dir).unwrap();
                wait_state("the deletion", || !watched()).await;
                std::fs::create_dir(&dir).unwrap();
                let state = || {
                    let reg = lock(&watch.shared.reg);
                    let dirs: Vec<_> = reg
                        .dirs
                        .iter()
                        .map(|(k, d)| (k.clone(), d.watched.clone(), d.poll))
                        .collect();
                    let watches: Vec<_> = reg
                        .watches
                        .iter()
                        .map(|(k, w)| (k.clone(), w.refs, w.id, w.waiting))
                        .collect();
                    format!("round {round}: dirs {dirs:?} watches {watches:?}")
                };
                let end = tokio::time::Instant::now() + DEADLINE;
                while !watched() {
                    assert!(tokio::time::Instant::now() < end, "{}", state());
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // The watch is real: a write in the new directory wakes the subscriber.
                std::fs::write(&file, format!("{round}\n")).unwrap();
                tokio::time::timeout(DEADLINE, sub.changed()).await.expect("a hint for the write");
            }
        });
    }

    #[test]
    fn a_directory_subscription_wakes_for_new_names() {
        let tmp = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let watch = DirWatch::default();
            let sub = watch.subscribe_dir(tmp.path());
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("the watch is in place");
            std::fs::write(tmp.path().join("new.log"), "x\n").unwrap();
            tokio::time::timeout(DEADLINE, sub.changed()).await.expect("a hint for the new name");
        });
    }

    #[test]
    fn the_last_subscription_of_a_directory_takes_its_watch_away() {
        let tmp = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let watch = DirWatch::default();
            let a = watch.subscribe(&tmp.path().join("a.log"));
            let b = watch.subscribe(&tmp.path().join("b.log"));
            tokio::time::timeout(DEADLINE, a.changed()).await.expect("the watch is in place");
            let watches = || lock(&watch.shared.reg).watches.len();
            assert_eq!(watches(), 1, "one watch per directory");
            drop(a);
            assert_eq!(watches(), 1, "b still needs it");
            drop(b);
            let end = std::time::Instant::now() + DEADLINE;
            while watches() != 0 {
                assert!(std::time::Instant::now() < end, "the watch was never removed");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(lock(&watch.shared.reg).dirs.is_empty());
        });
    }
}
