//! A followed file and the descriptor limit: waiting for one, and saying so once per episode.

use std::sync::atomic::Ordering;

use super::Follower;
use crate::source::fds::{self, Starved};
use crate::source::Detached;

impl Follower {
    /// Waits until a descriptor may be free (or, when followed, the file changes).
    pub(super) async fn wait_for_descriptor(&self) {
        match &self.sub {
            Some(sub) => tokio::select! {
                _ = sub.changed() => {}
                _ = fds::freed() => {}
            },
            None => fds::freed().await,
        }
    }

    /// Counts this file as waiting for a descriptor; the first of an episode says so.
    pub(super) async fn starve(&mut self) -> Result<(), Detached> {
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
    pub(super) async fn fed(&mut self) -> Result<(), Detached> {
        let Some(starved) = self.starved.take() else { return Ok(()) };
        self.emit.status.no_descriptor.store(false, Ordering::Relaxed);
        if starved.release() {
            self.note(fds::OVER).await?;
        }
        Ok(())
    }
}
