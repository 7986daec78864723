//! The source table: every source's row (label, state, counters) beside the map of their
//! streams, and the order in which files start.
//!
//! Keys of the map are small `Copy` ids: a source's index in the table (its number is one
//! more). Rows are never removed, so numbers stay put; a detached source keeps its row. Files
//! start one after the other: a file's stream enters the map only once the one before it has
//! read what was there when it started, so that first lines come out in command-line order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::streams::Streams;

use crate::render::safe;
use crate::source::{SourceKind, SourceSpec, SourceStatus, SourceStream};

/// A source's key in the map: its index in the table.
pub type SourceId = usize;

/// Where a source stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Being followed.
    Following,
    /// Its input ended.
    Ended,
    /// It failed and ended.
    Failed,
    /// Detached by the user.
    Detached,
}

/// What makes two paths one file: its (device, inode), or, while it does not exist, its path
/// made absolute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FileKey {
    /// An existing file (through any symlinks).
    Inode(u64, u64),
    /// A file that does not exist (yet).
    Path(PathBuf),
}

impl FileKey {
    /// The key of the file at `path` now.
    pub fn of(path: &Path) -> FileKey {
        Self::looked(path, &std::fs::metadata(path))
    }

    /// The key of the file at `path`, of which `looked` is what its metadata was found to be.
    pub fn looked(path: &Path, looked: &std::io::Result<std::fs::Metadata>) -> FileKey {
        match looked {
            Ok(m) => FileKey::Inode(m.dev(), m.ino()),
            Err(_) => FileKey::Path(std::path::absolute(path).unwrap_or_else(|_| path.into())),
        }
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct Row {
    /// What the source is.
    pub spec: SourceSpec,
    /// The glob that found this file.
    pub parent: Option<SourceId>,
    /// Where it stands.
    pub state: State,
    /// Its lines are dropped.
    pub muted: bool,
    /// Lines received.
    pub lines: u64,
    /// Events complete (`--multiline`).
    pub events: u64,
    /// Bytes received (line endings not counted).
    pub bytes: u64,
    /// Lines let through by the filters (for `--count`).
    pub shown: u64,
    /// Live facts kept by its producer.
    pub status: Arc<SourceStatus>,
    /// It was told that the budget for unfinished lines cut one of its lines.
    pub budget_noted: bool,
}

/// The table and the map of live streams.
#[derive(Default)]
pub struct Table {
    /// The streams of sources being followed.
    pub map: Streams<SourceStream>,
    rows: Vec<Row>,
    /// Files waiting to start, in order.
    queued: VecDeque<(SourceId, SourceStream)>,
    /// The file reading what was there when it started; the next waits for it.
    starting: Option<SourceId>,
    /// The number of rows, shared with the key parser.
    count: Arc<AtomicUsize>,
    /// Files by what they are (the file when attached), to follow each only once.
    files: HashMap<FileKey, SourceId>,
    /// Files named twice that were noted already.
    noted: HashSet<FileKey>,
}

impl Table {
    /// The number of sources so far, kept up to date (for the key parser).
    pub fn count(&self) -> Arc<AtomicUsize> {
        self.count.clone()
    }

    /// Adds a source with its stream; returns its id.
    pub fn insert(
        &mut self,
        spec: SourceSpec,
        stream: SourceStream,
        parent: Option<SourceId>,
    ) -> SourceId {
        let id = self.rows.len();
        let muted = parent.is_some_and(|p| self.rows[p].muted);
        let status = stream.status();
        self.rows.push(Row {
            spec,
            parent,
            state: State::Following,
            muted,
            lines: 0,
            events: 0,
            bytes: 0,
            shown: 0,
            status,
            budget_noted: false,
        });
        if stream.catches_up() {
            self.queued.push_back((id, stream));
            self.admit();
        } else {
            self.map.insert(id, stream);
        }
        self.count.store(self.rows.len(), Ordering::Relaxed);
        id
    }

    /// Lets the next queued file start once the one starting has caught up.
    fn admit(&mut self) {
        if self.starting.is_none() {
            if let Some((id, mut stream)) = self.queued.pop_front() {
                if self.queued.is_empty() {
                    // Ten thousand files queued at start leave no room behind.
                    self.queued = VecDeque::new();
                }
                // Started at once: its first lines are read while the loop is still busy.
                stream.start();
                self.map.insert(id, stream);
                self.starting = Some(id);
            }
        }
    }

    /// Whether files are still reading what was there when they started.
    pub fn catching_up(&self) -> bool {
        self.starting.is_some() || !self.queued.is_empty()
    }

    /// How many files are still to catch up (starting or queued).
    pub fn catching_up_count(&self) -> usize {
        self.queued.len() + usize::from(self.starting.is_some())
    }

    /// Whether source `id` is the file now reading what was there when it started.
    pub fn is_starting(&self, id: SourceId) -> bool {
        self.starting == Some(id)
    }

    /// Source `id` has read what was there when it started (or ended, or went).
    pub fn caught_up(&mut self, id: SourceId) {
        if self.starting == Some(id) {
            self.starting = None;
            self.admit();
        }
    }

    /// Whether no stream is left, in the map or waiting to start.
    pub fn is_done(&self) -> bool {
        self.map.is_empty() && self.queued.is_empty()
    }

    /// Whether source `id` has a stream (in the map or waiting to start).
    pub fn is_live(&self, id: SourceId) -> bool {
        self.map.contains_key(&id) || self.queued.iter().any(|(q, _)| *q == id)
    }

    /// Takes source `id`'s stream out (the caller closes it) and marks it detached.
    pub fn detach(&mut self, id: SourceId) -> Option<SourceStream> {
        let stream = match self.queued.iter().position(|(q, _)| *q == id) {
            Some(at) => self.queued.remove(at).map(|(_, s)| s),
            None => self.map.remove(&id),
        }?;
        self.rows[id].state = State::Detached;
        self.caught_up(id);
        Some(stream)
    }

    /// Drops every stream: each source stops and closes what it holds.
    pub fn close_all(&mut self) {
        self.map = Streams::new();
        self.queued.clear();
    }

    /// The row of source `id`.
    pub fn row(&self, id: SourceId) -> &Row {
        &self.rows[id]
    }

    /// The row of source `id`, to change.
    pub fn row_mut(&mut self, id: SourceId) -> &mut Row {
        &mut self.rows[id]
    }

    /// Every row, by id.
    pub fn rows(&self) -> impl Iterator<Item = (SourceId, &Row)> {
        self.rows.iter().enumerate()
    }

    /// The id of source number `n` (counting from 1), if there is one.
    pub fn number(&self, n: usize) -> Option<SourceId> {
        (1..=self.rows.len()).contains(&n).then(|| n - 1)
    }

    /// Source `id` and, for a glob, the files it found.
    pub fn family(&self, id: SourceId) -> Vec<SourceId> {
        let children = self.rows().filter(|(_, r)| r.parent == Some(id)).map(|(i, _)| i);
        std::iter::once(id).chain(children).collect()
    }

    /// The source of this kind being followed, if any.
    pub fn following(&self, kind: &SourceKind) -> Option<SourceId> {
        self.rows().find(|(_, r)| &r.spec.kind == kind && r.state == State::Following).map(|r| r.0)
    }

    /// Remembers that source `id` follows the file `key`.
    pub fn remember_file(&mut self, key: FileKey, id: SourceId) {
        self.files.insert(key, id);
    }

    /// The source following the file `key`, if one does.
    pub fn same_file(&self, key: &FileKey) -> Option<SourceId> {
        self.files.get(key).copied().filter(|&id| self.rows[id].state == State::Following)
    }

    /// The file source reading the file `id` (device, inode) now: after a rotation, the file
    /// that took the name it follows. A scan of all rows: for what a user attaches, not for
    /// what a glob finds.
    pub fn reading(&self, id: (u64, u64)) -> Option<SourceId> {
        self.rows()
            .find(|(_, r)| r.state == State::Following && r.status.file() == Some(id))
            .map(|(id, _)| id)
    }

    /// True the first time it is asked about `key` (so that a file named twice is noted once).
    pub fn first_note(&mut self, key: &FileKey) -> bool {
        self.noted.insert(key.clone())
    }

    /// `[N] label`, safe to show on a terminal.
    pub fn name(&self, id: SourceId) -> String {
        format!("[{}] {}", id + 1, safe(&self.rows[id].spec.label))
    }

    /// The list key's table: a header and a row per source.
    /// With `events`, events are counted too (`--multiline`).
    pub fn list(&self, events: bool) -> Vec<String> {
        let row = |n: &dyn std::fmt::Display,
                   label: String,
                   state: &str,
                   lines,
                   ev: String,
                   bytes,
                   conns,
                   refused| {
            // Padded by screen cells, so that a CJK label keeps the columns straight.
            let pad = " ".repeat(24usize.saturating_sub(crate::render::width(&label)));
            let ev = if events { format!(" {ev:>10}") } else { String::new() };
            format!(
                "{n:>4}  {label}{pad} {state:<10}{ev} {lines:>10} {bytes:>12} {conns:>6} {refused:>8}"
            )
        };
        let mut out = vec![row(
            &"#",
            "label".into(),
            "state",
            "lines".into(),
            "events".into(),
            "bytes".into(),
            "open".into(),
            "refused".into(),
        )];
        for (id, s) in self.rows() {
            let restarts = s.status.restarts.load(Ordering::Relaxed);
            let times =
                if restarts == 1 { "1 time".to_string() } else { format!("{restarts} times") };
            let restarting = format!("restarting (restarted {times})");
            let restarted = format!("following (restarted {times})");
            let state = match s.state {
                State::Following if s.muted => "muted",
                State::Following if matches!(s.spec.kind, SourceKind::Cmd(_)) => {
                    match (s.status.waiting.load(Ordering::Relaxed), restarts) {
                        (true, _) => restarting.as_str(),
                        (false, 0) => "following",
                        (false, _) => restarted.as_str(),
                    }
                }
                State::Following if s.status.no_descriptor.load(Ordering::Relaxed) => {
                    "waiting (no descriptors)"
                }
                State::Following if s.status.waiting.load(Ordering::Relaxed) => "waiting",
                State::Following => "following",
                State::Ended => "ended",
                State::Failed => "failed",
                State::Detached => "detached",
            };
            // Listeners: open connections; globs: files followed.
            let conns = match &s.spec.kind {
                kind if kind.has_connections() => {
                    s.status.connections.load(Ordering::Relaxed).to_string()
                }
                SourceKind::Glob(_) => self
                    .rows()
                    .filter(|(_, c)| c.parent == Some(id) && c.state == State::Following)
                    .count()
                    .to_string(),
                _ => String::new(),
            };
            let refused = match s.spec.kind.is_listener() {
                true => s.status.refused.load(Ordering::Relaxed).to_string(),
                false => String::new(),
            };
            let (lines, bytes) = (s.lines.to_string(), s.bytes.to_string());
            let ev = s.events.to_string();
            out.push(row(&(id + 1), safe(&s.spec.label), state, lines, ev, bytes, conns, refused));
        }
        out
    }

    /// The sources as the status line names them: `[1] a.log  [2] tcp:9000 (ended)`.
    pub fn status_names(&self) -> String {
        let mut names = Vec::new();
        for (id, s) in self.rows() {
            let mark = match s.state {
                State::Following if s.muted => " (muted)",
                State::Following => "",
                State::Ended => " (ended)",
                State::Failed => " (failed)",
                State::Detached => continue,
            };
            names.push(format!("{}{mark}", self.name(id)));
        }
        names.join("  ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceEvent;
    use tokio_stream::StreamExt;

    fn spec(arg: &str) -> SourceSpec {
        SourceSpec::parse(arg).unwrap()
    }

    /// A stream fed by the test: a file-like one waits its turn to start.
    fn stream(file: bool) -> (crate::source::Emitter, SourceStream) {
        let (emit, stream) = SourceStream::channel();
        (emit, if file { stream.with_catch_up() } else { stream })
    }

    #[test]
    fn files_start_one_after_the_other_in_order() {
        let mut t = Table::default();
        let (_a_tx, a) = stream(true);
        let (_b_tx, b) = stream(true);
        let (_c_tx, c) = stream(false);
        let (a, b, c) = (
            t.insert(spec("a"), a, None),
            t.insert(spec("b"), b, None),
            t.insert(spec("tcp:1"), c, None),
        );
        // Other kinds start at once; the second file waits for the first.
        assert!(t.map.contains_key(&a) && t.map.contains_key(&c));
        assert!(!t.map.contains_key(&b) && t.is_live(b));
        t.caught_up(b);
        assert!(!t.map.contains_key(&b), "only the starting file lets the next one in");
        t.caught_up(a);
        assert!(t.map.contains_key(&b));
    }

    #[test]
    fn detaching_a_waiting_file_lets_the_next_one_start() {
        let mut t = Table::default();
        let ids: Vec<_> =
            (0..3).map(|i| t.insert(spec(&format!("f{i}")), stream(true).1, None)).collect();
        assert!(t.detach(ids[0]).is_some());
        assert!(t.map.contains_key(&ids[1]), "the next file starts when the starting one goes");
        assert!(t.detach(ids[2]).is_some(), "a queued file can be detached");
        assert_eq!(t.row(ids[2]).state, State::Detached);
        assert!(t.detach(ids[2]).is_none(), "only once");
        t.caught_up(ids[1]);
        assert!(!t.is_done() && t.queued.is_empty());
    }

    #[test]
    fn a_glob_and_its_files_are_one_family() {
        let mut t = Table::default();
        let glob = t.insert(spec("logs/*.log"), stream(false).1, None);
        let other = t.insert(spec("x.log"), stream(true).1, None);
        t.row_mut(glob).muted = true;
        let file = t.insert(spec("logs/a.log"), stream(true).1, Some(glob));
        assert!(t.row(file).muted, "a glob's new file is muted with it");
        assert_eq!(t.family(glob), [glob, file]);
        assert_eq!(t.family(other), [other]);
        let key = FileKey::Path("/logs/a.log".into());
        t.remember_file(key.clone(), file);
        assert_eq!(t.same_file(&key), Some(file));
        for id in t.family(glob) {
            t.detach(id);
        }
        assert_eq!(t.same_file(&key), None, "a detached file is followed by nobody");
        assert_eq!(t.status_names(), "[2] x.log");
        assert!(t.first_note(&key) && !t.first_note(&key));
    }

    #[test]
    fn the_map_yields_each_sources_events_under_its_id() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut t = Table::default();
            let (tx, s) = stream(false);
            let id = t.insert(spec("tcp:1"), s, None);
            tx.note("hello").await.unwrap();
            drop(tx);
            assert!(matches!(t.map.next().await, Some((i, SourceEvent::Note(n))) if i == id && n == "hello"));
            assert!(matches!(t.map.next().await, Some((_, SourceEvent::Ended))));
            assert!(t.map.next().await.is_none() && t.is_done());
        });
    }

    #[test]
    fn the_list_lines_up_wide_labels_by_cells() {
        let mut t = Table::default();
        t.insert(spec("日本語=a.log"), stream(true).1, None);
        t.insert(spec("app.log"), stream(true).1, None);
        let rows = t.list(false);
        let col = |row: &str| crate::render::width(&row[..row.find("following").unwrap()]);
        assert_eq!(col(&rows[1]), col(&rows[2]), "{rows:?}");
    }

    #[test]
    fn names_are_safe_and_numbers_count_from_one() {
        let mut t = Table::default();
        let id = t.insert(spec("evil\x1b[2J=x.log"), stream(true).1, None);
        assert_eq!(t.name(id), "[1] evil^[[2J");
        assert_eq!(t.number(1), Some(id));
        assert_eq!((t.number(0), t.number(2)), (None, None));
        assert_eq!(t.count().load(Ordering::Relaxed), 1);
    }
}
