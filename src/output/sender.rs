//! The mux's end of the writer's queue, and the small messages the mux handles itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::{Direct, Out, Writer, DIRECT_BYTES};

/// The writer's state, shared by the writer thread and the mux.
pub(super) struct Shared {
    pub(super) writer: Mutex<Writer>,
    /// Messages sent to the writer thread and not yet handled and written: while there are,
    /// the mux queues too, so that everything comes out in order.
    pub(super) queued: AtomicUsize,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic on the writer thread ends the program: the state is never looked at after.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Handles `msg` on the caller's thread when nothing is queued before it, it only renders
    /// lines for stdout and stdout allows it (see [`Direct`]); gives back what must still go to
    /// the writer thread: `msg` itself, or a [`Out::Flush`] for what stdout had no room for.
    pub(super) fn handle_here(&self, msg: Out) -> Option<Out> {
        if self.queued.load(Ordering::Acquire) != 0 || !msg.stdout_only() {
            return Some(msg);
        }
        // Nothing is queued, so the writer thread is not holding the lock (it lets go before
        // it counts its messages done).
        let Ok(mut w) = self.writer.try_lock() else { return Some(msg) };
        match w.direct {
            Direct::Never => return Some(msg),
            Direct::Small if msg.line_bytes() > DIRECT_BYTES => return Some(msg),
            Direct::Small | Direct::All => {}
        }
        w.by_mux = true;
        let written = w.handle(msg).and_then(|()| w.flush());
        w.by_mux = false;
        if written.is_err() {
            // The writer thread tries again (what is left), and says how the output ended.
            w.direct = Direct::Never;
        }
        (!w.buf.is_empty()).then_some(Out::Flush)
    }
}

/// The mux's end of the writer's queue.
pub struct OutSender {
    pub(super) queue: mpsc::Sender<Out>,
    /// The writer's state, for what the mux handles itself (`None`: everything is queued).
    pub(super) shared: Option<Arc<Shared>>,
}

/// Room in the writer's queue for one message.
pub struct OutPermit<'a> {
    permit: mpsc::Permit<'a, Out>,
    shared: Option<&'a Shared>,
}

impl OutSender {
    /// A sender whose every message goes to `queue`.
    pub fn queue_only(queue: mpsc::Sender<Out>) -> OutSender {
        OutSender { queue, shared: None }
    }

    /// Waits for room in the queue.
    pub async fn reserve(&self) -> Result<OutPermit<'_>, mpsc::error::SendError<()>> {
        let permit = self.queue.reserve().await?;
        Ok(OutPermit { permit, shared: self.shared.as_deref() })
    }

    /// Queues `msg` for the writer thread.
    pub async fn send(&self, msg: Out) -> Result<(), mpsc::error::SendError<Out>> {
        match self.reserve().await {
            Ok(permit) => {
                permit.queue(msg);
                Ok(())
            }
            Err(_) => Err(mpsc::error::SendError(msg)),
        }
    }
}

impl OutPermit<'_> {
    /// Hands `msg` on: handled and written at once when the writer thread has nothing before
    /// it and stdout takes it without waiting, queued otherwise.
    pub fn send(self, msg: Out) {
        match self.shared {
            Some(shared) => {
                if let Some(rest) = shared.handle_here(msg) {
                    self.queue(rest);
                }
            }
            None => self.queue(msg),
        }
    }

    fn queue(self, msg: Out) {
        if let Some(shared) = self.shared {
            shared.queued.fetch_add(1, Ordering::AcqRel);
        }
        self.permit.send(msg);
    }
}
