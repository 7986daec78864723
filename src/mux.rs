//! The mux: every source's stream in one `StreamMap`, one loop, tagged batches out.
//!
//! The loop selects over signals, the end of the output, commands (keys: attach, detach, mute,
//! pause, filter, list, quit) and the map of sources. Lines become [`Out`] messages queued for the
//! writer; while that queue waits for room the map is not polled, so backpressure reaches every
//! source. Keys of the map are small `Copy` ids; labels, states and counters live in a table
//! beside it. Attaching a source inserts its stream; detaching removes it, and dropping the
//! stream closes everything the source held.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use regex::bytes::Regex;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio_stream::{StreamExt, StreamMap};

use crate::filter::{self, Filters};
use crate::keys;
use crate::messages;
use crate::output::{Out, Output, OutputEnd};
use crate::render::escape_into;
use crate::source::{
    self, watch::DirWatch, Initial, SourceEvent, SourceKind, SourceOptions, SourceSpec,
    SourceStatus, SourceStream,
};
use crate::term;

/// How long the writer may take to write out what it holds when a signal ends the program.
const SIGNAL_DRAIN: Duration = Duration::from_secs(1);
/// Bytes of lines held while paused; beyond that, sources are held back instead.
const HOLD_BYTES: usize = 8 << 20;

/// A source's key in the map: its index in the source table (its number is the index + 1).
pub type SourceId = usize;

/// What can be asked of the mux while it runs (source numbers count from 1).
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Follow another source from now on (a SOURCE argument, parsed by the mux).
    Attach(String),
    /// Stop following source N and close everything it holds.
    Detach(usize),
    /// Drop (or stop dropping) source N's lines.
    ToggleMute(usize),
    /// Hold output back, or let it go again.
    TogglePause,
    /// Show only lines matching this regex; empty shows all again.
    Filter(String),
    /// Show the source table.
    List,
    /// Show the keys.
    Help,
    /// End the program.
    Quit,
    /// Show a prompt being typed (`None`: the prompt closed).
    Prompt(Option<String>),
    /// Panic, to test that a panic restores the terminal (debug builds only).
    #[cfg(debug_assertions)]
    Panic,
}

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

/// One row of the source table.
#[derive(Debug)]
struct SourceInfo {
    spec: SourceSpec,
    /// The glob that found this file.
    parent: Option<SourceId>,
    state: State,
    muted: bool,
    lines: u64,
    bytes: u64,
    status: Arc<SourceStatus>,
}

/// Where feedback for keys goes.
pub enum Feedback {
    /// No keys: nothing to say.
    Off,
    /// A status line at the bottom of the terminal on stdout; with `notes_inline`, notes are
    /// shown among the log lines too (stderr is that same terminal).
    StatusLine {
        /// Notes go through the writer rather than stderr.
        notes_inline: bool,
    },
    /// Whole lines on stderr; prompts are drawn on the terminal itself.
    Stderr {
        /// The terminal, for prompts.
        tty: File,
    },
}

/// Why the loop ended.
#[derive(Debug)]
enum Exit {
    /// Every source ended.
    Ended,
    /// Asked to quit.
    Quit,
    /// A signal: SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// The output ended (closed pipe or write error).
    Output(OutputEnd),
}

/// The mux and its source table.
pub struct Mux {
    map: StreamMap<SourceId, SourceStream>,
    sources: Vec<SourceInfo>,
    opts: SourceOptions,
    watch: DirWatch,
    /// Messages waiting for room in the writer's queue, in order.
    pending: VecDeque<Out>,
    /// Set when a source failed: the exit status becomes 1.
    failed: bool,
    paused: bool,
    held: VecDeque<Out>,
    held_lines: u64,
    held_bytes: usize,
    /// The live filter (`/`).
    filter: Option<Regex>,
    /// `-e` and `-v`.
    filters: Filters,
    ignore_case: bool,
    feedback: Feedback,
    prompt: Option<String>,
    message: Option<String>,
    /// The number of sources, shared with the key parser.
    count: Arc<AtomicUsize>,
    /// Standard input is the terminal (so `-` cannot be attached: the keys come from there).
    stdin_tty: bool,
    /// Files waiting to start, in order (see [`Mux::admit`]).
    queued: VecDeque<(SourceId, SourceStream)>,
    /// The file reading what was there when it started; the next waits for it.
    starting: Option<SourceId>,
}

impl Mux {
    /// A mux with no sources.
    pub fn new(
        opts: SourceOptions,
        feedback: Feedback,
        filters: Filters,
        ignore_case: bool,
    ) -> Mux {
        Mux {
            map: StreamMap::new(),
            sources: Vec::new(),
            opts,
            watch: DirWatch::default(),
            pending: VecDeque::new(),
            failed: false,
            paused: false,
            held: VecDeque::new(),
            held_lines: 0,
            held_bytes: 0,
            filter: None,
            filters,
            ignore_case,
            feedback,
            prompt: None,
            message: None,
            count: Arc::default(),
            stdin_tty: false,
            queued: VecDeque::new(),
            starting: None,
        }
    }

    /// Says that standard input is the terminal the keys are read from.
    pub fn set_stdin_tty(&mut self, on: bool) {
        self.stdin_tty = on;
    }

    /// The number of sources so far, kept up to date (for the key parser).
    pub fn count(&self) -> Arc<AtomicUsize> {
        self.count.clone()
    }

    /// Starts following `spec`; fails (naming it) if it cannot start. Must run in the runtime.
    ///
    /// A glob's files that exist now are attached right after it, with the same options.
    pub fn attach(&mut self, spec: SourceSpec, opts: &SourceOptions) -> anyhow::Result<SourceId> {
        let id = self.attach_one(spec, opts, None)?;
        if let SourceKind::Glob(pattern) = &self.sources[id].spec.kind {
            for path in pattern.scan() {
                self.attach_found(id, path, opts)?;
            }
        }
        Ok(id)
    }

    fn attach_one(
        &mut self,
        spec: SourceSpec,
        opts: &SourceOptions,
        parent: Option<SourceId>,
    ) -> anyhow::Result<SourceId> {
        let stream = source::open(&spec, opts, &self.watch)?;
        let id = self.sources.len();
        self.pending.push_back(Out::Source(id, spec.label.clone(), spec.spec.clone()));
        self.sources.push(SourceInfo {
            parent,
            spec,
            state: State::Following,
            muted: false,
            lines: 0,
            bytes: 0,
            status: stream.status(),
        });
        if stream.catches_up() {
            // Files start one after the other, so that their first lines come out in order.
            self.queued.push_back((id, stream));
            self.admit();
        } else {
            self.map.insert(id, stream);
        }
        self.count.store(self.sources.len(), Ordering::Relaxed);
        Ok(id)
    }

    /// Lets the next queued file start once the one starting has caught up.
    fn admit(&mut self) {
        if self.starting.is_none() {
            if let Some((id, stream)) = self.queued.pop_front() {
                self.map.insert(id, stream);
                self.starting = Some(id);
            }
        }
    }

    /// Source `id` has read what was there when it started (or ended).
    fn caught_up(&mut self, id: SourceId) {
        if self.starting == Some(id) {
            self.starting = None;
            self.admit();
        }
    }

    /// Follows a file that glob `glob` found, unless one of its files already follows it.
    fn attach_found(
        &mut self,
        glob: SourceId,
        path: std::path::PathBuf,
        opts: &SourceOptions,
    ) -> anyhow::Result<()> {
        let followed = self.sources.iter().any(|s| {
            s.parent == Some(glob)
                && s.state == State::Following
                && s.spec.kind == SourceKind::File(path.clone())
        });
        if followed {
            return Ok(());
        }
        let g = &self.sources[glob];
        let file = path.to_string_lossy().into_owned();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let label = if g.spec.labelled { format!("{}:{name}", g.spec.label) } else { file.clone() };
        let spec = SourceSpec {
            label,
            spec: file,
            labelled: g.spec.labelled,
            kind: SourceKind::File(path),
        };
        let opts = SourceOptions { end_when_gone: true, ..opts.clone() };
        self.attach_one(spec, &opts, Some(glob))?;
        if self.sources[glob].muted {
            self.sources.last_mut().expect("just attached").muted = true;
        }
        Ok(())
    }

    /// Attaches every source of the command line, in order.
    pub fn attach_all(&mut self, specs: Vec<SourceSpec>) -> anyhow::Result<()> {
        let opts = self.opts.clone();
        for spec in specs {
            self.attach(spec, &opts)?;
        }
        Ok(())
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
        let Signals {
            int: mut sigint,
            term: mut sigterm,
            hup: mut sighup,
            tstp: mut sigtstp,
            cont: mut sigcont,
            winch: mut sigwinch,
        } = signals;
        self.update_status();
        let exit = loop {
            if self.map.is_empty()
                && self.queued.is_empty()
                && self.pending.is_empty()
                && self.held.is_empty()
            {
                break Exit::Ended;
            }
            let can_take =
                self.pending.is_empty() && !(self.holding() && self.held_bytes >= HOLD_BYTES);
            tokio::select! {
                biased;
                _ = sigint.recv() => break Exit::Signal(libc::SIGINT),
                _ = sigterm.recv() => break Exit::Signal(libc::SIGTERM),
                _ = sighup.recv() => break Exit::Signal(libc::SIGHUP),
                Some(end) = out_end.recv() => break Exit::Output(end),
                Some(_) = recv_signal(&mut sigtstp) => self.suspend(&out).await,
                Some(_) = recv_signal(&mut sigcont) => self.resume(),
                Some(_) = recv_signal(&mut sigwinch) => self.pending.push_back(Out::Resize),
                Some(cmd) = commands.recv() => {
                    if self.command(cmd).await {
                        break Exit::Quit;
                    }
                }
                permit = out.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(permit) => permit.send(self.pending.pop_front().expect("not empty")),
                    // The writer stopped; its reason arrives on `out_end`.
                    Err(_) => self.pending.clear(),
                },
                item = self.map.next(), if can_take => {
                    // `None`: the last stream just ended; the check above ends the loop.
                    if let Some((id, event)) = item {
                        self.event(id, event);
                    }
                }
            }
        };
        let signal = match exit {
            Exit::Signal(sig) => Some(sig),
            _ => None,
        };
        drop(self.map);
        drop(out);
        let end = match exit {
            Exit::Output(end) => end,
            Exit::Signal(_) => tokio::time::timeout(SIGNAL_DRAIN, out_end.recv())
                .await
                .ok()
                .flatten()
                .unwrap_or(OutputEnd::Finished),
            Exit::Ended | Exit::Quit => out_end.recv().await.unwrap_or(OutputEnd::Finished),
        };
        match end {
            OutputEnd::Failed(e) => {
                return Err(anyhow::Error::new(e).context("cannot write to standard output"))
            }
            // The reader is gone: nothing more to say.
            OutputEnd::Closed => return Ok(ExitCode::SUCCESS),
            OutputEnd::Finished => {}
        }
        Ok(match signal {
            Some(sig) => ExitCode::from(128 + sig as u8),
            None if self.failed => ExitCode::from(1),
            None => ExitCode::SUCCESS,
        })
    }

    fn event(&mut self, id: SourceId, event: SourceEvent) {
        let info = &mut self.sources[id];
        match event {
            SourceEvent::Lines(mut lines) => {
                info.lines += lines.batch.len() as u64;
                info.bytes += lines.batch.content_bytes() as u64;
                if info.muted {
                    return;
                }
                self.filters.apply(&mut lines.batch);
                if let Some(re) = &self.filter {
                    lines.batch.retain(|line| re.is_match(line));
                }
                if lines.batch.is_empty() {
                    return;
                }
                if self.holding() {
                    self.held_lines += lines.batch.len() as u64;
                    self.held_bytes += lines.batch.content_bytes();
                    self.held.push_back(Out::Lines(id, lines));
                    self.update_status();
                } else {
                    self.pending.push_back(Out::Lines(id, lines));
                }
            }
            SourceEvent::Note(msg) => {
                let line = format!("{}: {msg}", info.spec.spec);
                self.note(line);
            }
            SourceEvent::Failed(msg) => {
                info.state = State::Failed;
                self.failed = true;
                let line = format!("{}: {msg}", info.spec.spec);
                self.note(line);
                self.update_status();
            }
            SourceEvent::Found(path) => {
                // Files appearing later are read from their first line.
                let opts = SourceOptions { initial: Initial::From(1), ..self.opts.clone() };
                if let Err(e) = self.attach_found(id, path, &opts) {
                    self.note(format!("{e:#}"));
                }
                self.update_status();
            }
            SourceEvent::CaughtUp => self.caught_up(id),
            SourceEvent::Ended => {
                if info.state == State::Following {
                    info.state = State::Ended;
                    self.update_status();
                }
                self.caught_up(id);
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
                self.prompt = prompt;
                self.show_prompt();
                if self.prompt.is_none() && !self.paused {
                    self.release_held();
                }
            }
            Command::ToggleMute(n) => {
                if let Some(id) = self.number(n) {
                    let muted = !self.sources[id].muted;
                    // A glob's files go with it.
                    for i in self.family(id) {
                        self.sources[i].muted = muted;
                    }
                    let what = if muted { "muted" } else { "unmuted" };
                    let msg = format!("{what} {}", self.name(id));
                    self.say(msg);
                }
            }
            Command::Detach(n) => {
                if let Some(id) = self.number(n) {
                    if self.map.contains_key(&id) || self.queued.iter().any(|(q, _)| *q == id) {
                        for i in self.family(id) {
                            let queued = self.queued.iter().position(|(q, _)| *q == i);
                            let stream = match queued {
                                Some(at) => self.queued.remove(at).map(|(_, s)| s),
                                None => self.map.remove(&i),
                            };
                            if let Some(stream) = stream {
                                // Its files, listener and connections are closed when this says
                                // so.
                                stream.close().await;
                                self.sources[i].state = State::Detached;
                                self.pending.push_back(Out::Forget(i));
                                self.caught_up(i);
                            }
                        }
                        let msg = format!("detached {}", self.name(id));
                        self.say(msg);
                    } else {
                        let msg = format!("{} is not being followed", self.name(id));
                        self.say(msg);
                    }
                }
            }
            Command::Attach(text) => {
                let result =
                    SourceSpec::parse(&text).map_err(anyhow::Error::from).and_then(|spec| {
                        self.may_attach(&spec)?;
                        // Attached files are followed from now on.
                        let opts = SourceOptions { initial: Initial::Last(0), ..self.opts.clone() };
                        self.attach(spec, &opts)
                    });
                match result {
                    Ok(id) => {
                        let msg = format!("attached {}", self.name(id));
                        self.say(msg);
                    }
                    Err(e) => self.say(format!("cannot attach {e:#}")),
                }
            }
            Command::TogglePause => {
                self.paused = !self.paused;
                if self.paused {
                    self.say("paused; p or space resumes".into());
                } else {
                    let held = self.held_lines;
                    if self.prompt.is_none() || !matches!(self.feedback, Feedback::Stderr { .. }) {
                        self.release_held();
                    }
                    match held {
                        0 => self.say("resumed".into()),
                        n => self.say(format!("resumed ({n} held lines follow)")),
                    }
                }
            }
            Command::Filter(text) => {
                if text.is_empty() {
                    self.filter = None;
                    self.say("filter cleared".into());
                } else {
                    match filter::compile(&text, self.ignore_case) {
                        Ok(re) => {
                            self.filter = Some(re);
                            self.say(format!("showing only lines matching /{text}/"));
                        }
                        // The old filter stays.
                        Err(e) => self.say(e),
                    }
                }
            }
            Command::List => {
                let rows = self.list();
                self.show_lines(rows);
            }
            Command::Help => self.show_lines(keys::HELP.iter().map(|s| s.to_string()).collect()),
        }
        false
    }

    /// Lets held lines go (pause ended, or a prompt closed).
    fn release_held(&mut self) {
        self.held_lines = 0;
        self.held_bytes = 0;
        self.pending.extend(self.held.drain(..));
    }

    /// Whether lines are held back: paused, or a prompt is being typed on a terminal that the
    /// output also goes to (piped into grep), where lines would run through the prompt.
    fn holding(&self) -> bool {
        self.paused || (self.prompt.is_some() && matches!(self.feedback, Feedback::Stderr { .. }))
    }

    /// Refuses what cannot be attached: standard input again, or when the keys come from it;
    /// a file already followed.
    fn may_attach(&self, spec: &SourceSpec) -> anyhow::Result<()> {
        let following = |kind: &SourceKind| {
            self.sources.iter().position(|s| &s.spec.kind == kind && s.state == State::Following)
        };
        match &spec.kind {
            SourceKind::Stdin if self.stdin_tty => {
                anyhow::bail!("-: standard input is the terminal the keys come from")
            }
            SourceKind::Stdin if self.sources.iter().any(|s| s.spec.kind == SourceKind::Stdin) => {
                anyhow::bail!("-: standard input is a source already")
            }
            kind @ SourceKind::File(_) => match following(kind) {
                Some(id) => anyhow::bail!("{}: already followed as {}", spec.spec, self.name(id)),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Source `id` and, for a glob, the files it found.
    fn family(&self, id: SourceId) -> Vec<SourceId> {
        let children = self.sources.iter().enumerate().filter(|(_, s)| s.parent == Some(id));
        std::iter::once(id).chain(children.map(|(i, _)| i)).collect()
    }

    /// The id for source number `n`, or a message that there is none.
    fn number(&mut self, n: usize) -> Option<SourceId> {
        if (1..=self.sources.len()).contains(&n) {
            Some(n - 1)
        } else {
            self.say(format!("no source [{n}] (l lists them)"));
            None
        }
    }

    /// `[N] label`, safe to show on a terminal.
    fn name(&self, id: SourceId) -> String {
        format!("[{}] {}", id + 1, safe(&self.sources[id].spec.label))
    }

    fn list(&self) -> Vec<String> {
        let mut rows = vec![format!(
            "{:>4}  {:<24} {:<10} {:>10} {:>12} {:>6} {:>8}",
            "#", "label", "state", "lines", "bytes", "open", "refused"
        )];
        for (id, s) in self.sources.iter().enumerate() {
            let state = match s.state {
                State::Following if s.muted => "muted",
                State::Following if s.status.waiting.load(Ordering::Relaxed) => "waiting",
                State::Following => "following",
                State::Ended => "ended",
                State::Failed => "failed",
                State::Detached => "detached",
            };
            // Listeners: open connections; globs: files followed.
            let conns = match s.spec.kind {
                SourceKind::Tcp(_) | SourceKind::Unix(_) => {
                    s.status.connections.load(Ordering::Relaxed).to_string()
                }
                SourceKind::Glob(_) => self
                    .sources
                    .iter()
                    .filter(|c| c.parent == Some(id) && c.state == State::Following)
                    .count()
                    .to_string(),
                _ => String::new(),
            };
            let refused = match s.spec.kind {
                SourceKind::Tcp(_) | SourceKind::Unix(_) | SourceKind::Udp(_) => {
                    s.status.refused.load(Ordering::Relaxed).to_string()
                }
                _ => String::new(),
            };
            rows.push(format!(
                "{:>4}  {:<24} {:<10} {:>10} {:>12} {:>6} {:>8}",
                id + 1,
                safe(&s.spec.label),
                state,
                s.lines,
                s.bytes,
                conns,
                refused
            ));
        }
        if self.paused {
            rows.push(format!("paused: {} lines held", self.held_lines));
        }
        if let Some(re) = &self.filter {
            rows.push(format!("filter: /{}/", safe(re.as_str())));
        }
        rows
    }

    /// A note from a source: stderr, or among the log lines when that is the same terminal.
    fn note(&mut self, line: String) {
        match self.feedback {
            Feedback::StatusLine { notes_inline: true } => {
                self.pending.push_back(Out::Info(vec![format!("mux-tail: {}", safe(&line))]));
            }
            _ => messages::error(&line),
        }
    }

    /// Feedback for a key.
    fn say(&mut self, msg: String) {
        match &self.feedback {
            Feedback::Off => {}
            Feedback::StatusLine { .. } => {
                self.message = Some(msg);
                self.update_status();
            }
            Feedback::Stderr { .. } => messages::error(&msg),
        }
    }

    /// Lines for the user (list, help).
    fn show_lines(&mut self, lines: Vec<String>) {
        match &self.feedback {
            Feedback::Off => {}
            Feedback::StatusLine { .. } => self.pending.push_back(Out::Info(lines)),
            Feedback::Stderr { .. } => {
                for line in lines {
                    messages::error(&line);
                }
            }
        }
    }

    fn show_prompt(&mut self) {
        match &self.feedback {
            Feedback::Off => {}
            Feedback::StatusLine { .. } => self.update_status(),
            Feedback::Stderr { tty } => {
                let mut tty = tty;
                let text = match &self.prompt {
                    Some(p) => format!("\r\x1b[Kmux-tail: {}", safe(p)),
                    None => "\r\x1b[K".to_string(),
                };
                let _ = tty.write_all(text.as_bytes());
            }
        }
    }

    /// Redraws the status line (in status-line mode).
    fn update_status(&mut self) {
        if !matches!(self.feedback, Feedback::StatusLine { .. }) {
            return;
        }
        let text = match &self.prompt {
            Some(prompt) => safe(prompt),
            None => self.status_text(),
        };
        self.pending.push_back(Out::Status(text));
    }

    fn status_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(msg) = &self.message {
            parts.push(safe(msg));
        }
        let mut names = Vec::new();
        for (id, s) in self.sources.iter().enumerate() {
            let mark = match s.state {
                State::Following if s.muted => " (muted)",
                State::Following => "",
                State::Ended => " (ended)",
                State::Failed => " (failed)",
                State::Detached => continue,
            };
            names.push(format!("{}{mark}", self.name(id)));
        }
        if self.paused {
            parts.push(format!("PAUSED, {} lines held", self.held_lines));
        }
        if let Some(re) = &self.filter {
            parts.push(format!("filter /{}/", safe(re.as_str())));
        }
        // The sources last: on a narrow terminal they are what is cut.
        parts.push("? help".into());
        parts.push(names.join("  "));
        parts.join(" | ")
    }

    /// Ctrl-Z: give the terminal back as it was, stop, and set it up again once continued.
    async fn suspend(&mut self, out: &mpsc::Sender<Out>) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if out.send(Out::Suspend(done)).await.is_ok() {
            // The writer answers once the status line is gone (or drops `done` as it stops).
            let _ = wait.await;
        }
        term::restore();
        term::stop_self();
        self.resume();
    }

    /// Continued (after Ctrl-Z, or `fg`): back to key mode if in the foreground.
    fn resume(&mut self) {
        term::continued();
        if term::enter_key_mode() && matches!(self.feedback, Feedback::StatusLine { .. }) {
            self.pending.push_back(Out::Resume);
            self.update_status();
        }
    }
}

/// The signals the mux handles, registered before anything can send them.
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    tstp: Option<Signal>,
    cont: Option<Signal>,
    winch: Option<Signal>,
}

impl Signals {
    /// Takes over SIGINT, SIGTERM and SIGHUP; with `interactive` (keys on a terminal) also
    /// SIGTSTP, SIGCONT and SIGWINCH. Must run in the runtime.
    pub fn new(interactive: bool) -> std::io::Result<Signals> {
        let optional = |kind| interactive.then(|| signal(kind)).transpose();
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            tstp: optional(SignalKind::from_raw(libc::SIGTSTP))?,
            cont: optional(SignalKind::from_raw(libc::SIGCONT))?,
            winch: optional(SignalKind::window_change())?,
        })
    }
}

/// Receives from an optional signal stream (never, when there is none).
async fn recv_signal(sig: &mut Option<Signal>) -> Option<()> {
    match sig {
        Some(sig) => sig.recv().await,
        None => std::future::pending().await,
    }
}

/// Text from outside (labels, specs, regexes) made safe to show on a terminal.
fn safe(text: &str) -> String {
    let mut out = Vec::new();
    escape_into(&mut out, text.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}
