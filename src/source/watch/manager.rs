//! The thread that adds and removes notify's watches: notify's event thread must never wait on
//! its own watch calls, so it only dispatches events and queues directories to look at again.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::path::{is_remote, nearest_existing};
use super::{lock, PollReason, Request, Shared, WatchEntry, GONE};

/// The thread that owns the notify watcher and adds and removes its watches.
pub struct Manager {
    shared: Arc<Shared>,
    watcher: Option<RecommendedWatcher>,
}

impl Manager {
    pub fn new(shared: Arc<Shared>) -> Manager {
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

    pub fn run(mut self, rx: mpsc::Receiver<Request>) {
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
        for hint in entry.hints() {
            hint.poll.store(PollReason::code(poll), Ordering::Relaxed);
            hint.wake();
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
                // The old watch is gone, but the directories that held it still do (and give
                // it back in turn): the entry stays, marked so that the next look watches anew.
                if let Some(entry) = lock(&self.shared.reg).watches.get_mut(path) {
                    entry.id = GONE;
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
            // Each reference is given back once, as it was taken (the counts never go below
            // zero; a slip must not end the watch thread, which serves every source).
            debug_assert!(entry.refs > 0 && entry.waiting >= usize::from(waiting), "{path:?}");
            entry.refs = entry.refs.saturating_sub(1);
            entry.waiting = entry.waiting.saturating_sub(usize::from(waiting));
            entry.refs == 0 && reg.watches.remove(path).is_some()
        };
        if let (true, Some(watcher)) = (unwatch, self.watcher.as_mut()) {
            // The watch may already be gone with its directory.
            let _ = watcher.unwatch(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_that_cannot_be_renewed_keeps_the_references_held_on_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("went");
        let shared = Arc::new(Shared::default());
        let mut manager = Manager::new(shared.clone());
        // Two directories rely on a watch of `dir` (one of them waits for a subdirectory);
        // notify dropped it when `dir` was deleted.
        lock(&shared.reg).watches.insert(dir.clone(), WatchEntry { refs: 2, id: GONE, waiting: 1 });
        // A third tries to renew it while `dir` is gone.
        assert_eq!(manager.acquire(&dir, (1, 2), false), Err(None));
        let entry =
            |shared: &Shared| lock(&shared.reg).watches.get(&dir).map(|w| (w.refs, w.waiting));
        assert_eq!(entry(&shared), Some((2, 1)), "the references held stay counted");
        // `dir` comes back: renewed, then given back by all three.
        std::fs::create_dir(&dir).unwrap();
        let id = super::super::path::nearest_existing(&dir).1;
        assert_eq!(manager.acquire(&dir, id, false), Ok(()));
        assert_eq!(entry(&shared), Some((3, 1)));
        manager.release(&dir, true);
        manager.release(&dir, false);
        assert_eq!(entry(&shared), Some((1, 0)));
        manager.release(&dir, false);
        assert_eq!(entry(&shared), None, "the last one removes the watch");
    }
}
