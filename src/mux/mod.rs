//! The mux: every source's stream in one map ([`streams`], keyed by source id), one loop,
//! tagged batches out.
//!
//! The loop selects over signals, the end of the output, commands (keys), look-ups of sources
//! being attached, and the map of sources. Lines become [`Out`] messages queued for the writer;
//! while that queue waits for room the map is not polled, so backpressure reaches every source.
//! The [`table`] keeps the map and a row per source beside it; [`hold`] keeps lines back while
//! paused; [`feedback`] turns what there is to say into messages for the writer. Attaching a
//! source inserts its stream; detaching removes it, and dropping the stream closes everything
//! the source held.

mod attach;
mod backlog;
pub mod feedback;
mod group;
mod handoff;
pub mod hold;
mod show;
mod streams;
pub mod table;

use std::collections::{HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use regex::bytes::Regex;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::StreamExt;

use crate::filter::context::{Context, Ring};
use crate::filter::window::Window;
use crate::filter::Filters;
use crate::keys::{self, Command};
use crate::output::{Out, OutSender, Output, OutputEnd};
use crate::parse::Level;
use crate::source::{
    self, watch::DirWatch, Initial, Resolver, SourceEvent, SourceOptions, SourceSpec,
};
use crate::term::{self, Signals};
use feedback::{Feedback, Mode, StatusView};
pub use group::Groups;
use hold::Hold;
use table::{FileKey, SourceId, State, Table};

/// How long the writer may take to write out what it holds when a signal ends the program.
const SIGNAL_DRAIN: Duration = Duration::from_secs(1);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
enum Exit {
    /// Every source ended.
    Ended,
    /// Asked to quit.
    Quit,
    /// A signal: SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// The output ended (closed pipe or write error).
    Output,
}

/// The mux and its source table.
pub struct Mux {
    table: Table,
    opts: SourceOptions,
    watch: DirWatch,
    /// Messages waiting for room in the writer's queue, in order.
    pending: VecDeque<Out>,
    /// Bytes of lines in `pending`.
    pending_bytes: usize,
    /// Set when a source failed: the exit status becomes 1.
    failed: bool,
    hold: Hold,
    /// The live filter (`/`).
    filter: Option<Regex>,
    /// `-e` and `-v`.
    filters: Filters,
    ignore_case: bool,
    feedback: Feedback,
    /// Standard input is the terminal (so `-` cannot be attached: the keys come from there).
    stdin_tty: bool,
    /// Sources being attached whose names are being looked up: the text typed, and the result.
    locating: JoinSet<anyhow::Result<SourceSpec>>,
    resolver: Resolver,
    /// A list or the help is shown: the next key dismisses it (shared with the parser).
    dismiss: Arc<AtomicBool>,
    /// A list or the help is shown and output waits. The mux's own flag, cleared only when the
    /// parser's `Dismiss` arrives: the parser clears `dismiss` first, and a line let through in
    /// between would pass the lines held before it.
    listed: bool,
    /// `--count`: lines are counted, not shown, and the counts printed at the end.
    counting: bool,
    /// `--multiline`: lines grouped into events.
    groups: Option<Groups>,
    /// `--level` (or the `L` key): the least level shown.
    level: Option<Level>,
    /// `-A`/`-B`/`-C`, and each source's context state.
    context: Context,
    rings: HashMap<SourceId, Ring>,
    /// `--since`/`--until`, and each source's last line time.
    window: Window,
    times: HashMap<SourceId, Option<jiff::Timestamp>>,
    /// The files' first lines, kept back to go out merged by time.
    backlog: Option<backlog::Backlog>,
}

impl Mux {
    /// A mux with no sources.
    pub fn new(opts: SourceOptions, mode: Mode, filters: Filters, ignore_case: bool) -> Mux {
        Mux {
            table: Table::default(),
            opts,
            watch: DirWatch::default(),
            pending: VecDeque::new(),
            pending_bytes: 0,
            failed: false,
            hold: Hold::default(),
            filter: None,
            filters,
            ignore_case,
            feedback: Feedback::new(mode),
            stdin_tty: false,
            locating: JoinSet::new(),
            resolver: source::system_resolver,
            dismiss: Arc::default(),
            listed: false,
            counting: false,
            groups: None,
            level: None,
            context: Context::default(),
            rings: HashMap::new(),
            window: Window::default(),
            times: HashMap::new(),
            backlog: None,
        }
    }

    /// Shows only events at `level` or above (and those with none) and inside `window`, with
    /// `context` around what the filters keep.
    pub fn set_selection(&mut self, level: Option<Level>, context: Context, window: Window) {
        self.level = level;
        self.context = context;
        self.window = window;
    }

    /// Groups lines into events (`--multiline`).
    pub fn set_groups(&mut self, groups: Groups) {
        self.groups = Some(groups);
    }

    /// Counts lines per source instead of showing them (`--count`).
    pub fn set_counting(&mut self, on: bool) {
        self.counting = on;
    }

    /// Says that standard input is the terminal the keys are read from.
    pub fn set_stdin_tty(&mut self, on: bool) {
        self.stdin_tty = on;
    }

    /// What the key parser needs to know of the mux, kept up to date.
    pub fn keys(&self) -> keys::Shared {
        keys::Shared { sources: self.table.count(), dismiss: self.dismiss.clone() }
    }

    /// Runs until every source ends, `Quit`, a signal, or the output ends; returns the exit
    /// status.
    pub async fn run(
        mut self,
        output: Output,
        mut commands: mpsc::Receiver<Command>,
        signals: Signals,
    ) -> anyhow::Result<ExitCode> {
        let Output { tx: out, end: mut out_end } = output;
        let Signals { mut int, mut term, mut hup, mut tstp, mut cont, mut winch } = signals;
        self.feedback.hint(&mut self.pending);
        self.update_status();
        let mut output_end = None;
        let exit = loop {
            self.check_backlog();
            if self.table.is_done()
                && self.pending.is_empty()
                && self.hold.is_empty()
                && self.locating.is_empty()
            {
                break Exit::Ended;
            }
            let can_take = self.pending.is_empty() && !(self.holding() && self.hold.is_full());
            let timing = self.groups.as_ref().is_some_and(Groups::is_timing);
            if self.gathering() {
                if let Some((id, event)) = self.ready_now().await {
                    self.event(id, event);
                    continue;
                }
            }
            tokio::select! {
                biased;
                Some(_) = term::recv_optional(&mut int) => break Exit::Signal(libc::SIGINT),
                Some(_) = term::recv_optional(&mut term) => break Exit::Signal(libc::SIGTERM),
                Some(_) = term::recv_optional(&mut hup) => break Exit::Signal(libc::SIGHUP),
                Some(end) = out_end.recv() => {
                    output_end = Some(end);
                    break Exit::Output;
                }
                Some(_) = term::recv_optional(&mut tstp) => self.suspend(&out).await,
                Some(_) = term::recv_optional(&mut cont) => self.resume(),
                Some(_) = term::recv_optional(&mut winch) => self.pending.push_back(Out::Resize),
                Some(cmd) = commands.recv() => {
                    if self.command(cmd).await {
                        break Exit::Quit;
                    }
                }
                Some(located) = self.locating.join_next(), if !self.locating.is_empty() => {
                    match located {
                        Ok(located) => self.attach_located(located),
                        Err(e) => self.say(format!("cannot attach: {e}")),
                    }
                }
                permit = out.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(permit) => permit.send(self.handoff()),
                    // The writer stopped; its reason arrives on `out_end`.
                    Err(_) => {
                        self.pending.clear();
                        self.pending_bytes = 0;
                    }
                },
                () = group::tick(&mut self.groups), if timing => self.expire(false),
                item = self.table.map.next(), if can_take => {
                    // `None`: the last stream just ended; the check above ends the loop.
                    if let Some((id, event)) = item {
                        self.event(id, event);
                    }
                }
            }
        };
        self.table.close_all();
        self.locating.abort_all();
        if matches!(exit, Exit::Quit | Exit::Signal(_)) {
            // Lines read but not yet written (open events too) go out before mux-tail does,
            // within a bound: a quit never silently drops what was read.
            self.expire(true);
            let pending = async {
                while !self.pending.is_empty() {
                    if out.send(self.handoff()).await.is_err() {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(SIGNAL_DRAIN, pending).await;
        }
        if self.counting && exit == Exit::Ended {
            for (id, row) in self.table.rows() {
                if !matches!(row.spec.kind, source::SourceKind::Glob(_)) {
                    let _ = out.send(Out::Count(id, row.shown)).await;
                }
            }
        }
        drop(out);
        let end = match (output_end, &exit) {
            (Some(end), _) => end,
            (None, Exit::Signal(_)) => tokio::time::timeout(SIGNAL_DRAIN, out_end.recv())
                .await
                .ok()
                .flatten()
                .unwrap_or(OutputEnd::Finished),
            (None, _) => out_end.recv().await.unwrap_or(OutputEnd::Finished),
        };
        // A Ctrl-C that arrived before now wins over how the loop happened to end.
        let exit = if term::interrupted() { Exit::Signal(libc::SIGINT) } else { exit };
        exit_code(&exit, end, self.failed)
    }

    fn event(&mut self, id: SourceId, event: SourceEvent) {
        let row = self.table.row_mut(id);
        match event {
            SourceEvent::Lines(lines) => {
                row.lines += lines.batch.len() as u64;
                row.bytes += lines.batch.content_bytes() as u64;
                if lines.batch.cut_by_budget() && !row.budget_noted {
                    row.budget_noted = true;
                    let line = format!(
                        "{}: unfinished lines over --max-pending-bytes: the longest are cut into pieces",
                        row.spec.spec
                    );
                    self.feedback.note(&line, &mut self.pending);
                }
                self.group(id, *lines);
            }
            SourceEvent::InputEnded(peer) => self.input_ended(id, peer),
            SourceEvent::Note(msg) => {
                let line = format!("{}: {msg}", row.spec.spec);
                self.feedback.note(&line, &mut self.pending);
            }
            SourceEvent::Failed(msg) => {
                row.state = State::Failed;
                self.failed = true;
                let line = format!("{}: {msg}", row.spec.spec);
                self.feedback.note(&line, &mut self.pending);
                self.update_status();
            }
            SourceEvent::Found(found) => {
                let source::Found { path, id: (dev, ino), glob } = *found;
                // Files appearing later are read from their first line.
                let opts = SourceOptions {
                    initial: Initial::From(1),
                    glob_ended: Some(glob),
                    ..self.opts.clone()
                };
                if let Err(e) = self.attach_found(id, path, FileKey::Inode(dev, ino), &opts) {
                    self.feedback.note(&format!("{e:#}"), &mut self.pending);
                }
                self.update_status();
            }
            SourceEvent::CaughtUp => {
                self.caught_up_backlog(id);
                self.table.caught_up(id);
            }
            SourceEvent::Ended => {
                self.end_events(id);
                self.forget_context(id);
                let row = self.table.row_mut(id);
                if row.state == State::Following {
                    row.state = State::Ended;
                    self.update_status();
                }
                self.table.caught_up(id);
            }
        }
    }

    /// Carries out a command; true to quit.
    async fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Quit => return true,
            #[cfg(debug_assertions)]
            Command::Panic => panic!("panic asked for with the debug key"),
            Command::Prompt(prompt) => {
                self.feedback.set_prompt(prompt, &mut self.pending);
                self.update_status();
                if !self.holding() {
                    self.release_held();
                }
            }
            Command::ToggleMute(n) => {
                if let Some(id) = self.number(n) {
                    let muted = !self.table.row(id).muted;
                    // A glob's files go with it.
                    for i in self.table.family(id) {
                        self.table.row_mut(i).muted = muted;
                    }
                    let what = if muted { "muted" } else { "unmuted" };
                    self.say(format!("{what} {}", self.table.name(id)));
                }
            }
            Command::Detach(n) => {
                let Some(id) = self.number(n) else { return false };
                if !self.table.is_live(id) {
                    self.say(format!("{} is not being followed", self.table.name(id)));
                    return false;
                }
                for i in self.table.family(id) {
                    // What was read of an open event is shown.
                    self.end_events(i);
                    if let Some(stream) = self.table.detach(i) {
                        // Its files, listener and connections are closed when this says so.
                        stream.close().await;
                        self.pending.push_back(Out::Forget(i));
                    }
                    self.forget_context(i);
                }
                self.say(format!("detached {}", self.table.name(id)));
            }
            Command::Attach(text) => match SourceSpec::parse(&text) {
                // The look-up (if any) runs on its own: other sources go on meanwhile.
                Ok(spec) => {
                    self.locating.spawn(source::locate(spec, self.resolver));
                }
                Err(e) => self.say(format!("cannot attach {e}")),
            },
            Command::TogglePause => {
                self.hold.paused = !self.hold.paused;
                if self.hold.paused {
                    self.say("paused; p or space resumes".into());
                } else {
                    let held = self.hold.lines();
                    if !self.holding() {
                        self.release_held();
                    }
                    match held {
                        0 => self.say("resumed".into()),
                        n => self.say(format!("resumed ({n} held lines follow)")),
                    }
                }
            }
            Command::Filter(text) => self.set_filter(text),
            Command::CycleLevel => self.cycle_level(),
            Command::List => {
                let mut rows = self.table.list(self.groups.is_some());
                if self.hold.paused {
                    rows.push(format!("paused: {} lines held", self.hold.lines()));
                }
                if let Some(re) = &self.filter {
                    rows.push(format!("filter: /{}/", crate::render::safe(re.as_str())));
                }
                self.show_until_a_key(rows);
            }
            Command::Help => {
                let lines = keys::HELP.iter().map(|s| s.to_string()).collect();
                self.show_until_a_key(lines);
            }
            Command::Dismiss => {
                self.listed = false;
                if !self.holding() {
                    self.release_held();
                }
                self.say("output goes on".into());
            }
        }
        false
    }

    /// Shows a list or the help, and holds output until the next key, so that a busy log does
    /// not scroll it away.
    fn show_until_a_key(&mut self, lines: Vec<String>) {
        self.feedback.show_lines(lines, &mut self.pending);
        self.dismiss.store(true, Ordering::Relaxed);
        self.listed = true;
        self.say("output waits: any key goes on".into());
    }

    /// The id for source number `n`, or a message that there is none.
    fn number(&mut self, n: usize) -> Option<SourceId> {
        let id = self.table.number(n);
        if id.is_none() {
            self.say(format!("no source [{n}] (l lists them)"));
        }
        id
    }

    /// Feedback for a key.
    fn say(&mut self, msg: String) {
        self.feedback.say(msg, &mut self.pending);
        self.update_status();
    }

    /// Redraws the status line (in status-line mode).
    fn update_status(&mut self) {
        let view = StatusView {
            table: &self.table,
            held: self.hold.paused.then(|| self.hold.lines()),
            filter: self.filter.as_ref().map(Regex::as_str),
            level: self.level,
        };
        self.feedback.status(&view, &mut self.pending);
    }

    /// Ctrl-Z: the writer takes the status line down, then the terminal is given back and the
    /// program stops until continued.
    async fn suspend(&mut self, out: &OutSender) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if out.send(Out::Suspend(done)).await.is_ok() {
            // The writer answers once the status line is gone (or drops `done` as it stops).
            let _ = wait.await;
        }
        term::suspend();
        self.resume();
    }

    /// Continued (after Ctrl-Z, or `fg`): back to key mode if in the foreground.
    fn resume(&mut self) {
        if term::resume() && matches!(self.feedback.mode(), Mode::StatusLine { .. }) {
            self.pending.push_back(Out::Resume);
            self.update_status();
        }
    }
}

/// The exit status: a signal's 128+N (also when the output ended too), success when the reader
/// of stdout went away, an error when writing failed, 1 when a source failed, else success.
fn exit_code(exit: &Exit, end: OutputEnd, failed: bool) -> anyhow::Result<ExitCode> {
    match (end, exit) {
        (_, Exit::Signal(sig)) => Ok(ExitCode::from(128 + *sig as u8)),
        (OutputEnd::Failed(e), _) => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        // The reader is gone: nothing more to say.
        (OutputEnd::Closed, _) => Ok(ExitCode::SUCCESS),
        (OutputEnd::Finished, _) if failed => Ok(ExitCode::from(1)),
        (OutputEnd::Finished, _) => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests;
