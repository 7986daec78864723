//! The backlog in time order: while the files named at start read what they already hold
//! (`-n`, `--since`), their events are kept back; once every one has caught up, they go out
//! merged by the times the lines carry — each file's own order kept, ties in command-line
//! order — and then whatever came meanwhile, in arrival order.
//!
//! A line without a time goes with the line before it; lines before a file's first time go
//! with that time; a file with no time at all is not kept back: it goes out once read, before
//! the timed ones (so that files without times come out as they always did: file by file, in
//! command-line order). The backlog held is bounded: past [`BACKLOG_BYTES`] it goes out merged
//! as far as it got, with a note.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Range;

use jiff::Timestamp;

use super::table::SourceId;
use super::Mux;
use crate::line::Arrival;
use crate::parse::{self, Clock};

/// The most bytes of lines kept back for merging.
pub const BACKLOG_BYTES: usize = 64 << 20;

/// What is kept back while files catch up.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Each starting file's events, in order (by source id: command-line order).
    initial: BTreeMap<SourceId, Vec<Arrival>>,
    /// Everything else that came meanwhile, in arrival order.
    live: Vec<(SourceId, Arrival)>,
    bytes: usize,
}

/// One event's place in a file's backlog: which arrival, which lines, and its time (`None`:
/// the file has none).
struct Event {
    arrival: usize,
    lines: Range<usize>,
    key: Option<Timestamp>,
}

/// The events of one file's arrivals with their merge keys.
fn keyed(arrivals: &[Arrival], clock: &Clock) -> Vec<Event> {
    let mut events = Vec::new();
    let mut last = None;
    let mut first_stamp = None;
    for (a, arrival) in arrivals.iter().enumerate() {
        for lines in arrival.batch.events() {
            if let Some(ts) = parse::timestamp(arrival.batch.line(lines.start), clock) {
                last = Some(ts);
                first_stamp.get_or_insert(ts);
            }
            events.push(Event { arrival: a, lines, key: last });
        }
    }
    // Lines before the first time go with it.
    for e in events.iter_mut().take_while(|e| e.key.is_none()) {
        e.key = first_stamp;
    }
    events
}

/// `initial` merged: runs of one source's events, in output order.
fn merge(initial: BTreeMap<SourceId, Vec<Arrival>>, clock: &Clock) -> Vec<(SourceId, Arrival)> {
    let files: Vec<(SourceId, Vec<Arrival>, Vec<Event>)> = initial
        .into_iter()
        .map(|(id, arrivals)| {
            let events = keyed(&arrivals, clock);
            (id, arrivals, events)
        })
        .collect();
    // Smallest key first; no time sorts after every time; ties by command-line order.
    let sort_key = |key: Option<Timestamp>| (key.is_none(), key.unwrap_or(Timestamp::MIN));
    let mut heads = BinaryHeap::new();
    let mut next = vec![0usize; files.len()];
    for (f, (_, _, events)) in files.iter().enumerate() {
        if let Some(e) = events.first() {
            heads.push(Reverse((sort_key(e.key), f)));
        }
    }
    let mut out: Vec<(SourceId, Arrival)> = Vec::new();
    let mut run: Option<(usize, usize, Vec<Range<usize>>)> = None;
    let flush = |run: &mut Option<(usize, usize, Vec<Range<usize>>)>, out: &mut Vec<_>| {
        if let Some((f, a, ranges)) = run.take() {
            let (id, arrivals, _): &(SourceId, Vec<Arrival>, Vec<Event>) = &files[f];
            let arrival: &Arrival = &arrivals[a];
            let batch = arrival.batch.subset(&ranges);
            out.push((*id, Arrival { batch, peer: arrival.peer.clone(), ..*arrival }));
        }
    };
    while let Some(Reverse((_, f))) = heads.pop() {
        let events = &files[f].2;
        let e = &events[next[f]];
        next[f] += 1;
        match &mut run {
            Some((rf, ra, ranges)) if *rf == f && *ra == e.arrival => ranges.push(e.lines.clone()),
            _ => {
                flush(&mut run, &mut out);
                run = Some((f, e.arrival, vec![e.lines.clone()]));
            }
        }
        if let Some(n) = events.get(next[f]) {
            heads.push(Reverse((sort_key(n.key), f)));
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Mux {
    /// Keeps the backlog back from now until the files named at start have caught up (when
    /// more than one does: one file's backlog is in order already).
    pub fn merge_backlog(&mut self) {
        if self.table.catching_up_count() > 1 {
            self.backlog = Some(Backlog::default());
        }
    }

    /// Source `id`'s complete events: kept back while the backlog is, else shown.
    pub(super) fn deliver(&mut self, id: SourceId, lines: Arrival) {
        let Some(backlog) = &mut self.backlog else { return self.show(id, lines) };
        backlog.bytes += lines.batch.data_len();
        if self.table.is_starting(id) {
            backlog.initial.entry(id).or_default().push(lines);
        } else {
            backlog.live.push((id, lines));
        }
        if backlog.bytes > BACKLOG_BYTES {
            let note = format!(
                "the files' first lines are over {} MiB: shown merged by time up to here, \
                 then as they are read",
                BACKLOG_BYTES >> 20
            );
            self.feedback.note(&note, &mut self.pending);
            self.release_backlog();
        }
    }

    /// Source `id` has caught up: when none of its first lines carries a time, they go out
    /// now (there is nothing to merge them by), so that files without times are kept back no
    /// longer than it takes to read them.
    pub(super) fn caught_up_backlog(&mut self, id: SourceId) {
        let Some(backlog) = &mut self.backlog else { return };
        let Some(arrivals) = backlog.initial.get(&id) else { return };
        let clock = Clock::of_run();
        let timed = arrivals.iter().any(|a| {
            a.batch.events().any(|e| parse::timestamp(a.batch.line(e.start), clock).is_some())
        });
        if timed {
            return;
        }
        let arrivals = backlog.initial.remove(&id).unwrap_or_default();
        backlog.bytes -= arrivals.iter().map(|a| a.batch.data_len()).sum::<usize>();
        for lines in arrivals {
            self.show(id, lines);
        }
    }

    /// Lets the backlog go once no file is catching up any more.
    pub(super) fn check_backlog(&mut self) {
        if self.backlog.is_some() && !self.table.catching_up() {
            self.release_backlog();
        }
    }

    fn release_backlog(&mut self) {
        let Some(backlog) = self.backlog.take() else { return };
        for (id, lines) in merge(backlog.initial, Clock::of_run()) {
            self.show(id, lines);
        }
        for (id, lines) in backlog.live {
            self.show(id, lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Batch;
    use jiff::tz::{Offset, TimeZone};

    fn arrival(lines: &[&str]) -> Arrival {
        let batch = Batch::from(lines.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
        Arrival { batch, peer: None, time: std::time::SystemTime::UNIX_EPOCH, stream: None }
    }

    #[test]
    fn merged_by_time_keeping_each_files_order() {
        let clock = Clock::new(TimeZone::fixed(Offset::UTC), Timestamp::UNIX_EPOCH);
        let mut initial = BTreeMap::new();
        initial.insert(
            0,
            vec![
                arrival(&["a head", "2026-12-02T10:00:01Z a1", "  a1 frame"]),
                arrival(&["2026-12-02T10:00:04Z a4"]),
            ],
        );
        initial.insert(
            1,
            vec![arrival(&[
                "2026-12-02T10:00:02Z b2",
                "2026-12-02T10:00:01Z b1 late",
                "2026-12-02T10:00:05Z b5",
            ])],
        );
        initial.insert(2, vec![arrival(&["no time c1", "no time c2"])]);
        let out: Vec<String> = merge(initial, &clock)
            .into_iter()
            .flat_map(|(id, a)| {
                a.batch
                    .iter()
                    .map(|l| format!("{id}:{}", String::from_utf8_lossy(l)))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            out,
            [
                "0:a head",
                "0:2026-12-02T10:00:01Z a1",
                "0:  a1 frame",
                "1:2026-12-02T10:00:02Z b2",
                "1:2026-12-02T10:00:01Z b1 late",
                "0:2026-12-02T10:00:04Z a4",
                "1:2026-12-02T10:00:05Z b5",
                "2:no time c1",
                "2:no time c2",
            ]
        );
    }
}
