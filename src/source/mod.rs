//! Sources: what a SOURCE argument means, and the one stream type every source becomes.
//!
//! Each source runs as its own producer (a tokio task, or a thread where a read cannot be
//! cancelled) that sends [`SourceEvent`]s into a small bounded channel. The [`SourceStream`] on the
//! receiving end is what the mux puts in its map; dropping it stops the producer and closes
//! everything the source holds (watch, file, listener, connections). The bounded channel is the
//! backpressure path: a producer whose stream is not being read stops reading its input.

pub mod allow;
pub mod cleanup;
pub mod cmd;
pub mod file;
pub mod glob;
pub mod listener;
pub mod stdin;
pub mod tcp;
pub mod udp;
pub mod unix;
pub mod watch;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::Stream;

use crate::lines::Batch;

/// How many events may wait in one source's channel before its producer pauses.
const CHANNEL_EVENTS: usize = 4;

/// One SOURCE argument, parsed and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    /// The label its lines carry.
    pub label: String,
    /// The argument as the user wrote it (without a `LABEL=` prefix).
    pub spec: String,
    /// The label was given (`LABEL=`), not taken from the spec.
    pub labelled: bool,
    /// What to follow.
    pub kind: SourceKind,
}

/// The kinds of source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A file followed by name.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A TCP listener.
    Tcp(SocketAddr),
    /// A UDP socket: each datagram's lines.
    Udp(SocketAddr),
    /// A Unix stream socket listener at this path.
    Unix(PathBuf),
    /// A command run with `sh -c`: its stdout and stderr lines.
    Cmd(String),
    /// Every file in `dir` whose name matches `pattern`, also files that appear later.
    Glob(glob::Pattern),
}

/// An error in a SOURCE argument; its message names the argument.
#[derive(Debug)]
pub struct SpecError {
    spec: String,
    reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.spec, self.reason)
    }
}

impl std::error::Error for SpecError {}

impl SourceSpec {
    /// Parses one SOURCE argument: `[LABEL=]PATH`, `-`, `tcp:[HOST:]PORT`, `tcp:[V6]:PORT`.
    ///
    /// Text before the first `=` is a label when it holds no `/` and no `:` (so `./a=b` is a
    /// path and `tcp:…` is never mistaken for one).
    pub fn parse(arg: &str) -> Result<SourceSpec, SpecError> {
        let err = |reason: String| SpecError { spec: arg.to_string(), reason };
        let (label, spec) = match arg.split_once('=') {
            Some((label, rest)) if !label.contains(['/', ':']) => {
                if label.is_empty() {
                    return Err(err("empty label before '='".into()));
                }
                if rest.is_empty() {
                    return Err(err("no source after '='".into()));
                }
                (Some(label.to_string()), rest)
            }
            _ => (None, arg),
        };
        if spec.is_empty() {
            return Err(err("empty source".into()));
        }
        let kind = if spec == "-" {
            SourceKind::Stdin
        } else if let Some(addr) = spec.strip_prefix("tcp:") {
            SourceKind::Tcp(parse_listen_addr(addr).map_err(err)?)
        } else if let Some(addr) = spec.strip_prefix("udp:") {
            SourceKind::Udp(parse_listen_addr(addr).map_err(err)?)
        } else if let Some(path) = spec.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(err("missing socket path".into()));
            }
            SourceKind::Unix(PathBuf::from(path))
        } else if let Some(command) = spec.strip_prefix("cmd:") {
            if command.trim().is_empty() {
                return Err(err("missing command".into()));
            }
            SourceKind::Cmd(command.to_string())
        } else if let Some(pattern) = glob::Pattern::parse(spec).map_err(err)? {
            SourceKind::Glob(pattern)
        } else {
            SourceKind::File(PathBuf::from(spec))
        };
        Ok(SourceSpec {
            labelled: label.is_some(),
            label: label.unwrap_or_else(|| spec.to_string()),
            spec: spec.to_string(),
            kind,
        })
    }
}

/// Parses `PORT`, `HOST:PORT` or `[V6]:PORT`; HOST defaults to 127.0.0.1.
fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or_else(|| "expected [IPV6]:PORT".to_string())?;
        (v6, port)
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => ("127.0.0.1", s),
        }
    };
    if port.is_empty() {
        return Err("missing port".into());
    }
    let port: u16 = match port.parse::<u64>() {
        Ok(p) if p <= u16::MAX as u64 => p as u16,
        Ok(p) => return Err(format!("port {p} is out of range (0-65535)")),
        Err(_) => return Err(format!("invalid port '{port}'")),
    };
    if host.is_empty() {
        return Err("missing host before ':'".into());
    }
    if let Ok(ip) = host.parse() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.contains(':') {
        return Err(format!("invalid address '{host}' (write IPv6 as [ADDR]:PORT)"));
    }
    use std::net::ToSocketAddrs;
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("cannot resolve host '{host}'"))
}

/// Lines that arrived together.
#[derive(Debug)]
pub struct Arrival {
    /// The lines.
    pub batch: Batch,
    /// The remote end, for socket sources.
    pub peer: Option<Peer>,
    /// When they were read.
    pub time: SystemTime,
}

impl Arrival {
    /// Lines read just now.
    pub fn now(batch: Batch, peer: Option<&Peer>) -> SourceEvent {
        SourceEvent::Lines(Arrival { batch, peer: peer.cloned(), time: SystemTime::now() })
    }
}

/// What a source sends to the mux.
#[derive(Debug)]
pub enum SourceEvent {
    /// Lines that arrived.
    Lines(Arrival),
    /// Something the user must know (file missing, truncated, replaced, connection refused).
    Note(String),
    /// The source failed and ends; the message says why.
    Failed(String),
    /// A glob found a matching file (the mux follows it as a source of its own, unless it
    /// already does).
    Found(PathBuf),
    /// A file has read what was there when it started (its first lines are out).
    CaughtUp,
    /// The source's input ended (the stream's last event).
    Ended,
}

/// The remote end of a connection, shared by all its batches.
pub type Peer = Arc<str>;

/// Options every source honours.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// Where reading an existing file starts.
    pub initial: Initial,
    /// Keep following after the current end (false for `--no-follow`).
    pub follow: bool,
    /// The longest line kept whole; longer ones are cut into pieces.
    pub max_line_bytes: usize,
    /// Open connections per listener.
    pub max_connections: usize,
    /// A file's source ends once the file is deleted (files found by a glob), instead of
    /// waiting for it to come back.
    pub end_when_gone: bool,
    /// Peers allowed to send to TCP and UDP sources (empty: any that can reach them).
    pub allow: Arc<[allow::Cidr]>,
}

/// Where reading an existing file starts (`-n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initial {
    /// The last N lines (`-n N`; `-n 0` is only new lines).
    Last(u64),
    /// From line N, counting from 1 (`-n +N`).
    From(u64),
}

/// Live facts about a source, kept up to date by its producer and read by the list key (`l`).
#[derive(Debug, Default)]
pub struct SourceStatus {
    /// A file that does not exist (or cannot be opened) right now.
    pub waiting: AtomicBool,
    /// Open connections of a listener.
    pub connections: AtomicUsize,
    /// Connections (or datagrams) refused: over the limit, or from a peer not allowed.
    pub refused: AtomicU64,
}

/// The sending half a producer uses; every send waits while the mux is behind.
#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<SourceEvent>,
    /// The source's live facts.
    pub status: Arc<SourceStatus>,
}

/// The stream was dropped (the source was detached or the program is ending).
#[derive(Debug)]
pub struct Detached;

impl Emitter {
    /// Sends lines; waits while the channel is full.
    pub async fn lines(&self, batch: Batch, peer: Option<&Peer>) -> Result<(), Detached> {
        self.send(Arrival::now(batch, peer)).await
    }

    /// Sends a note for the user.
    pub async fn note(&self, msg: impl Into<String>) -> Result<(), Detached> {
        self.send(SourceEvent::Note(msg.into())).await
    }

    /// Sends an event, waiting for room.
    pub async fn send(&self, ev: SourceEvent) -> Result<(), Detached> {
        self.tx.send(ev).await.map_err(|_| Detached)
    }

    /// Sends an event from a thread outside the runtime, blocking for room.
    pub fn blocking_send(&self, ev: SourceEvent) -> Result<(), Detached> {
        self.tx.blocking_send(ev).map_err(|_| Detached)
    }
}

/// The stream of one source's events; dropping it stops the source.
pub struct SourceStream {
    rx: mpsc::Receiver<SourceEvent>,
    task: Option<JoinHandle<()>>,
    ended: bool,
    status: Arc<SourceStatus>,
    /// The source says `CaughtUp` once its first lines are out.
    catches_up: bool,
    /// The waker registered with the channel by the last poll that found it empty.
    waiting: Option<std::task::Waker>,
}

impl SourceStream {
    /// A channel whose sending half feeds the new stream.
    pub fn channel() -> (Emitter, SourceStream) {
        let (tx, rx) = mpsc::channel(CHANNEL_EVENTS);
        let status = Arc::<SourceStatus>::default();
        let stream = SourceStream {
            rx,
            task: None,
            ended: false,
            status: status.clone(),
            catches_up: false,
            waiting: None,
        };
        (Emitter { tx, status }, stream)
    }

    /// Runs `producer` as a task owned by this stream: it is aborted when the stream is dropped.
    pub fn spawn<F>(producer: impl FnOnce(Emitter) -> F) -> SourceStream
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (emit, mut stream) = Self::channel();
        stream.task = Some(tokio::spawn(producer(emit)));
        stream
    }

    /// Stops the source and waits until everything it held (files, listeners, connections) is
    /// closed.
    pub async fn close(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl SourceStream {
    /// Whether the source sends `CaughtUp` (a file).
    pub fn catches_up(&self) -> bool {
        self.catches_up
    }

    /// Says that the source sends `CaughtUp`.
    pub fn with_catch_up(mut self) -> SourceStream {
        self.catches_up = true;
        self
    }

    /// The source's live facts.
    pub fn status(&self) -> Arc<SourceStatus> {
        self.status.clone()
    }
}

impl Drop for SourceStream {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Stream for SourceStream {
    type Item = SourceEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        if self.ended {
            return Poll::Ready(None);
        }
        // The map polls every idle source for each event of a busy one. An idle source whose
        // channel is still empty and open still has this very waker registered (only a send or
        // the close takes it), so it can answer at once.
        if self.waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
            && self.rx.is_empty()
            && !self.rx.is_closed()
        {
            return Poll::Pending;
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                // Every sender is gone: the producer finished.
                self.ended = true;
                Poll::Ready(Some(SourceEvent::Ended))
            }
            Poll::Pending => {
                self.waiting = Some(cx.waker().clone());
                Poll::Pending
            }
            ready => {
                self.waiting = None;
                ready
            }
        }
    }
}

/// Starts following `spec`: everything that can fail at start (a directory given as a file, a
/// port in use) fails here, before any line is read.
///
/// Must be called inside the runtime.
pub fn open(
    spec: &SourceSpec,
    opts: &SourceOptions,
    watch: &watch::DirWatch,
) -> anyhow::Result<SourceStream> {
    match &spec.kind {
        SourceKind::File(path) => file::open(path, opts, watch),
        SourceKind::Stdin => Ok(stdin::open(opts)),
        SourceKind::Tcp(addr) => tcp::open(*addr, opts),
        SourceKind::Udp(addr) => udp::open(*addr, opts),
        SourceKind::Unix(path) => unix::open(path, opts),
        SourceKind::Cmd(command) => cmd::open(command, opts),
        SourceKind::Glob(pattern) => Ok(glob::open(pattern.clone(), watch, opts.follow)),
    }
    .with_context(|| spec.spec.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(arg: &str) -> SourceKind {
        SourceSpec::parse(arg).unwrap().kind
    }

    fn error(arg: &str) -> String {
        SourceSpec::parse(arg).unwrap_err().to_string()
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(kind("-"), SourceKind::Stdin);
        assert_eq!(kind("a.log"), SourceKind::File("a.log".into()));
        assert_eq!(kind("tcp:9000"), SourceKind::Tcp("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(kind("tcp:0.0.0.0:9000"), SourceKind::Tcp("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(kind("tcp:[::1]:9000"), SourceKind::Tcp("[::1]:9000".parse().unwrap()));
        assert_eq!(kind("tcp:localhost:9"), SourceKind::Tcp("127.0.0.1:9".parse().unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn any_argument_parses_or_is_refused_by_name(arg in "\\PC{0,40}|(tcp|udp|unix|cmd):\\PC{0,20}|[a-z]{0,5}=\\PC{0,20}") {
            match SourceSpec::parse(&arg) {
                Ok(spec) => proptest::prop_assert!(!spec.label.is_empty() && !spec.spec.is_empty()),
                Err(e) => {
                    let msg = e.to_string();
                    proptest::prop_assert!(msg.starts_with(&format!("{arg}: ")), "{msg}");
                    proptest::prop_assert!(!msg.contains('\n'));
                }
            }
        }
    }

    #[test]
    fn parses_the_other_kinds() {
        assert_eq!(kind("udp:514"), SourceKind::Udp("127.0.0.1:514".parse().unwrap()));
        assert_eq!(kind("udp:[::1]:5514"), SourceKind::Udp("[::1]:5514".parse().unwrap()));
        assert_eq!(kind("unix:/tmp/mt.sock"), SourceKind::Unix("/tmp/mt.sock".into()));
        assert_eq!(kind("cmd:journalctl -f"), SourceKind::Cmd("journalctl -f".into()));
        let s = SourceSpec::parse("env=cmd:FOO=1 run").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("env", SourceKind::Cmd("FOO=1 run".into())));
        assert_eq!(kind("cmd:A=1 b"), SourceKind::Cmd("A=1 b".into()));
        assert!(matches!(kind("logs/*.log"), SourceKind::Glob(_)));
        assert_eq!(error("udp:x"), "udp:x: invalid port 'x'");
        assert_eq!(error("unix:"), "unix:: missing socket path");
        assert_eq!(error("cmd: "), "cmd: : missing command");
        assert_eq!(
            error("lo*gs/*.log"),
            "lo*gs/*.log: wildcards are allowed in the file name only"
        );
    }

    #[test]
    fn label_prefix_and_paths_with_equals() {
        let s = SourceSpec::parse("api=logs/app.log").unwrap();
        assert_eq!((s.label.as_str(), s.spec.as_str()), ("api", "logs/app.log"));
        assert_eq!(s.kind, SourceKind::File("logs/app.log".into()));
        let s = SourceSpec::parse("./a=b").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("./a=b", SourceKind::File("./a=b".into())));
        let s = SourceSpec::parse("in=-").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("in", SourceKind::Stdin));
        assert_eq!(SourceSpec::parse("tcp:9000").unwrap().label, "tcp:9000");
    }

    #[test]
    fn bad_specs_name_the_argument() {
        assert_eq!(error("tcp:abc"), "tcp:abc: invalid port 'abc'");
        assert_eq!(error("tcp:70000"), "tcp:70000: port 70000 is out of range (0-65535)");
        assert_eq!(error("x=tcp:"), "x=tcp:: missing port");
        assert_eq!(error("=a.log"), "=a.log: empty label before '='");
        assert_eq!(error("web="), "web=: no source after '='");
        assert_eq!(error(""), ": empty source");
        assert!(error("tcp:[::1:80").starts_with("tcp:[::1:80: expected [IPV6]:PORT"));
        assert_eq!(error("tcp:[::1]"), "tcp:[::1]: expected [IPV6]:PORT");
    }
}
