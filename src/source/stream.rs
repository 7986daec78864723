//! The one stream type every source becomes, and the channel that feeds it.
//!
//! Each source runs as its own producer (a tokio task, or a thread where a read cannot be
//! cancelled) that sends [`SourceEvent`]s through an [`Emitter`] into a small bounded channel. The
//! [`SourceStream`] on the receiving end is what the mux puts in its map; dropping it stops the
//! producer and closes everything the source held (watch, file, listener, connections). The
//! bounded channel is the backpressure path: a producer whose stream is not being read stops
//! reading its input.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;
use tokio_stream::Stream;

use crate::line::{Arrival, Batch, Peer};

use super::channel;

/// What a source sends to the mux.
#[derive(Debug)]
pub enum SourceEvent {
    /// Lines that arrived.
    Lines(Box<Arrival>),
    /// Something the user must know (file missing, truncated, replaced, connection refused).
    Note(String),
    /// The source failed and ends; the message says why.
    Failed(String),
    /// A glob found a matching file (the mux follows it as a source of its own, unless it
    /// already does). Boxed: events are kept small.
    Found(Box<Found>),
    /// A file has read what was there when it started (its first lines are out).
    CaughtUp,
    /// One input of the source ended: a connection (its peer) closed, or a file was rotated,
    /// truncated or replaced (`None`). The lines after it begin a new event.
    InputEnded(Option<Peer>),
    /// The source's input ended (the stream's last event).
    Ended,
}

/// A file a glob found.
#[derive(Debug)]
pub struct Found {
    pub path: PathBuf,
    /// Its (device, inode).
    pub id: (u64, u64),
    /// Told when the file's source ends.
    pub glob: Arc<super::glob::Ended>,
}

/// Live facts about a source, kept up to date by its producer and read by the list key (`l`).
#[derive(Debug, Default)]
pub struct SourceStatus {
    /// A file that does not exist (or cannot be opened) right now.
    pub waiting: AtomicBool,
    /// A file waiting for a descriptor to open it with.
    pub no_descriptor: AtomicBool,
    /// Open connections of a listener.
    pub connections: AtomicUsize,
    /// Connections (or datagrams) refused: over the limit, or from a peer not allowed.
    pub refused: AtomicU64,
    /// Times a command was started again (`--restart`).
    pub restarts: AtomicU64,
    /// The (device, inode) of the file a file source reads now (0, 0 before it opened one):
    /// after a rotation, no longer the one it started with.
    pub file: [AtomicU64; 2],
}

impl SourceStatus {
    /// The (device, inode) of the file read now, once one was opened.
    pub fn file(&self) -> Option<(u64, u64)> {
        let id = (self.file[0].load(Ordering::Relaxed), self.file[1].load(Ordering::Relaxed));
        (id != (0, 0)).then_some(id)
    }
}

/// The sending half a producer uses; every send waits while the mux is behind.
#[derive(Clone)]
pub struct Emitter {
    tx: channel::Sender<SourceEvent>,
    /// The source's live facts.
    pub status: Arc<SourceStatus>,
}

impl SourceEvent {
    /// Lines that arrived (boxed: every source's channel holds a block of events, so the
    /// event is kept small).
    pub fn lines(arrival: Arrival) -> SourceEvent {
        SourceEvent::Lines(Box::new(arrival))
    }
}

/// The stream was dropped (the source was detached or the program is ending).
#[derive(Debug)]
pub struct Detached;

impl Emitter {
    /// Sends lines; waits while the channel is full.
    pub async fn lines(&self, batch: Batch, peer: Option<&Peer>) -> Result<(), Detached> {
        self.send(SourceEvent::lines(Arrival::now(batch, peer))).await
    }

    /// Sends a note for the user.
    pub async fn note(&self, msg: impl Into<String>) -> Result<(), Detached> {
        self.send(SourceEvent::Note(msg.into())).await
    }

    /// Takes a place for lines still to be read, waiting for one: an input that reads only
    /// with a place in hand never holds read lines while it waits.
    pub async fn reserve(&self) -> Result<LinePlace<'_>, Detached> {
        self.tx.reserve().await.map(LinePlace).map_err(|_| Detached)
    }

    /// Sends an event, waiting for room.
    pub async fn send(&self, ev: SourceEvent) -> Result<(), Detached> {
        self.tx.send(ev).await.map_err(|_| Detached)
    }

    /// Sends an event if there is room right now (for a producer that cannot wait).
    pub fn try_send(&self, ev: SourceEvent) -> Result<(), Detached> {
        self.tx.try_send(ev).map_err(|_| Detached)
    }

    /// Sends an event from a thread outside the runtime, blocking for room.
    pub fn blocking_send(&self, ev: SourceEvent) -> Result<(), Detached> {
        self.tx.blocking_send(ev).map_err(|_| Detached)
    }
}

/// A place in a source's channel for one batch of lines ([`Emitter::reserve`]); dropped
/// unused, it is given back.
pub struct LinePlace<'a>(channel::Permit<'a, SourceEvent>);

impl LinePlace<'_> {
    /// Sends lines in the place taken.
    pub fn lines(self, batch: Batch, peer: Option<&Peer>) -> Result<(), Detached> {
        self.0.send(SourceEvent::lines(Arrival::now(batch, peer))).map_err(|_| Detached)
    }
}

/// The stream of one source's events; dropping it stops the source.
pub struct SourceStream {
    /// The receiving end; made when the producer starts.
    rx: Option<channel::Receiver<SourceEvent>>,
    task: Option<JoinHandle<()>>,
    /// Starts the producer: kept until the stream is first polled, so that a source waiting
    /// for its turn (a file behind the others at start) costs no task, no future and no
    /// channel yet.
    start: Option<Box<dyn FnOnce(Emitter) -> JoinHandle<()> + Send>>,
    ended: bool,
    status: Arc<SourceStatus>,
    /// The source says `CaughtUp` once its first lines are out.
    catches_up: bool,
}

impl SourceStream {
    /// A channel whose sending half feeds the new stream.
    pub fn channel() -> (Emitter, SourceStream) {
        let (tx, rx) = channel::channel();
        let status = Arc::<SourceStatus>::default();
        let stream = SourceStream {
            rx: Some(rx),
            task: None,
            start: None,
            ended: false,
            status: status.clone(),
            catches_up: false,
        };
        (Emitter { tx, status }, stream)
    }

    /// Runs `producer` as a task owned by this stream, from the first time the stream is polled;
    /// the task is aborted when the stream is dropped.
    pub fn spawn<F>(producer: impl FnOnce(Emitter) -> F + Send + 'static) -> SourceStream
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        SourceStream {
            rx: None,
            task: None,
            start: Some(Box::new(move |emit| tokio::spawn(producer(emit)))),
            ended: false,
            status: Arc::default(),
            catches_up: false,
        }
    }

    /// Starts the producer now rather than at the first poll (a file whose turn has come).
    pub fn start(&mut self) {
        if let Some(start) = self.start.take() {
            let (tx, rx) = channel::channel();
            self.rx = Some(rx);
            self.task = Some(start(Emitter { tx, status: self.status.clone() }));
        }
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

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        this.start();
        let rx = this.rx.as_mut().expect("a started stream has its channel");
        match rx.poll_recv(cx) {
            Poll::Ready(None) => {
                // Every sender is gone: the producer finished.
                this.ended = true;
                Poll::Ready(Some(SourceEvent::Ended))
            }
            other => other,
        }
    }
}
