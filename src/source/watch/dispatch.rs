//! notify's events, on notify's thread: which subscribers they wake, and which directories the
//! manager must look at again.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::event::{AccessKind, EventKind};

use super::{lock, Registry, Request, Shared, GONE};

impl Shared {
    /// Called on notify's thread for every event.
    pub(super) fn dispatch(self: &Arc<Self>, event: notify::Result<notify::Event>) {
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
