//! Context, as grep's `-A`, `-B`, `-C`: with a filter set, the events just before and after
//! each one it keeps are shown too, and a `--` marks where events were left out between them.
//!
//! One [`Ring`] per source, so that another source's lines are never context: it holds the
//! last `before` events left out (copied, so that no read buffer is pinned) and counts down the
//! `after` events still to show. Nothing else is kept.

use std::collections::VecDeque;
use std::ops::Range;

use crate::line::Batch;

/// How many events of context: before and after each kept one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub before: usize,
    pub after: usize,
}

impl Context {
    /// Whether any context is asked for.
    pub fn is_on(self) -> bool {
        self.before > 0 || self.after > 0
    }
}

/// One source's context state.
#[derive(Debug, Default)]
pub struct Ring {
    /// The last events left out (at most `before`), oldest first.
    held: VecDeque<Batch>,
    /// Events still to show after the last kept one.
    after_left: usize,
    /// Events of this source seen so far.
    seen: u64,
    /// The number of the last event shown.
    last: Option<u64>,
}

impl Ring {
    /// What of `batch` to show: the events `keep` says yes to, with `ctx` around them (held
    /// events of earlier batches too), appended to `out` in order. A batch that follows left
    /// out events is marked with [`Batch::set_gap`].
    pub fn select(
        &mut self,
        ctx: Context,
        batch: &Batch,
        mut keep: impl FnMut(&[&[u8]]) -> bool,
        out: &mut Vec<Batch>,
    ) {
        let mut run: Vec<Range<usize>> = Vec::new();
        let mut run_gap = false;
        let flush = |run: &mut Vec<Range<usize>>, gap: &mut bool, out: &mut Vec<Batch>| {
            if !run.is_empty() {
                let mut b = batch.subset(run);
                if std::mem::take(gap) {
                    b.set_gap();
                }
                out.push(b);
                run.clear();
            }
        };
        // Events of this batch left out since the last one shown (the newest of those held):
        // copied only if the batch ends before a kept event shows them.
        let mut local: VecDeque<Range<usize>> = VecDeque::new();
        let mut lines: Vec<&[u8]> = Vec::new();
        for event in batch.events() {
            let n = self.seen;
            self.seen += 1;
            lines.clear();
            lines.extend(event.clone().map(|i| batch.line(i)));
            if keep(&lines) {
                let first = n - (self.held.len() + local.len()) as u64;
                let gap = self.last.is_some_and(|last| first != last + 1);
                if !self.held.is_empty() || gap {
                    flush(&mut run, &mut run_gap, out);
                }
                let mut gap = gap;
                for mut held in self.held.drain(..) {
                    if std::mem::take(&mut gap) {
                        held.set_gap();
                    }
                    out.push(held);
                }
                run_gap |= gap;
                run.extend(local.drain(..));
                run.push(event);
                self.last = Some(n);
                self.after_left = ctx.after;
            } else if self.after_left > 0 {
                self.after_left -= 1;
                run.push(event);
                self.last = Some(n);
            } else if ctx.before > 0 {
                if self.held.len() + local.len() == ctx.before && self.held.pop_front().is_none() {
                    local.pop_front();
                }
                local.push_back(event);
            }
        }
        flush(&mut run, &mut run_gap, out);
        for event in local {
            self.held.push_back(batch.copied(event));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `lines` (fed in batches of `per`) through a ring keeping lines that contain "x";
    /// the output as text, `--` where a gap is marked.
    fn shown(ctx: Context, lines: &[&str], per: usize) -> Vec<String> {
        let mut ring = Ring::default();
        let mut out = Vec::new();
        for chunk in lines.chunks(per) {
            let batch =
                Batch::from(chunk.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
            ring.select(ctx, &batch, |l| l[0].contains(&b'x'), &mut out);
        }
        let mut text = Vec::new();
        for b in out {
            if b.gap() {
                text.push("--".to_string());
            }
            text.extend(b.iter().map(|l| String::from_utf8_lossy(l).into_owned()));
        }
        text
    }

    const LINES: &[&str] = &["a", "b", "x1", "c", "d", "e", "f", "x2", "g", "x3", "h", "i", "j"];

    #[test]
    fn as_grep_does_whatever_the_batches() {
        let c1 = Context { before: 1, after: 1 };
        let want = ["b", "x1", "c", "--", "f", "x2", "g", "x3", "h"];
        for per in [1, 2, 3, 100] {
            assert_eq!(shown(c1, LINES, per), want, "batches of {per}");
        }
        let a2 = Context { before: 0, after: 2 };
        let b3 = Context { before: 3, after: 0 };
        for per in [1, 2, 3, 4, 5, 100] {
            let want = ["x1", "c", "d", "--", "x2", "g", "x3", "h", "i"];
            assert_eq!(shown(a2, LINES, per), want, "batches of {per}");
            let want = ["a", "b", "x1", "--", "d", "e", "f", "x2", "g", "x3"];
            assert_eq!(shown(b3, LINES, per), want, "batches of {per}");
        }
        // Adjacent groups: no separator.
        let c9 = Context { before: 9, after: 9 };
        assert_eq!(shown(c9, LINES, 2), LINES);
    }

    #[test]
    fn holds_no_more_than_before() {
        let mut ring = Ring::default();
        let lines: Vec<Vec<u8>> = (0..1000).map(|i| format!("line {i}").into_bytes()).collect();
        let mut out = Vec::new();
        ring.select(Context { before: 3, after: 0 }, &Batch::from(lines), |_| false, &mut out);
        assert!(out.is_empty());
        assert_eq!(ring.held.len(), 3);
        assert_eq!(ring.held[0].line(0), b"line 997");
    }
}
