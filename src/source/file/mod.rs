//! A file followed by name, as `tail -F` does.
//!
//! The follower keeps one open file and a position in it. Directory events (see
//! [`super::watch`]) only say "look again"; what happened is decided by `fstat` on the open file
//! and `stat` on the name:
//!
//! - the open file grew: read it to its end;
//! - it shrank below the position (plain truncation, copytruncate): note it, start again at 0;
//! - the name now leads to another file (rename rotation, delete + recreate, a symlink switched):
//!   the new file is opened at once (so that it is read even if it is renamed away in turn before
//!   its time comes), but the old file is read first, and kept being read while the new file is
//!   still empty and the old one still has a name (writers often write to the old descriptor
//!   until they reopen); once the new file has data, or the old one is deleted, the old file is
//!   read to its end, its partial last line ends, and the new file is read from its first line;
//! - the name leads nowhere: a deleted file is read to its end and closed, a renamed one is kept
//!   until a new file appears; either way the follower waits for the name to come back.
//!
//! Reads are plain `pread`s on the runtime thread: regular files answer from the page cache.
//!
//! A file that cannot be opened for want of descriptors waits (see [`super::fds`]) and is opened
//! as soon as one may be free; its `-n` applies then, as if it had been opened at start.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::bail;

mod check;
mod current;
mod descriptors;
mod history;
mod since;
mod start;

use super::fds::{self, Starved};
use super::watch::{DirWatch, PollReason, Subscription};
use super::{stdin, Detached, Emitter, Initial, SourceOptions, SourceStream};
use crate::line::LineLimits;
use current::{Current, Opened, Seen};
use start::{link_target, start_offset, Start};

/// How many files that appeared at the name may wait behind the current one.
const MAX_NEXT: usize = 8;

/// Checks `path` and starts following it.
///
/// Under `--no-follow`, a file is opened when its turn comes (files are read one after
/// another): ten thousand files take one descriptor at a time, as with `tail`. A file named on
/// the command line is looked at now (`looked`: the metadata of its name, if the caller has it),
/// so that a directory or a missing file is said at once.
pub fn open(
    path: &Path,
    opts: &SourceOptions,
    watch: &DirWatch,
    looked: Option<io::Result<std::fs::Metadata>>,
) -> anyhow::Result<SourceStream> {
    let first = if opts.follow {
        open_now(path, opts)?
    } else if opts.end_when_gone {
        // A glob's file: the glob saw a regular file there.
        First::Later
    } else {
        match looked.unwrap_or_else(|| std::fs::metadata(path)) {
            Ok(meta) if meta.is_dir() => bail!("is a directory"),
            Ok(meta) if meta.file_type().is_fifo() || meta.file_type().is_char_device() => {
                return Ok(stdin::open_path(path.to_path_buf(), opts));
            }
            Ok(_) => First::Later,
            Err(e) if e.kind() == io::ErrorKind::NotFound => First::Missing,
            Err(e) => bail!("cannot open: {e}"),
        }
    };
    Ok(spawn(path, opts, watch, first))
}

/// Opens `path` now.
fn open_now(path: &Path, opts: &SourceOptions) -> anyhow::Result<First> {
    // Non-blocking, so that opening a FIFO does not wait for a writer.
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    Ok(match opened {
        Ok(file) => {
            let meta = file.metadata()?;
            let kind = meta.file_type();
            if kind.is_dir() {
                bail!("is a directory");
            }
            if kind.is_fifo() || kind.is_char_device() {
                // A pipe or a device has no name to follow and no end to seek to: read it
                // through.
                return Ok(First::Device);
            }
            // The start position is fixed now: every line appended from here on is shown.
            let start = start_offset(&file, meta.len(), opts.initial)
                .map_err(|e| anyhow::anyhow!("cannot read: {e}"))?;
            First::Open(file, Opened::of(&meta), start)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => First::Missing,
        // Opened once a descriptor is free.
        Err(e) if fds::exhausted(&e) => First::NoDescriptor,
        Err(e) => bail!("cannot open: {e}"),
    })
}

/// The stream following `path`, from what opening it found.
fn spawn(path: &Path, opts: &SourceOptions, watch: &DirWatch, first: First) -> SourceStream {
    if let First::Device = first {
        return stdin::open_path(path.to_path_buf(), opts);
    }
    // One box for what only starting needs: the task holds it (not its parts) until then.
    let begin = Box::new(Begin {
        path: path.to_path_buf(),
        opts: opts.clone(),
        watch: watch.clone(),
        first,
    });
    let stream = SourceStream::spawn(move |emit| async move {
        // Boxed: what starting takes (the options, the history, the first open) is freed once
        // the file is followed, and a file waiting for its next change then holds only the
        // follow loop's small state (ten thousand files wait).
        if let Some(mut follower) = Box::pin(Follower::begin(begin, emit)).await {
            let _ = follower.follow().await;
            follower.end();
        }
    });
    stream.with_catch_up()
}

/// What a file's source starts from.
struct Begin {
    path: PathBuf,
    opts: SourceOptions,
    watch: DirWatch,
    first: First,
}

/// What opening a file at start found.
enum First {
    /// The file, what it was when opened and where reading starts.
    Open(File, Opened, Start),
    /// No file at the name.
    Missing,
    /// No descriptor left to open it with.
    NoDescriptor,
    /// A pipe or a device: read through, not followed.
    Device,
    /// Opened when its turn comes (`--no-follow`).
    Later,
}

struct Follower {
    path: PathBuf,
    limits: LineLimits,
    /// End the source once the file is deleted (a glob's file).
    end_when_gone: bool,
    /// The file was deleted and the source ends.
    gone: bool,
    emit: Emitter,
    cur: Option<Current>,
    /// Files that appeared at the name after `cur`, already open, in order.
    next: Vec<Current>,
    /// None with `--no-follow`.
    sub: Option<Subscription>,
    missing_noted: bool,
    /// The last "cannot open" said.
    open_error: Option<Box<str>>,
    poll_noted: Option<PollReason>,
    /// Waiting for a descriptor to open the file with.
    starved: Option<Starved>,
    /// The glob that found this file, told when its source ends.
    glob: Option<Arc<super::glob::Ended>>,
    /// Where the next open starts reading, when it is the file's first (it could not be
    /// opened at start); later files at the name are read from their first line.
    initial: Option<Box<Initial>>,
}

impl Follower {
    /// The follower of a new source, once it has started: `None` when the source is over
    /// already.
    /// Boxed: the task then holds a pointer to it (held inline, it would be there twice, as
    /// the start's result and as the loop's state).
    async fn begin(begin: Box<Begin>, emit: Emitter) -> Option<Box<Follower>> {
        let Begin { path, opts, watch, first } = *begin;
        let mut follower = Box::new(Follower {
            sub: opts.follow.then(|| watch.subscribe(&path)),
            glob: opts.glob_ended.clone(),
            path,
            limits: opts.lines.clone(),
            end_when_gone: opts.end_when_gone,
            gone: false,
            emit,
            cur: None,
            next: Vec::new(),
            missing_noted: false,
            open_error: None,
            poll_noted: None,
            starved: None,
            initial: None,
        });
        match follower.start(first, &opts).await {
            Ok(true) => Some(follower),
            _ => {
                follower.end();
                None
            }
        }
    }

    /// Follows the file until the source ends.
    async fn follow(&mut self) -> Result<(), Detached> {
        let mut caught_up = false;
        loop {
            // Boxed, as is every rarely taken wait.
            if !Box::pin(self.step(&mut caught_up)).await? {
                return Ok(());
            }
            match &mut self.sub {
                Some(sub) if self.starved.is_none() => {
                    sub.changed().await;
                    sub.forget_pending();
                    // A file that changes gets a watch of its own for its writes.
                    if let Some(cur) = &self.cur {
                        sub.watch_writes(cur.file.as_fd());
                    }
                }
                _ => Box::pin(self.wait_for_descriptor()).await,
            }
        }
    }

    /// Ends the source: its events go with the follower, then the glob (if it found this
    /// file) looks at the name again: a file made again there is a new source.
    fn end(mut self: Box<Self>) {
        let glob = self.glob.take();
        let path = std::mem::take(&mut self.path);
        drop(self);
        if let Some(glob) = glob {
            glob.ended(path);
        }
    }

    /// The history (`--since`), then the file as opening found it; false when the source is
    /// over already.
    async fn start(&mut self, first: First, opts: &SourceOptions) -> Result<bool, Detached> {
        let follow = opts.follow;
        if let Initial::Since(since) = opts.initial {
            // Boxed: only a file read with --since needs the state for its history.
            Box::pin(history::read(&self.path, since, &self.limits, &self.emit)).await?;
        }
        let first = match first {
            // Its turn has come.
            First::Later => match open_now(&self.path, opts) {
                Ok(first) => first,
                Err(e) => {
                    self.emit.send(super::SourceEvent::Failed(format!("{e:#}"))).await?;
                    return Ok(false);
                }
            },
            first => first,
        };
        match first {
            First::Open(file, opened, start) => {
                if start.untimed {
                    self.note(
                        "--since: no line in it has a time, so none of what it holds is shown",
                    )
                    .await?;
                }
                let mut cur = self.current(file, opened, start);
                // Without --no-follow, a look at the end still comes: what was written before
                // the watch was set up must be read.
                cur.at_end &= !follow;
                self.set_current(Some(cur));
                self.track_symlink();
            }
            // Tried again now that its turn has come; it waits if there is still none.
            First::NoDescriptor => self.initial = Some(Box::new(opts.initial)),
            First::Later | First::Device => {
                let msg = "not a regular file any more".to_string();
                self.emit.send(super::SourceEvent::Failed(msg)).await?;
                return Ok(false);
            }
            // A glob's file that went before it could be opened.
            First::Missing if self.end_when_gone => return Ok(false),
            First::Missing if follow => {
                self.track_symlink();
                self.emit.status.waiting.store(true, Ordering::Relaxed);
                self.note("no such file; waiting for it to appear").await?;
                self.missing_noted = true;
            }
            First::Missing => {
                let msg = "cannot open: no such file".to_string();
                self.emit.send(super::SourceEvent::Failed(msg)).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Looks at the file and says what there is to say; false once the source ends.
    async fn step(&mut self, caught_up: &mut bool) -> Result<bool, Detached> {
        let mark = self.sub.as_ref().map(Subscription::mark);
        let settled = self.check(*caught_up).await?;
        if let (Some(sub), Some(mark)) = (&self.sub, mark) {
            sub.settled(mark, settled);
        }
        if self.starved.is_some() && self.sub.is_none() {
            // --no-follow: this file's turn waits for a descriptor.
            return Ok(true);
        }
        if !std::mem::replace(caught_up, true) {
            self.emit.send(super::SourceEvent::CaughtUp).await?;
        }
        if self.gone {
            return Ok(false);
        }
        let Some(sub) = &self.sub else {
            // --no-follow: the current end is the end (just read to).
            self.flush_partial(false).await?;
            self.set_current(None);
            return Ok(false);
        };
        let poll = sub.poll_reason();
        if poll.is_some() && poll != self.poll_noted {
            self.poll_noted = poll;
            let secs = super::watch::POLL_INTERVAL.as_secs();
            let why = match poll {
                Some(PollReason::RemoteFs) => {
                    Some(format!("on a remote file system; checking every {secs}s"))
                }
                _ => super::watch::first_without_watch().then(|| {
                    format!(
                        "no inotify watch available; checking every {secs}s (and so for every \
                         other file without one, not noted)"
                    )
                }),
            };
            if let Some(why) = why {
                self.note(why).await?;
            }
        }
        Ok(true)
    }

    /// Makes `cur` the file read (or none), and says which it is in the live status.
    fn set_current(&mut self, cur: Option<Current>) {
        let (dev, ino) = cur.as_ref().map_or((0, 0), |c| c.id);
        self.emit.status.file[0].store(dev, Ordering::Relaxed);
        self.emit.status.file[1].store(ino, Ordering::Relaxed);
        if let Some(sub) = &mut self.sub {
            sub.set_file(cur.as_ref().map(|c| c.file.as_fd()));
        }
        self.cur = cur;
    }

    /// The file to read, from `start` (its bytes already read go first).
    fn current(&self, file: File, opened: Opened, start: Start) -> Current {
        let pos = start.pos + start.read.len() as u64;
        let mut cur = Current {
            file,
            id: opened.id,
            pos,
            lines: self.limits.splitter(),
            seen: Seen::default(),
            first_read: Some(opened.len.saturating_sub(pos)),
            size: opened.len,
            at_end: !start.read.is_empty() && pos >= opened.len,
        };
        cur.lines.push(&start.read);
        cur.remember(start.read.len());
        cur
    }

    /// Reads the current file to its end, sending every complete line; says
    /// whether it sent any.
    async fn read_current(&mut self) -> Result<io::Result<bool>, Detached> {
        let mut sent = false;
        loop {
            let Some(cur) = &mut self.cur else {
                return Ok(Ok(sent));
            };
            if let Some(batch) = cur.lines.take_batch() {
                self.emit.lines(batch, None).await?;
                sent = true;
                continue;
            }
            if std::mem::take(&mut cur.at_end) {
                return Ok(Ok(sent));
            }
            let expect = cur.first_read.take();
            let n = match cur.lines.read_from(cur.file.as_fd(), Some(cur.pos), expect) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            if n == 0 {
                return Ok(Ok(sent));
            }
            cur.pos += n as u64;
            cur.remember(n);
            // A short read past the size the file had is its end: no read just to hear so.
            cur.at_end = !cur.lines.filled() && cur.pos >= cur.size;
        }
    }

    /// Opens the file now at the name, to be read from its first line.
    async fn open_name(&mut self) -> Result<Option<Current>, Detached> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Nothing to open: not waiting for a descriptor, but for the file.
                self.fed().await?;
                return Ok(None);
            }
            Err(e) if fds::exhausted(&e) => {
                self.starve().await?;
                return Ok(None);
            }
            Err(e) => {
                // Said once, until the file can be opened again.
                let msg = format!("cannot open: {e}");
                if self.open_error.as_deref() != Some(msg.as_str()) {
                    self.note(&msg).await?;
                    self.open_error = Some(msg.into());
                }
                return Ok(None);
            }
        };
        self.open_error = None;
        let Ok(meta) = file.metadata() else { return Ok(None) };
        if !meta.is_file() {
            return Ok(None);
        }
        self.fed().await?;
        self.missing_noted = false;
        self.emit.status.waiting.store(false, Ordering::Relaxed);
        let start = match self.initial.take() {
            Some(initial) => start_offset(&file, meta.len(), *initial).unwrap_or_default(),
            None => Start::default(),
        };
        let new = self.current(file, Opened::of(&meta), start);
        self.track_symlink();
        Ok(Some(new))
    }

    /// Reads the current file to its end, ends its partial last line and closes it.
    async fn end_current(&mut self, more: bool) -> Result<(), Detached> {
        if let Err(e) = self.read_current().await? {
            self.note(format!("read error: {e}")).await?;
        }
        self.flush_partial(more).await?;
        self.set_current(None);
        self.set_draining(false);
        Ok(())
    }

    /// Ends the partial last line; with `more` (the source goes on), says the input ended.
    async fn flush_partial(&mut self, more: bool) -> Result<(), Detached> {
        if let Some(batch) = self.cur.as_mut().and_then(|c| c.lines.finish()) {
            self.emit.lines(batch, None).await?;
        }
        if more {
            self.emit.send(super::SourceEvent::InputEnded(None)).await?;
        }
        Ok(())
    }

    async fn note_missing(&mut self) -> Result<(), Detached> {
        self.emit.status.waiting.store(true, Ordering::Relaxed);
        if !self.missing_noted {
            self.missing_noted = true;
            self.note("file is gone; waiting for it to appear").await?;
        }
        Ok(())
    }

    /// When the name is a symlink, also watch the name it leads to (in its own directory), also
    /// while that does not exist yet.
    fn track_symlink(&mut self) {
        let Some(sub) = &mut self.sub else { return };
        sub.set_target(link_target(&self.path).as_deref());
    }

    fn set_draining(&self, on: bool) {
        if let Some(sub) = &self.sub {
            sub.set_any_name(on);
        }
    }

    async fn note(&self, msg: impl AsRef<str>) -> Result<(), Detached> {
        self.emit.note(msg.as_ref()).await
    }
}
