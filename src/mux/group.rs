//! `--multiline` in the loop: a [`Grouper`] per input (a source, and for sockets each
//! connection, for commands each output), the events they complete, and the one timer that ends
//! an event no line came for within `--multiline-timeout`.
//!
//! A grouper exists only while its input has an event open, so an idle source costs nothing,
//! and the timer is armed only while some event is open: an idle mux-tail makes no wake-ups.
//! All open events together hold at most the budget for unfinished lines; past it the largest
//! is ended early.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::{Instant, Sleep};

use super::table::SourceId;
use super::Mux;
use crate::line::event::{Cache, Grouper, Rules};
use crate::line::{Arrival, Peer, Stream};

/// Which input of which source: the source, the command output, the connection (its peer's
/// `Arc`, one per connection, told apart by address).
type Key = (SourceId, u8, usize);

/// The key of the input `lines` came from.
fn key(id: SourceId, stream: Option<Stream>, peer: Option<&Peer>) -> Key {
    let stream = match stream {
        None => 0,
        Some(Stream::Stdout) => 1,
        Some(Stream::Stderr) => 2,
    };
    (id, stream, peer.map_or(0, |p| Arc::as_ptr(p) as *const u8 as usize))
}

/// An input with an open event.
#[derive(Debug)]
struct Open {
    grouper: Grouper,
    /// The open event's arrival time, peer and output.
    time: SystemTime,
    peer: Option<Peer>,
    stream: Option<Stream>,
    /// When its last line came.
    last: Instant,
    /// Tells this entry from an earlier one of the same key in the timer queue.
    generation: u64,
}

impl Open {
    fn arrival(&self, batch: crate::line::Batch, time: SystemTime) -> Arrival {
        Arrival { batch, peer: self.peer.clone(), time, stream: self.stream }
    }
}

/// The groupers of every input with an open event, and their timer.
pub struct Groups {
    rules: Arc<Rules>,
    cache: Cache,
    timeout: Duration,
    /// The most bytes all open events may hold together.
    limit: usize,
    open: HashMap<Key, Open>,
    /// When each open event times out, at the latest (one entry per open event; an entry
    /// whose event got lines since is pushed again for later).
    deadlines: BinaryHeap<Reverse<(Instant, u64, Key)>>,
    generation: u64,
    /// Memory held by all open events.
    held: usize,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

impl Groups {
    /// Groups by `rules`; an event with no new line for `timeout` ends; open events hold at
    /// most `limit` bytes together.
    pub fn new(rules: Rules, timeout: Duration, limit: usize) -> Groups {
        Groups {
            cache: rules.cache(),
            rules: Arc::new(rules),
            timeout,
            limit,
            open: HashMap::new(),
            deadlines: BinaryHeap::new(),
            generation: 0,
            held: 0,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed: None,
        }
    }

    /// Groups source `id`'s `lines`; the events they complete go to `done`, in order.
    pub fn feed(&mut self, id: SourceId, lines: Arrival, done: &mut Vec<Arrival>) {
        let key = key(id, lines.stream, lines.peer.as_ref());
        let now = Instant::now();
        let open = match self.open.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.generation += 1;
                let deadline = now + self.timeout;
                self.deadlines.push(Reverse((deadline, self.generation, key)));
                e.insert(Open {
                    grouper: Grouper::new(self.rules.clone()),
                    time: lines.time,
                    peer: lines.peer.clone(),
                    stream: lines.stream,
                    last: now,
                    generation: self.generation,
                })
            }
        };
        let before = open.grouper.held();
        let fed = open.grouper.feed(lines.batch, &mut self.cache);
        if let Some(event) = fed.completed {
            done.push(open.arrival(event, open.time));
        }
        if let Some(events) = fed.within {
            done.push(open.arrival(events, lines.time));
        }
        if fed.started {
            open.time = lines.time;
        }
        open.last = now;
        self.held = self.held + open.grouper.held() - before;
        if !open.grouper.is_open() {
            self.open.remove(&key);
        }
        while self.held > self.limit {
            // Over the budget: the largest open event ends now.
            let Some((&key, _)) = self.open.iter().max_by_key(|(_, o)| o.grouper.held()) else {
                break;
            };
            self.end(key, done);
        }
        self.arm();
    }

    /// Ends the open event of source `id`'s input that `peer` names (a connection closed, a
    /// file was rotated or truncated).
    pub fn input_ended(&mut self, id: SourceId, peer: Option<&Peer>, done: &mut Vec<Arrival>) {
        self.end(key(id, None, peer), done);
        self.arm();
    }

    /// Ends every open event of source `id` (it ended or was detached).
    pub fn source_ended(&mut self, id: SourceId, done: &mut Vec<Arrival>) {
        let mut keys: Vec<Key> = self.open.keys().filter(|k| k.0 == id).copied().collect();
        // In the order their events began.
        keys.sort_by_key(|k| self.open[k].time);
        for key in keys {
            self.end(key, done);
        }
        self.arm();
    }

    /// Ends every open event (mux-tail is quitting); `done` gets them in the order they began,
    /// with the source of each.
    pub fn end_all(&mut self, done: &mut Vec<(SourceId, Arrival)>) {
        let mut keys: Vec<Key> = self.open.keys().copied().collect();
        keys.sort_by_key(|k| self.open[k].time);
        for key in keys {
            let mut events = Vec::new();
            self.end(key, &mut events);
            done.extend(events.into_iter().map(|a| (key.0, a)));
        }
        self.arm();
    }

    /// Whether an event is open (the timer runs).
    pub fn is_timing(&self) -> bool {
        self.armed.is_some()
    }

    /// Ends the events whose time is up; `done` gets them, with the source of each.
    pub fn expire(&mut self, done: &mut Vec<(SourceId, Arrival)>) {
        let now = Instant::now();
        while let Some(&Reverse((deadline, generation, key))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let Some(open) = self.open.get(&key).filter(|o| o.generation == generation) else {
                continue;
            };
            let due = open.last + self.timeout;
            if due > now {
                self.deadlines.push(Reverse((due, generation, key)));
                continue;
            }
            let mut events = Vec::new();
            self.end(key, &mut events);
            done.extend(events.into_iter().map(|a| (key.0, a)));
        }
        self.arm();
    }

    fn end(&mut self, key: Key, done: &mut Vec<Arrival>) {
        if let Some(mut open) = self.open.remove(&key) {
            self.held -= open.grouper.held();
            if let Some(event) = open.grouper.flush() {
                done.push(open.arrival(event, open.time));
            }
        }
    }

    /// Sets the timer for the earliest deadline, or none when no event is open.
    fn arm(&mut self) {
        while let Some(&Reverse((_, generation, key))) = self.deadlines.peek() {
            if self.open.get(&key).is_some_and(|o| o.generation == generation) {
                break;
            }
            self.deadlines.pop();
        }
        let next = self.deadlines.peek().map(|Reverse((at, _, _))| *at);
        if next != self.armed {
            if let Some(at) = next {
                self.timer.as_mut().reset(at);
            }
            self.armed = next;
        }
    }
}

/// Waits for the timer of `groups`; cancel-safe. Only while [`Groups::is_timing`].
pub async fn tick(groups: &mut Option<Groups>) {
    match groups {
        Some(groups) => (&mut groups.timer).await,
        None => std::future::pending().await,
    }
}

impl Mux {
    /// Source `id`'s lines, grouped into events when `--multiline` asks for it.
    pub(super) fn group(&mut self, id: SourceId, lines: Arrival) {
        match &mut self.groups {
            Some(groups) => {
                let mut done = Vec::new();
                groups.feed(id, lines, &mut done);
                self.complete(id, done);
            }
            None => self.complete(id, vec![lines]),
        }
    }

    /// One of source `id`'s inputs ended: its open event is complete.
    pub(super) fn input_ended(&mut self, id: SourceId, peer: Option<Peer>) {
        if let Some(groups) = &mut self.groups {
            let mut done = Vec::new();
            groups.input_ended(id, peer.as_ref(), &mut done);
            self.complete(id, done);
        }
    }

    /// Source `id`'s complete events: counted, and shown unless the source is muted.
    pub(super) fn complete(&mut self, id: SourceId, done: Vec<Arrival>) {
        for lines in done {
            let row = self.table.row_mut(id);
            row.events += lines.batch.event_count() as u64;
            if !row.muted {
                self.deliver(id, lines);
            }
        }
    }

    /// Ends source `id`'s open events (it ended or is being detached).
    pub(super) fn end_events(&mut self, id: SourceId) {
        if let Some(groups) = &mut self.groups {
            let mut done = Vec::new();
            groups.source_ended(id, &mut done);
            self.complete(id, done);
        }
    }

    /// Ends the events no line came for within `--multiline-timeout`, or with `all` every
    /// open event (mux-tail is quitting: what was read is shown).
    pub(super) fn expire(&mut self, all: bool) {
        let mut done = Vec::new();
        if let Some(groups) = &mut self.groups {
            if all {
                groups.end_all(&mut done);
            } else {
                groups.expire(&mut done);
            }
        }
        for (id, lines) in done {
            self.complete(id, vec![lines]);
        }
    }
}
