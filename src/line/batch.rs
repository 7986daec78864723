//! A [`Batch`]: lines that arrived together, sharing one buffer, and the events they form.
//!
//! Without `--multiline` every line is an event of its own. With it, the grouping stage
//! ([`super::event`]) marks where each event starts; everything that acts on events (filters,
//! the live filter, counting, `--json`, `--format`) takes an event whole, and the renderer still
//! writes one physical line per line.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// Whole lines cut from one input, sharing one buffer.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub(super) data: Bytes,
    /// `[start, end)` of each line's content in `data` (without `\n` and a `\r` before it).
    pub(super) lines: Vec<[u32; 2]>,
    /// The index of the first line of each event, when some event has more than one line;
    /// empty when every line is an event of its own.
    pub(super) starts: Vec<u32>,
    /// The last line is an unfinished one, cut because the budget for unfinished lines ran out.
    pub(super) cut: bool,
    /// Lines of this input were left out just before these (context, `-A`/`-B`/`-C`): a `--`
    /// goes first.
    pub(super) gap: bool,
}

impl Batch {
    /// Whether an unfinished line was cut to keep within the shared budget
    /// (`--max-pending-bytes`).
    pub fn cut_by_budget(&self) -> bool {
        self.cut
    }

    /// Whether a `--` goes before these lines (see [`Batch::set_gap`]).
    pub fn gap(&self) -> bool {
        self.gap
    }

    /// Says that lines of this input were left out just before these.
    pub fn set_gap(&mut self) {
        self.gap = true;
    }

    /// The events `ranges` (line ranges of this batch's events, in order) as a batch of their
    /// own, sharing this one's buffer.
    pub fn subset(&self, ranges: &[Range<usize>]) -> Batch {
        let mut lines = Vec::with_capacity(ranges.iter().map(ExactSizeIterator::len).sum());
        let mut starts = Vec::with_capacity(ranges.len());
        for r in ranges {
            starts.push(lines.len() as u32);
            lines.extend_from_slice(&self.lines[r.clone()]);
        }
        let mut batch = Batch { data: self.data.clone(), ..Batch::default() };
        batch.set_lines(lines, starts);
        batch
    }

    /// The event `range` copied into a buffer of its own (so that keeping it pins no read
    /// buffer).
    pub fn copied(&self, range: Range<usize>) -> Batch {
        let mut gathered = Gathered::default();
        gathered.extend(self, range);
        gathered.take()
    }

    /// The number of lines in the batch.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the batch holds no line (all were filtered out).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The lines' contents, in order, without their line endings.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.lines.iter().map(move |&[s, e]| &self.data[s as usize..e as usize])
    }

    /// The buffer the lines share: each line of [`Batch::iter`] is a part of it.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Line `i`'s content.
    pub fn line(&self, i: usize) -> &[u8] {
        let [s, e] = self.lines[i];
        &self.data[s as usize..e as usize]
    }

    /// The size of the buffer the lines share.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The number of content bytes in all lines (line endings not counted).
    pub fn content_bytes(&self) -> usize {
        self.lines.iter().map(|&[s, e]| (e - s) as usize).sum()
    }

    /// Whether some event has more than one line.
    pub fn is_grouped(&self) -> bool {
        !self.starts.is_empty()
    }

    /// The number of events.
    pub fn event_count(&self) -> usize {
        if self.starts.is_empty() {
            self.lines.len()
        } else {
            self.starts.len()
        }
    }

    /// The events, as ranges of line indices, in order.
    pub fn events(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let n = self.lines.len();
        let grouped = !self.starts.is_empty();
        let count = self.event_count();
        (0..count).map(move |k| {
            if !grouped {
                return k..k + 1;
            }
            let start = self.starts[k] as usize;
            let end = self.starts.get(k + 1).map_or(n, |&e| e as usize);
            start..end
        })
    }

    /// Keeps only the events one of whose lines `keep` returns true for (every line of them).
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        if self.starts.is_empty() {
            let data = &self.data;
            self.lines.retain(|&[s, e]| keep(&data[s as usize..e as usize]));
            return;
        }
        self.retain_events(|event| event.iter().any(|l| keep(l)));
    }

    /// Keeps only the events `keep` returns true for, given their lines.
    pub fn retain_events(&mut self, mut keep: impl FnMut(&[&[u8]]) -> bool) {
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut starts = Vec::new();
        let mut event_lines: Vec<&[u8]> = Vec::new();
        for event in self.events() {
            event_lines.clear();
            event_lines.extend(event.clone().map(|i| self.line(i)));
            if keep(&event_lines) {
                starts.push(lines.len() as u32);
                lines.extend_from_slice(&self.lines[event]);
            }
        }
        self.set_lines(lines, starts);
    }

    /// The lines `[from, to)` as a batch of their own (same buffer), with `starts` (indices into
    /// this batch, all in the range, the first being `from`) where its events begin.
    pub(super) fn into_range(mut self, from: usize, to: usize, starts: &[u32]) -> Batch {
        let mut lines = std::mem::take(&mut self.lines);
        lines.truncate(to);
        lines.drain(..from);
        let starts = match starts.len() == lines.len() {
            // Every line an event of its own: nothing to keep.
            true => Vec::new(),
            false => starts.iter().map(|&s| s - from as u32).collect(),
        };
        self.set_lines(lines, starts);
        self.cut = false;
        self
    }

    /// Sets the lines and event starts, keeping `starts` empty when every line is an event.
    fn set_lines(&mut self, lines: Vec<[u32; 2]>, mut starts: Vec<u32>) {
        if starts.len() == lines.len() {
            starts = Vec::new();
        }
        self.lines = lines;
        self.starts = starts;
    }
}

/// Lines copied into a buffer of their own, one event (for an event that spans reads).
#[derive(Debug, Default)]
pub(super) struct Gathered {
    data: BytesMut,
    lines: Vec<[u32; 2]>,
}

impl Gathered {
    /// Copies lines `range` of `batch` in.
    pub fn extend(&mut self, batch: &Batch, range: Range<usize>) {
        for i in range {
            let line = batch.line(i);
            let start = self.data.len() as u32;
            self.data.extend_from_slice(line);
            self.lines.push([start, self.data.len() as u32]);
        }
    }

    /// The number of lines gathered.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The memory held.
    pub fn held(&self) -> usize {
        self.data.capacity() + self.lines.capacity() * 8
    }

    /// The gathered lines as one event; leaves nothing held.
    pub fn take(&mut self) -> Batch {
        let data = std::mem::take(&mut self.data).freeze();
        let lines = std::mem::take(&mut self.lines);
        let starts = if lines.len() > 1 { vec![0] } else { Vec::new() };
        Batch { data, lines, starts, cut: false, gap: false }
    }
}

impl From<Vec<Vec<u8>>> for Batch {
    /// A batch holding the given lines (used where lines are made rather than read).
    fn from(lines: Vec<Vec<u8>>) -> Self {
        let mut data = Vec::with_capacity(lines.iter().map(Vec::len).sum());
        let mut ranges = Vec::with_capacity(lines.len());
        for line in lines {
            let start = data.len() as u32;
            data.extend_from_slice(&line);
            ranges.push([start, data.len() as u32]);
        }
        Batch { data: data.into(), lines: ranges, starts: Vec::new(), cut: false, gap: false }
    }
}

#[cfg(test)]
impl Batch {
    /// The lines grouped into events of the given sizes (for tests of what acts on events).
    pub fn grouped(lines: Vec<Vec<u8>>, sizes: &[usize]) -> Batch {
        assert_eq!(sizes.iter().sum::<usize>(), lines.len());
        let mut batch = Batch::from(lines);
        let mut at = 0;
        let mut starts = Vec::new();
        for &n in sizes {
            starts.push(at as u32);
            at += n;
        }
        let lines = std::mem::take(&mut batch.lines);
        batch.set_lines(lines, starts);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(batch: &Batch) -> Vec<Vec<String>> {
        batch
            .events()
            .map(|r| r.map(|i| String::from_utf8_lossy(batch.line(i)).into_owned()).collect())
            .collect()
    }

    fn v(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_filter_keeps_or_drops_whole_events() {
        let mut b = Batch::grouped(v(&["a", "b1", "b2", "c", "d1", "d2"]), &[1, 2, 1, 2]);
        assert_eq!(b.event_count(), 4);
        b.retain(|l| l.ends_with(b"2") || l == b"a");
        assert_eq!(text(&b), [vec!["a"], vec!["b1", "b2"], vec!["d1", "d2"]]);
        b.retain(|l| l == b"a");
        assert_eq!(text(&b), [vec!["a"]]);
        assert!(!b.is_grouped(), "single lines again");
    }

    #[test]
    fn slices_and_gathered_events() {
        let b = Batch::grouped(v(&["a", "b1", "b2", "c"]), &[1, 2, 1]);
        let s = b.clone().into_range(1, 4, &[1, 3]);
        assert_eq!(text(&s), [vec!["b1", "b2"], vec!["c"]]);
        let mut g = Gathered::default();
        g.extend(&b, 0..1);
        g.extend(&s, 0..2);
        assert_eq!(g.len(), 3);
        let e = g.take();
        assert_eq!(text(&e), [vec!["a", "b1", "b2"]]);
        assert_eq!(g.len(), 0);
        assert_eq!(g.held(), 0);
    }
}
