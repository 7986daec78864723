//! Looking at a followed file: read what is new, and follow the name when it leads elsewhere
//! (see the parent module's docs for what each case means).

use std::os::unix::fs::MetadataExt;

use super::{Current, Follower, MAX_NEXT};
use crate::source::Detached;

impl Follower {
    /// Reads what there is to read and follows the name to a new file when it moved on; true
    /// when the name still leads to the file read, and nothing else waits. `caught_up`: the
    /// file's first lines are out (before that, the mux gathers them and waits for the rest).
    pub(super) async fn check(&mut self, caught_up: bool) -> Result<bool, Detached> {
        loop {
            if self.sub.is_some() && self.cur.as_ref().is_some_and(Current::rewritten) {
                self.truncated().await?;
            }
            if self.cur.is_some() {
                match self.read_current().await? {
                    // Followed: the lines go out before the name is looked at (at start, the
                    // mux gathers the first lines of many files, and waits for this one's end).
                    Ok(true) if self.sub.is_some() && caught_up => tokio::task::yield_now().await,
                    Ok(_) => {}
                    Err(e) => {
                        self.note(format!("read error: {e}")).await?;
                        self.end_current(true).await?;
                    }
                }
                if self.sub.is_none() {
                    // --no-follow: read to the end, whatever happens to the name.
                    return Ok(false);
                }
            }
            let name = std::fs::metadata(&self.path).ok().filter(|m| m.is_file());
            let Some(cur) = &self.cur else {
                // A file that was there all along, waiting for a descriptor, did not appear.
                let appeared = self.starved.is_none() && self.initial.is_none();
                match self.open_name().await? {
                    Some(new) => {
                        self.set_current(Some(new));
                        if appeared {
                            self.note("appeared; following it").await?;
                        }
                        continue;
                    }
                    None if self.starved.is_some() => {}
                    None if name.is_none() => self.note_missing().await?,
                    None => {}
                }
                // A dangling symlink may have been pointed somewhere else meanwhile.
                self.track_symlink();
                return Ok(false);
            };
            let old = match cur.file.metadata() {
                Ok(old) => old,
                Err(e) => {
                    self.note(format!("read error: {e}")).await?;
                    self.end_current(true).await?;
                    continue;
                }
            };
            let at_name = name.as_ref().is_some_and(|m| (m.dev(), m.ino()) == cur.id);
            if at_name && self.next.is_empty() {
                self.set_draining(false);
                if old.len() < cur.pos {
                    self.truncated().await?;
                    continue;
                }
                return Ok(true);
            }
            // A new file at the name is opened at once: if it is renamed away in turn before
            // its time comes, it is still read.
            if let Some(meta) = &name {
                let id = (meta.dev(), meta.ino());
                if !at_name && !self.next.iter().any(|n| n.id == id) {
                    if let Some(new) = self.open_name().await? {
                        self.next.push(new);
                    }
                }
            }
            // Move on once a later file has data (its writer has moved on), or when the current
            // file is deleted; until then writers may still write to its old descriptor.
            let moved_on = self.next.iter().any(|n| n.file.metadata().is_ok_and(|m| m.len() > 0));
            let deleted = old.nlink() == 0;
            if !self.next.is_empty() && (moved_on || deleted || self.next.len() > MAX_NEXT) {
                self.end_current(true).await?;
                let next = self.next.remove(0);
                self.set_current(Some(next));
                self.track_symlink();
                self.note("replaced; following the new file").await?;
                continue;
            }
            if deleted {
                // Gone, and nothing new at the name yet.
                self.end_current(!self.end_when_gone).await?;
                if self.end_when_gone {
                    self.gone = true;
                    return Ok(false);
                }
                self.note_missing().await?;
                return Ok(false);
            }
            // Renamed away (or a new file waits, empty): read on, and wake for any name in the
            // directory, where the old file most likely is now.
            self.set_draining(true);
            return Ok(false);
        }
    }

    /// The current file was truncated (or truncated and written again): read it from the start.
    async fn truncated(&mut self) -> Result<(), Detached> {
        self.note("file truncated; reading from the start").await?;
        self.flush_partial(true).await?;
        if let Some(cur) = &mut self.cur {
            cur.pos = 0;
            cur.seen.clear();
        }
        Ok(())
    }
}
