//! The one memory budget for unfinished lines, shared by every splitter of every source.
//!
//! A line stays in its splitter until its `\n` arrives; a thousand senders each holding back a
//! long line could otherwise hold a thousand times the line limit. Each [`Splitter`] reports how
//! many bytes it holds; while the sum is over the budget, a splitter that receives more and
//! holds at least its fair share (the budget divided by the splitters holding anything) cuts its
//! unfinished line and hands it on as a piece, exactly as an over-long line is cut. The longest
//! unfinished lines are the ones cut, the short ones go on waiting for their ends, and no byte is
//! dropped.
//!
//! [`Splitter`]: super::Splitter

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The default budget: 16 MiB for all unfinished lines together.
pub const DEFAULT_PENDING_BYTES: usize = 16 << 20;

/// A shared budget for unfinished lines; clones share it.
#[derive(Clone, Debug)]
pub struct Budget(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    limit: usize,
    /// Bytes of unfinished lines held by all splitters.
    held: AtomicUsize,
    /// Splitters holding at least one byte.
    holders: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes (at least 1).
    pub fn new(limit: usize) -> Budget {
        Budget(Arc::new(Shared {
            limit: limit.max(1),
            held: AtomicUsize::new(0),
            holders: AtomicUsize::new(0),
        }))
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// Bytes of unfinished lines held right now, by all splitters together.
    pub fn held(&self) -> usize {
        self.0.held.load(Ordering::Relaxed)
    }

    /// Whether a splitter that held `before` bytes and would now hold `now` must cut: the sum is
    /// over the budget and `now` is at least a fair share of it.
    pub(super) fn must_cut(&self, before: usize, now: usize) -> bool {
        let s = &self.0;
        let total = (s.held.load(Ordering::Relaxed) + now).saturating_sub(before);
        if total <= s.limit {
            return false;
        }
        let holders = s.holders.load(Ordering::Relaxed) + usize::from(before == 0 && now > 0);
        now.saturating_mul(holders.max(1)) >= s.limit
    }

    /// Records that a splitter holding `before` bytes now holds `now`.
    pub(super) fn account(&self, before: usize, now: usize) {
        let s = &self.0;
        if now > before {
            s.held.fetch_add(now - before, Ordering::Relaxed);
        } else if before > now {
            s.held.fetch_sub(before - now, Ordering::Relaxed);
        }
        match (before > 0, now > 0) {
            (false, true) => {
                s.holders.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                s.holders.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

impl Default for Budget {
    /// The default budget, shared by nobody else (each default is a budget of its own).
    fn default() -> Budget {
        Budget::new(DEFAULT_PENDING_BYTES)
    }
}

/// How lines are cut: the longest line kept whole and the shared budget for unfinished ones.
#[derive(Clone, Debug)]
pub struct LineLimits {
    /// The longest line kept whole; longer ones are cut into pieces.
    pub max_line_bytes: usize,
    /// The budget all unfinished lines share.
    pub pending: Budget,
}

impl LineLimits {
    /// A splitter under these limits.
    pub fn splitter(&self) -> super::Splitter {
        super::Splitter::with_budget(self.max_line_bytes, self.pending.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Splitter;

    fn lines(batch: Option<crate::line::Batch>) -> Vec<Vec<u8>> {
        batch.map(|b| b.iter().map(<[u8]>::to_vec).collect()).unwrap_or_default()
    }

    #[test]
    fn under_the_budget_unfinished_lines_wait() {
        let budget = Budget::new(100);
        let mut a = Splitter::with_budget(1000, budget.clone());
        a.push(&[b'x'; 60]);
        assert!(a.take_batch().is_none());
        assert_eq!(budget.held(), 60);
        a.push(b"\n");
        assert_eq!(lines(a.take_batch()), vec![vec![b'x'; 60]]);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn over_the_budget_the_longest_is_cut_and_nothing_is_lost() {
        let budget = Budget::new(100);
        let mut long = Splitter::with_budget(1000, budget.clone());
        let mut short = Splitter::with_budget(1000, budget.clone());
        long.push(&[b'l'; 90]);
        assert!(long.take_batch().is_none());
        // The short one pushes the sum over the budget but holds less than its share: it waits.
        short.push(&[b's'; 20]);
        assert!(short.take_batch().is_none());
        assert_eq!(budget.held(), 110);
        // The long one grows: it is cut, and says so once.
        long.push(b"ll");
        let piece = long.take_batch().unwrap();
        assert!(piece.cut_by_budget());
        // Its last byte stays: a `\n` right after it must not make an empty line.
        assert_eq!(lines(Some(piece)), vec![vec![b'l'; 91]]);
        assert_eq!(budget.held(), 21);
        long.push(b"rest\n");
        assert_eq!(lines(long.take_batch()), vec![b"lrest".to_vec()]);
        short.push(b"\n");
        assert_eq!(lines(short.take_batch()), vec![vec![b's'; 20]]);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_cut_keeps_a_final_cr_that_may_end_the_line() {
        let budget = Budget::new(4);
        let mut s = Splitter::with_budget(1000, budget.clone());
        s.push(b"abcdef\r");
        assert_eq!(lines(s.take_batch()), vec![b"abcde".to_vec()]);
        s.push(b"\n");
        // The `\r\n` still ends the line: no `\r` in it, no empty line after it.
        assert_eq!(lines(s.take_batch()), vec![b"f".to_vec()]);
    }

    #[test]
    fn a_dropped_splitter_gives_its_bytes_back() {
        let budget = Budget::new(1 << 20);
        let mut s = Splitter::with_budget(1000, budget.clone());
        s.push(b"partial");
        assert!(s.take_batch().is_none());
        assert_eq!(budget.held(), 7);
        drop(s);
        assert_eq!(budget.held(), 0);
        let mut again = Splitter::with_budget(1000, budget.clone());
        again.push(b"x");
        assert!(again.take_batch().is_none());
        assert_eq!(lines(again.finish()), vec![b"x".to_vec()]);
        assert_eq!(budget.held(), 0);
    }

    /// Runs two splitters on one small budget, feeding them the given chunks in turn; returns
    /// each one's lines with every budget cut joined back to the line it was cut from.
    fn rejoined(inputs: [&[u8]; 2], cuts: &[usize], limit: usize) -> [Vec<Vec<u8>>; 2] {
        let budget = Budget::new(limit);
        let mut splitters = [0, 1].map(|_| Splitter::with_budget(1 << 20, budget.clone()));
        let mut out: [Vec<Vec<u8>>; 2] = Default::default();
        let mut open = [false; 2];
        let mut rest = inputs;
        let mut take =
            |i: usize, batch: Option<crate::line::Batch>, out: &mut [Vec<Vec<u8>>; 2]| {
                let Some(batch) = batch else { return };
                for line in batch.iter() {
                    if std::mem::take(&mut open[i]) {
                        out[i].last_mut().unwrap().extend_from_slice(line);
                    } else {
                        out[i].push(line.to_vec());
                    }
                }
                open[i] = batch.cut_by_budget();
            };
        for (n, &cut) in cuts.iter().enumerate() {
            let i = n % 2;
            let (chunk, tail) = rest[i].split_at(cut.min(rest[i].len()));
            rest[i] = tail;
            splitters[i].push(chunk);
            take(i, splitters[i].take_batch(), &mut out);
            assert!(budget.held() <= limit + 2 * 40, "held {} over budget", budget.held());
        }
        for i in 0..2 {
            splitters[i].push(rest[i]);
            take(i, splitters[i].take_batch(), &mut out);
            take(i, splitters[i].finish(), &mut out);
        }
        out
    }

    fn whole(input: &[u8]) -> Vec<Vec<u8>> {
        let mut s = Splitter::new(1 << 20);
        s.push(input);
        [s.take_batch(), s.finish()]
            .into_iter()
            .flatten()
            .flat_map(|b| b.iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn cuts_lose_and_add_nothing(
            a in proptest::collection::vec(
                proptest::prop_oneof![proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'\r'), proptest::prelude::any::<u8>()], 0..200),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            cuts in proptest::collection::vec(0usize..40, 0..30),
            limit in 1usize..64,
        ) {
            let got = rejoined([&a, &b], &cuts, limit);
            proptest::prop_assert_eq!(&got[0], &whole(&a));
            proptest::prop_assert_eq!(&got[1], &whole(&b));
        }
    }
}
