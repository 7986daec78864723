//! The file a follower reads: its descriptor, position and line splitter, and the last bytes read
//! (to tell a rewrite the size cannot show).

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use super::start::read_exact_at;
use crate::line::Splitter;
use crate::source::fds;

/// What a file was when it was opened: its (device, inode) and size.
#[derive(Clone, Copy, Debug)]
pub(super) struct Opened {
    pub(super) id: (u64, u64),
    pub(super) len: u64,
}

impl Opened {
    pub(super) fn of(meta: &std::fs::Metadata) -> Opened {
        Opened { id: (meta.dev(), meta.ino()), len: meta.len() }
    }
}

/// The file currently read.
pub(super) struct Current {
    pub(super) file: File,
    pub(super) id: (u64, u64),
    pub(super) pos: u64,
    pub(super) lines: Splitter,
    /// The last bytes read, ending at `pos`: if the file no longer holds them there, it was
    /// truncated and written again (faster than the size alone can show).
    pub(super) seen: Seen,
    /// How much there was to read when the file was opened: the first read takes no more room
    /// than that (ten thousand small files need not each hold a full buffer).
    pub(super) first_read: Option<u64>,
    /// The size of the file when it was opened.
    pub(super) size: u64,
    /// The end of the file is known to be reached: the next read would find nothing.
    pub(super) at_end: bool,
}

/// How many of the last bytes read are checked against the file.
pub(super) const SEEN: usize = 16;

/// The last (up to [`SEEN`]) bytes read, held inline.
#[derive(Default)]
pub(super) struct Seen {
    bytes: [u8; SEEN],
    len: u8,
}

impl Seen {
    pub(super) fn get(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Appends `new`, keeping the last [`SEEN`] bytes.
    pub(super) fn push(&mut self, new: &[u8]) {
        let new = &new[new.len().saturating_sub(SEEN)..];
        let keep = usize::from(self.len).min(SEEN - new.len());
        self.bytes.copy_within(usize::from(self.len) - keep..usize::from(self.len), 0);
        self.bytes[keep..keep + new.len()].copy_from_slice(new);
        self.len = (keep + new.len()) as u8;
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

impl Current {
    /// Whether the bytes before `pos` are no longer those read: the file was rewritten.
    pub(super) fn rewritten(&self) -> bool {
        let seen = self.seen.get();
        if seen.is_empty() {
            return false;
        }
        let mut now = [0u8; SEEN];
        let now = &mut now[..seen.len()];
        let at = self.pos - seen.len() as u64;
        read_exact_at(&self.file, now, at).is_err() || now != seen
    }

    /// Remembers the end of what was just read into the splitter (`n` bytes).
    pub(super) fn remember(&mut self, n: usize) {
        self.seen.push(self.lines.last_bytes(n.min(SEEN)));
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        fds::released();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keeps_the_last_bytes_whatever_the_pieces() {
        let all: Vec<u8> = (0..100u8).collect();
        for piece in 1..=40 {
            let mut seen = Seen::default();
            for (i, chunk) in all.chunks(piece).enumerate() {
                seen.push(chunk);
                let end = (i * piece + chunk.len()).min(all.len());
                assert_eq!(seen.get(), &all[end.saturating_sub(SEEN)..end], "pieces of {piece}");
            }
        }
        let mut seen = Seen::default();
        seen.push(b"abc");
        seen.clear();
        assert!(seen.get().is_empty());
    }
}
