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

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::bail;

use super::fds::{self, Starved};
use super::watch::{DirWatch, PollReason, Subscription};
use super::{stdin, Detached, Emitter, Initial, SourceOptions, SourceStream};
use crate::line::{LineLimits, Splitter};

/// How many files that appeared at the name may wait behind the current one.
const MAX_NEXT: usize = 8;

/// Checks `path` and starts following it.
///
/// Under `--no-follow`, a file is opened when its turn comes (files are read one after
/// another): ten thousand files take one descriptor at a time, as with `tail`. A file named on
/// the command line is looked at now, so that a directory or a missing file is said at once.
pub fn open(path: &Path, opts: &SourceOptions, watch: &DirWatch) -> anyhow::Result<SourceStream> {
    let first = if opts.follow {
        open_now(path, opts)?
    } else if opts.end_when_gone {
        // A glob's file: the glob saw a regular file there.
        First::Later
    } else {
        match std::fs::metadata(path) {
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
    let path = path.to_path_buf();
    let opts = opts.clone();
    let watch = watch.clone();
    let stream = SourceStream::spawn(move |emit| async move {
        let sub = opts.follow.then(|| watch.subscribe(&path));
        let glob = opts.glob_ended.clone().map(|glob| (glob, path.clone()));
        let mut follower = Follower {
            path,
            limits: opts.lines.clone(),
            end_when_gone: opts.end_when_gone,
            gone: false,
            emit,
            cur: None,
            next: VecDeque::new(),
            sub,
            missing_noted: false,
            open_error: None,
            poll_noted: None,
            starved: None,
            initial: None,
        };
        let _ = follower.run(first, &opts).await;
        // The source's end comes first (its events go with the follower), then the glob looks
        // at the name again: a file made again there is a new source.
        drop(follower);
        if let Some((glob, path)) = glob {
            glob.ended(path);
        }
    });
    stream.with_catch_up()
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

/// What a file was when it was opened: its (device, inode) and size.
#[derive(Clone, Copy, Debug)]
struct Opened {
    id: (u64, u64),
    len: u64,
}

impl Opened {
    fn of(meta: &std::fs::Metadata) -> Opened {
        Opened { id: (meta.dev(), meta.ino()), len: meta.len() }
    }
}

/// The file currently read.
struct Current {
    file: File,
    id: (u64, u64),
    pos: u64,
    lines: Splitter,
    /// The last bytes read, ending at `pos`: if the file no longer holds them there, it was
    /// truncated and written again (faster than the size alone can show).
    seen: Vec<u8>,
    /// How much there was to read when the file was opened: the first read takes no more room
    /// than that (ten thousand small files need not each hold a full buffer).
    first_read: Option<u64>,
    /// The size of the file when it was opened.
    size: u64,
    /// The end of the file is known to be reached: the next read would find nothing.
    at_end: bool,
}

/// How many of the last bytes read are checked against the file.
const SEEN: usize = 16;

impl Current {
    /// Whether the bytes before `pos` are no longer those read: the file was rewritten.
    fn rewritten(&self) -> bool {
        if self.seen.is_empty() {
            return false;
        }
        let mut now = [0u8; SEEN];
        let now = &mut now[..self.seen.len()];
        let at = self.pos - self.seen.len() as u64;
        read_exact_at(&self.file, now, at).is_err() || now != &self.seen[..]
    }

    /// Remembers the end of what was just read into the splitter (`n` bytes).
    fn remember(&mut self, n: usize) {
        self.seen.extend_from_slice(self.lines.last_bytes(n.min(SEEN)));
        let extra = self.seen.len().saturating_sub(SEEN);
        self.seen.drain(..extra);
    }
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
    next: VecDeque<Current>,
    /// None with `--no-follow`.
    sub: Option<Subscription>,
    missing_noted: bool,
    /// The last "cannot open" said.
    open_error: Option<String>,
    poll_noted: Option<PollReason>,
    /// Waiting for a descriptor to open the file with.
    starved: Option<Starved>,
    /// Where the next open starts reading, when it is the file's first (it could not be
    /// opened at start); later files at the name are read from their first line.
    initial: Option<Initial>,
}

impl Drop for Current {
    fn drop(&mut self) {
        fds::released();
    }
}

impl Follower {
    async fn run(&mut self, first: First, opts: &SourceOptions) -> Result<(), Detached> {
        let follow = opts.follow;
        let first = match first {
            // Its turn has come.
            First::Later => match open_now(&self.path, opts) {
                Ok(first) => first,
                Err(e) => {
                    return self.emit.send(super::SourceEvent::Failed(format!("{e:#}"))).await
                }
            },
            first => first,
        };
        match first {
            First::Open(file, opened, start) => {
                let mut cur = self.current(file, opened, start);
                // Without --no-follow, a look at the end still comes: what was written before
                // the watch was set up must be read.
                cur.at_end &= !follow;
                self.cur = Some(cur);
                self.track_symlink();
            }
            // Tried again now that its turn has come; it waits if there is still none.
            First::NoDescriptor => self.initial = Some(opts.initial),
            First::Later | First::Device => {
                let msg = "not a regular file any more".to_string();
                return self.emit.send(super::SourceEvent::Failed(msg)).await;
            }
            // A glob's file that went before it could be opened.
            First::Missing if self.end_when_gone => return Ok(()),
            First::Missing if follow => {
                self.track_symlink();
                self.emit.status.waiting.store(true, Ordering::Relaxed);
                self.note("no such file; waiting for it to appear").await?;
                self.missing_noted = true;
            }
            First::Missing => {
                let msg = "cannot open: no such file".to_string();
                return self.emit.send(super::SourceEvent::Failed(msg)).await;
            }
        }
        let mut caught_up = false;
        loop {
            // Boxed, as is every rarely taken wait: a file waiting for its next change then
            // holds only this task's small state (ten thousand files wait).
            if !Box::pin(self.step(&mut caught_up)).await? {
                return Ok(());
            }
            match &self.sub {
                Some(sub) if self.starved.is_none() => sub.changed().await,
                _ => Box::pin(self.wait_for_descriptor()).await,
            }
        }
    }

    /// Looks at the file and says what there is to say; false once the source ends.
    async fn step(&mut self, caught_up: &mut bool) -> Result<bool, Detached> {
        self.check().await?;
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
            self.flush_partial().await?;
            self.cur = None;
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

    /// Waits until a descriptor may be free (or, when followed, the file changes).
    async fn wait_for_descriptor(&self) {
        match &self.sub {
            Some(sub) => tokio::select! {
                _ = sub.changed() => {}
                _ = fds::freed() => {}
            },
            None => fds::freed().await,
        }
    }

    /// Counts this file as waiting for a descriptor; the first of an episode says so.
    async fn starve(&mut self) -> Result<(), Detached> {
        if self.starved.is_some() {
            return Ok(());
        }
        let starved = Starved::start();
        let tell = starved.tell();
        self.starved = Some(starved);
        self.emit.status.waiting.store(true, Ordering::Relaxed);
        self.emit.status.no_descriptor.store(true, Ordering::Relaxed);
        if tell {
            self.note(fds::note()).await?;
        }
        Ok(())
    }

    /// The file could be opened: no longer starved; the last of an episode says it is over.
    async fn fed(&mut self) -> Result<(), Detached> {
        let Some(starved) = self.starved.take() else { return Ok(()) };
        self.emit.status.no_descriptor.store(false, Ordering::Relaxed);
        if starved.release() {
            self.note(fds::OVER).await?;
        }
        Ok(())
    }

    /// The file to read, from `start` (its bytes already read go first).
    fn current(&self, file: File, opened: Opened, start: Start) -> Current {
        let pos = start.pos + start.read.len() as u64;
        let mut cur = Current {
            file,
            id: opened.id,
            pos,
            lines: self.limits.splitter(),
            seen: Vec::new(),
            first_read: Some(opened.len.saturating_sub(pos)),
            size: opened.len,
            at_end: !start.read.is_empty() && pos >= opened.len,
        };
        cur.lines.push(&start.read);
        cur.remember(start.read.len());
        cur
    }

    /// Reads what there is to read and follows the name to a new file when it moved on.
    async fn check(&mut self) -> Result<(), Detached> {
        loop {
            if self.sub.is_some() && self.cur.as_ref().is_some_and(Current::rewritten) {
                self.truncated().await?;
            }
            if self.cur.is_some() {
                if let Err(e) = self.read_current().await? {
                    self.note(format!("read error: {e}")).await?;
                    self.end_current().await?;
                }
                if self.sub.is_none() {
                    // --no-follow: read to the end, whatever happens to the name.
                    return Ok(());
                }
            }
            let name = std::fs::metadata(&self.path).ok().filter(|m| m.is_file());
            let Some(cur) = &self.cur else {
                // A file that was there all along, waiting for a descriptor, did not appear.
                let appeared = self.starved.is_none() && self.initial.is_none();
                match self.open_name().await? {
                    Some(new) => {
                        self.cur = Some(new);
                        if appeared {
                            self.note("appeared; following it").await?;
                        }
                        continue;
                    }
                    None if self.starved.is_some() => {}
                    None if name.is_none() => self.note_missing().await?,
                    None => {}
                }
                // A dangling symlink may have been pointed somewhere else meanwhile.
                self.track_symlink();
                return Ok(());
            };
            let old = match cur.file.metadata() {
                Ok(old) => old,
                Err(e) => {
                    self.note(format!("read error: {e}")).await?;
                    self.end_current().await?;
                    continue;
                }
            };
            let at_name = name.as_ref().is_some_and(|m| (m.dev(), m.ino()) == cur.id);
            if at_name && self.next.is_empty() {
                self.set_draining(false);
                if old.len() < cur.pos {
                    self.truncated().await?;
                    continue;
                }
                return Ok(());
            }
            // A new file at the name is opened at once: if it is renamed away in turn before
            // its time comes, it is still read.
            if let Some(meta) = &name {
                let id = (meta.dev(), meta.ino());
                if !at_name && !self.next.iter().any(|n| n.id == id) {
                    if let Some(new) = self.open_name().await? {
                        self.next.push_back(new);
                    }
                }
            }
            // Move on once a later file has data (its writer has moved on), or when the current
            // file is deleted; until then writers may still write to its old descriptor.
            let moved_on = self.next.iter().any(|n| n.file.metadata().is_ok_and(|m| m.len() > 0));
            let deleted = old.nlink() == 0;
            if !self.next.is_empty() && (moved_on || deleted || self.next.len() > MAX_NEXT) {
                self.end_current().await?;
                self.cur = self.next.pop_front();
                self.track_symlink();
                self.note("replaced; following the new file").await?;
                continue;
            }
            if deleted {
                // Gone, and nothing new at the name yet.
                self.end_current().await?;
                if self.end_when_gone {
                    self.gone = true;
                    return Ok(());
                }
                self.note_missing().await?;
                return Ok(());
            }
            // Renamed away (or a new file waits, empty): read on, and wake for any name in the
            // directory, where the old file most likely is now.
            self.set_draining(true);
            return Ok(());
        }
    }

    /// The current file was truncated (or truncated and written again): read it from the start.
    async fn truncated(&mut self) -> Result<(), Detached> {
        self.note("file truncated; reading from the start").await?;
        self.flush_partial().await?;
        if let Some(cur) = &mut self.cur {
            cur.pos = 0;
            cur.seen.clear();
        }
        Ok(())
    }

    /// Reads the current file to its end, sending every complete line.
    async fn read_current(&mut self) -> Result<io::Result<()>, Detached> {
        loop {
            let Some(cur) = &mut self.cur else {
                return Ok(Ok(()));
            };
            if let Some(batch) = cur.lines.take_batch() {
                self.emit.lines(batch, None).await?;
                continue;
            }
            if std::mem::take(&mut cur.at_end) {
                return Ok(Ok(()));
            }
            let expect = cur.first_read.take();
            let n = match cur.lines.read_from(cur.file.as_fd(), Some(cur.pos), expect) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            if n == 0 {
                return Ok(Ok(()));
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
                if self.open_error.as_ref() != Some(&msg) {
                    self.note(&msg).await?;
                    self.open_error = Some(msg);
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
            Some(initial) => start_offset(&file, meta.len(), initial).unwrap_or_default(),
            None => Start::default(),
        };
        let new = self.current(file, Opened::of(&meta), start);
        self.track_symlink();
        Ok(Some(new))
    }

    /// Reads the current file to its end, ends its partial last line and closes it.
    async fn end_current(&mut self) -> Result<(), Detached> {
        if let Err(e) = self.read_current().await? {
            self.note(format!("read error: {e}")).await?;
        }
        self.flush_partial().await?;
        self.cur = None;
        self.set_draining(false);
        Ok(())
    }

    async fn flush_partial(&mut self) -> Result<(), Detached> {
        if let Some(batch) = self.cur.as_mut().and_then(|c| c.lines.finish()) {
            self.emit.lines(batch, None).await?;
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

/// The path a symlink finally leads to (following links to links), whether or not it exists;
/// `None` when `path` is not a symlink (or the chain loops).
fn link_target(path: &Path) -> Option<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(next) = std::fs::read_link(&at) else {
            return (at != path).then_some(at);
        };
        at = match at.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    None
}

/// Where reading a file starts, and the bytes from there that finding it read already.
#[derive(Debug, Default)]
struct Start {
    pos: u64,
    /// The file's bytes from `pos` on (to its end as it was), when finding `pos` read them.
    read: Vec<u8>,
}

impl Start {
    fn at(pos: u64) -> Start {
        Start { pos, read: Vec::new() }
    }
}

/// Where reading starts in a file of `size` bytes for `-n`.
fn start_offset(file: &File, size: u64, initial: Initial) -> io::Result<Start> {
    const BLOCK: u64 = 64 * 1024;
    let mut buf = vec![0u8; BLOCK.min(size) as usize];
    match initial {
        Initial::Last(0) => Ok(Start::at(size)),
        Initial::From(n) if n <= 1 => Ok(Start::at(0)),
        Initial::Last(n) => {
            // The n-th `\n` before the end (not counting one that ends the file) ends the line
            // before the ones to show.
            let mut end = size;
            let mut found = 0;
            let mut first_block = true;
            while end > 0 {
                let start = end.saturating_sub(BLOCK);
                let chunk = &mut buf[..(end - start) as usize];
                read_exact_at(file, chunk, start)?;
                let mut chunk = &chunk[..];
                if std::mem::take(&mut first_block) && chunk.last() == Some(&b'\n') {
                    chunk = &chunk[..chunk.len() - 1];
                }
                for i in memchr::memrchr_iter(b'\n', chunk) {
                    found += 1;
                    if found == n {
                        let pos = start + i as u64 + 1;
                        // In the last block, the lines to show are read already.
                        let read = match end == size {
                            true => buf[(pos - start) as usize..(end - start) as usize].to_vec(),
                            false => Vec::new(),
                        };
                        return Ok(Start { pos, read });
                    }
                }
                end = start;
            }
            Ok(Start::at(0))
        }
        Initial::From(n) => {
            // Skip n - 1 lines.
            let mut pos = 0;
            let mut skipped = 0;
            while pos < size {
                let len = BLOCK.min(size - pos) as usize;
                read_exact_at(file, &mut buf[..len], pos)?;
                for i in memchr::memchr_iter(b'\n', &buf[..len]) {
                    skipped += 1;
                    if skipped == n - 1 {
                        return Ok(Start::at(pos + i as u64 + 1));
                    }
                }
                pos += len as u64;
            }
            Ok(Start::at(size))
        }
    }
}

fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn offset(content: &[u8], initial: Initial) -> u64 {
        let mut f = tempfile();
        f.write_all(content).unwrap();
        let start = start_offset(&f, content.len() as u64, initial).unwrap();
        let at = start.pos as usize;
        assert!(start.read.is_empty() || start.read == content[at..], "what was read is the rest");
        start.pos
    }

    fn tempfile() -> File {
        let dir = std::env::temp_dir();
        let path = dir.join(format!(
            "mux-tail-offset-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f =
            File::options().create(true).truncate(true).read(true).write(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    #[test]
    fn link_targets_are_followed_to_the_end_even_when_missing() {
        let dir = std::env::temp_dir().join(format!("mux-tail-links-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let (a, b) = (dir.join("a"), dir.join("sub/b"));
        let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
        std::os::unix::fs::symlink("sub/b", &a).unwrap();
        std::os::unix::fs::symlink("../missing.log", &b).unwrap();
        assert_eq!(link_target(&a), Some(dir.join("sub/../missing.log")));
        assert_eq!(link_target(&dir.join("sub")), None, "not a link");
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink("b", &b).unwrap();
        assert_eq!(link_target(&a), None, "a loop leads nowhere");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn last_n_lines() {
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(2)), 2);
        assert_eq!(offset(b"a\nb\nc", Initial::Last(2)), 2);
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(10)), 0);
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(0)), 6);
        assert_eq!(offset(b"", Initial::Last(3)), 0);
        assert_eq!(offset(b"\n\n", Initial::Last(1)), 1);
    }

    #[test]
    fn from_line_n() {
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(1)), 0);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(2)), 2);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(4)), 6);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(9)), 6);
    }

    #[test]
    fn last_lines_across_blocks() {
        let mut content = Vec::new();
        for i in 0..100_000 {
            content.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let at = offset(&content, Initial::Last(3)) as usize;
        assert_eq!(&content[at..], b"line 99997\nline 99998\nline 99999\n");
    }
}
