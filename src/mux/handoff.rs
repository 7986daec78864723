//! Handing lines to the writer: several messages at once, and while files catch up at start,
//! their tasks get a turn before the hand-off so that many files' first lines go together.

use tokio_stream::Stream;

use super::{Mux, SourceId};
use crate::output::Out;
use crate::source::SourceEvent;

/// At most this many messages, and about this many bytes of lines, go to the writer in one
/// hand-off.
const HANDOFF_MESSAGES: usize = 256;
const HANDOFF_BYTES: usize = 256 * 1024;

impl Mux {
    /// Whether to gather more before handing lines to the writer: files are reading what was
    /// there at start, one after another, each with little to say. Their tasks run on this
    /// thread; giving them a turn first lets many files' first lines go to the writer in one
    /// hand-off instead of one (and one thread wake-up) each.
    pub(super) fn gathering(&self) -> bool {
        !self.pending.is_empty()
            && self.table.catching_up()
            && !self.holding()
            && self.pending.len() < HANDOFF_MESSAGES
            && self.pending_bytes < HANDOFF_BYTES
    }

    /// An event that is ready now, or once the sources' tasks have had a turn, without waiting
    /// for one.
    pub(super) async fn ready_now(&mut self) -> Option<(SourceId, SourceEvent)> {
        for turn in 0..2 {
            if turn > 0 {
                tokio::task::yield_now().await;
            }
            let map = &mut self.table.map;
            let polled = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(Stream::poll_next(std::pin::Pin::new(&mut *map), cx))
            })
            .await;
            match polled {
                std::task::Poll::Ready(item) => return item,
                std::task::Poll::Pending => {}
            }
        }
        None
    }

    /// The next message for the writer: what is pending, several at once when there are.
    pub(super) fn handoff(&mut self) -> Out {
        if self.pending.len() == 1 {
            self.pending_bytes = 0;
            let msg = self.pending.pop_front().expect("not empty");
            self.pending_shrunk();
            return msg;
        }
        let mut all = Vec::new();
        let mut bytes = 0;
        while let Some(msg) = self.pending.front() {
            if !all.is_empty() && (all.len() >= HANDOFF_MESSAGES || bytes >= HANDOFF_BYTES) {
                break;
            }
            bytes += msg.line_bytes();
            all.push(self.pending.pop_front().expect("not empty"));
        }
        self.pending_bytes -= bytes;
        self.pending_shrunk();
        Out::Many(all)
    }

    /// Gives back the room of a queue that was long once (ten thousand files attached at
    /// start each queue a message) and is empty now.
    fn pending_shrunk(&mut self) {
        if self.pending.is_empty() && self.pending.capacity() > HANDOFF_MESSAGES {
            self.pending.shrink_to(HANDOFF_MESSAGES);
        }
    }
}
