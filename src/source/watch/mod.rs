//! The one directory watcher shared by every followed file.
//!
//! A followed file subscribes by path; this module watches its parent directory (one inotify
//! watch per directory, through `notify`, however many files live there) and wakes the
//! subscriber when an event names its file. Events are only hints: the subscriber then asks
//! `stat` what really happened. A directory that does not exist yet (or was deleted) is served by
//! a watch on its nearest existing ancestor until it appears. Where events cannot be trusted (a
//! remote or FUSE file system, or no inotify watch left) the subscriber is told to poll instead.
//!
//! Watches are added and removed only by a manager thread (`manager.rs`): notify's event thread
//! must never wait on its own watch calls, so it merely dispatches events (`dispatch.rs`) and
//! queues directories to re-resolve. A follower's side is its `Subscription` (`subscription.rs`).

mod dispatch;
mod manager;
mod path;
mod subscription;
mod writes;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use manager::Manager;
use path::{key_of, normalize};
pub use subscription::Subscription;
use subscription::{Hint, Key};
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

impl Dir {
    /// Every subscription's hint.
    fn hints(&self) -> impl Iterator<Item = &Arc<Hint>> {
        self.subs.values().flatten()
    }
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

enum Request {
    Resolve(PathBuf),
    Release(PathBuf, bool),
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
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
