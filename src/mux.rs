//! The mux: every source's stream in one `StreamMap`, one loop, tagged batches out.
//!
//! The loop selects over signals, the end of the output, control commands (attach, detach,
//! quit) and the map of sources. Lines become [`Out`] messages queued for the writer; while that
//! queue is waiting for room the map is not polled, so backpressure reaches every source. Keys of
//! the map are small `Copy` ids; labels and counters live in a table beside it.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_stream::{StreamExt, StreamMap};

use crate::messages;
use crate::output::{Out, Output, OutputEnd};
use crate::source::{self, watch::DirWatch, SourceEvent, SourceOptions, SourceSpec, SourceStream};

/// How long the writer may take to write out what it holds when a signal ends the program.
const SIGNAL_DRAIN: Duration = Duration::from_secs(1);

/// A source's key in the map: its index in the source table.
pub type SourceId = usize;

/// What can be asked of the mux while it runs.
#[derive(Debug)]
pub enum Command {
    /// Follow another source from now on.
    Attach(SourceSpec),
    /// Stop following a source and close everything it holds.
    Detach(SourceId),
    /// End the program.
    Quit,
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
pub struct SourceInfo {
    /// What was asked for.
    pub spec: SourceSpec,
    /// Where it stands.
    pub state: State,
    /// Lines seen.
    pub lines: u64,
    /// Bytes seen (line contents, without line endings).
    pub bytes: u64,
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
}

impl Mux {
    /// A mux with no sources.
    pub fn new(opts: SourceOptions) -> Mux {
        Mux {
            map: StreamMap::new(),
            sources: Vec::new(),
            opts,
            watch: DirWatch::default(),
            pending: VecDeque::new(),
            failed: false,
        }
    }

    /// Starts following `spec`; fails (naming it) if it cannot start. Must run in the runtime.
    pub fn attach(&mut self, spec: SourceSpec) -> anyhow::Result<SourceId> {
        let stream = source::open(&spec, &self.opts, &self.watch)?;
        let id = self.sources.len();
        self.pending.push_back(Out::Source(id, spec.label.clone()));
        self.map.insert(id, stream);
        self.sources.push(SourceInfo { spec, state: State::Following, lines: 0, bytes: 0 });
        Ok(id)
    }

    /// Stops following source `id`: its stream is dropped, closing all it holds.
    pub fn detach(&mut self, id: SourceId) -> bool {
        if self.map.remove(&id).is_none() {
            return false;
        }
        self.sources[id].state = State::Detached;
        true
    }

    /// The source table.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Runs until every source ends, `Quit`, a signal, or the output ends; returns the exit
    /// status.
    pub async fn run(
        mut self,
        output: Output,
        mut control: mpsc::Receiver<Command>,
    ) -> anyhow::Result<ExitCode> {
        let Output { tx: out, end: mut out_end } = output;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sighup = signal(SignalKind::hangup())?;
        let exit = loop {
            if self.map.is_empty() && self.pending.is_empty() {
                break Exit::Ended;
            }
            tokio::select! {
                biased;
                _ = sigint.recv() => break Exit::Signal(libc_sig::INT),
                _ = sigterm.recv() => break Exit::Signal(libc_sig::TERM),
                _ = sighup.recv() => break Exit::Signal(libc_sig::HUP),
                Some(end) = out_end.recv() => break Exit::Output(end),
                Some(cmd) = control.recv() => match cmd {
                    Command::Attach(spec) => {
                        if let Err(e) = self.attach(spec) {
                            messages::error(&format!("{e:#}"));
                        }
                    }
                    Command::Detach(id) => {
                        self.detach(id);
                    }
                    Command::Quit => break Exit::Quit,
                },
                permit = out.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(permit) => permit.send(self.pending.pop_front().expect("not empty")),
                    // The writer stopped; its reason arrives on `out_end`.
                    Err(_) => self.pending.clear(),
                },
                item = self.map.next(), if self.pending.is_empty() => {
                    // `None`: the last stream just ended; the check above ends the loop.
                    if let Some((id, event)) = item {
                        self.event(id, event);
                    }
                }
            }
        };
        drop(self.map);
        drop(out);
        let signal = match exit {
            Exit::Signal(sig) => Some(sig),
            _ => None,
        };
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
            SourceEvent::Lines(batch, peer) => {
                info.lines += batch.len() as u64;
                info.bytes += batch.content_bytes() as u64;
                self.pending.push_back(Out::Lines(id, batch, peer));
            }
            SourceEvent::Note(msg) => messages::note(&info.spec.spec, &msg),
            SourceEvent::Failed(msg) => {
                messages::error(&format!("{}: {msg}", info.spec.spec));
                info.state = State::Failed;
                self.failed = true;
            }
            SourceEvent::Ended => {
                if info.state == State::Following {
                    info.state = State::Ended;
                }
            }
        }
    }
}

/// Signal numbers (Linux).
mod libc_sig {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const TERM: i32 = 15;
}
