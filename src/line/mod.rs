//! Lines: where bytes become lines ([`split`]) and what a line carries on its way to the output
//! (an [`Arrival`]: a batch of lines, the peer that sent them, the time they were read).
//!
//! Sources produce arrivals; the mux, filters, the renderer and the writer consume them. Nothing
//! here knows what a source is or how a line looks on screen.

mod batch;
pub mod budget;
pub mod event;
pub mod split;

use std::sync::Arc;
use std::time::SystemTime;

pub use batch::Batch;
pub use budget::{Budget, LineLimits};
pub use split::Splitter;

/// The remote end of a connection, shared by all its batches.
pub type Peer = Arc<str>;

/// Lines that arrived together.
#[derive(Debug)]
pub struct Arrival {
    /// The lines.
    pub batch: Batch,
    /// The remote end, for socket sources.
    pub peer: Option<Peer>,
    /// When they were read.
    pub time: SystemTime,
    /// Which of a command's outputs they came from (`None` for other sources).
    pub stream: Option<Stream>,
}

/// A command's two outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl Arrival {
    /// Lines read just now.
    pub fn now(batch: Batch, peer: Option<&Peer>) -> Arrival {
        Arrival { batch, peer: peer.cloned(), time: SystemTime::now(), stream: None }
    }
}
