//! Pause and hold: lines kept back while output is paused (or a prompt is typed over piped
//! output), up to a cap; past the cap the mux stops taking lines from sources, so that flow
//! control holds the senders back instead of memory growing.

use std::collections::VecDeque;

use super::table::SourceId;
use crate::line::{Arrival, Batch};

/// Bytes of lines held; beyond that, sources are held back instead.
pub const HOLD_BYTES: usize = 8 << 20;

/// Lines held back, in arrival order.
#[derive(Debug, Default)]
pub struct Hold {
    /// Output is paused (the `p` key).
    pub paused: bool,
    held: VecDeque<(SourceId, Arrival)>,
    lines: u64,
    bytes: usize,
}

impl Hold {
    /// Keeps source `id`'s lines until [`Hold::release`].
    pub fn push(&mut self, id: SourceId, lines: Arrival) {
        self.lines += lines.batch.len() as u64;
        self.bytes += lines.batch.content_bytes();
        self.held.push_back((id, lines));
    }

    /// Whether the cap is reached: take no more lines from sources.
    pub fn is_full(&self) -> bool {
        self.bytes >= HOLD_BYTES
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The number of lines held.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Filters every held batch with `filter` (a filter set while they were held).
    pub fn filter(&mut self, mut filter: impl FnMut(&mut Batch)) {
        for (_, lines) in &mut self.held {
            filter(&mut lines.batch);
        }
        self.held.retain(|(_, lines)| !lines.batch.is_empty());
        self.lines = self.held.iter().map(|(_, l)| l.batch.len() as u64).sum();
        self.bytes = self.held.iter().map(|(_, l)| l.batch.content_bytes()).sum();
    }

    /// Lets every held batch go, in order.
    pub fn release(&mut self) -> impl Iterator<Item = (SourceId, Arrival)> + '_ {
        self.lines = 0;
        self.bytes = 0;
        self.held.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Batch;

    fn lines(n: usize, len: usize) -> Arrival {
        Arrival::now(Batch::from(vec![vec![b'x'; len]; n]), None)
    }

    #[test]
    fn holds_up_to_the_cap_and_releases_in_order() {
        let mut hold = Hold::default();
        assert!(hold.is_empty() && !hold.is_full());
        let line = 1000;
        let per_batch = 100;
        let mut batches = 0;
        while !hold.is_full() {
            hold.push(batches % 3, lines(per_batch, line));
            batches += 1;
        }
        // Full exactly when the cap is reached, not a batch later.
        assert_eq!(batches, HOLD_BYTES.div_ceil(line * per_batch));
        assert_eq!(hold.lines(), (batches * per_batch) as u64);
        let ids: Vec<_> = hold.release().map(|(id, _)| id).collect();
        assert_eq!(ids, (0..batches).map(|b| b % 3).collect::<Vec<_>>());
        assert!(hold.is_empty() && !hold.is_full() && hold.lines() == 0);
        // A filter set meanwhile applies to what is held.
        hold.push(0, Arrival::now(Batch::from(vec![b"keep".to_vec(), b"drop".to_vec()]), None));
        hold.push(1, Arrival::now(Batch::from(vec![b"drop".to_vec()]), None));
        hold.filter(|b| b.retain(|l| l == b"keep"));
        assert_eq!((hold.lines(), hold.bytes), (1, 4));
        let ids: Vec<_> = hold.release().map(|(id, _)| id).collect();
        assert_eq!(ids, [0]);
    }
}
