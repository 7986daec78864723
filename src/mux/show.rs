//! What of a source's events is shown: mute is decided before; here `-e`/`-v`, the live
//! filter (`/`), `--level` (and the `L` key), context (`-A`/`-B`/`-C`), and then counting,
//! holding while paused, or handing on to the writer.

use super::feedback::Mode;
use super::table::{SourceId, State};
use super::Mux;
use crate::filter;
use crate::line::Arrival;
use crate::output::Out;
use crate::parse::{Clock, Level};

/// The minimum levels the `L` key goes through, in turn.
const LEVELS: [Option<Level>; 3] = [None, Some(Level::Warn), Some(Level::Error)];

impl Mux {
    /// Shows source `id`'s events that the filters let through (with their context).
    pub(super) fn show(&mut self, id: SourceId, mut lines: Arrival) {
        if self.window.is_on() {
            let last = self.times.entry(id).or_default();
            let past = self.window.retain(last, &mut lines.batch, Clock::of_run());
            if past && !self.opts.follow {
                // --until under --no-follow: the rest of this source is later still.
                self.end_early(id);
            }
            if lines.batch.is_empty() {
                return;
            }
        }
        if self.context.is_on() && !self.counting {
            let mut shown = Vec::new();
            let (filters, live, level) = (&self.filters, &self.filter, self.level);
            let filtering = !filters.is_empty() || live.is_some() || level.is_some();
            let ring = self.rings.entry(id).or_default();
            ring.select(
                self.context,
                &lines.batch,
                |event| {
                    !filtering
                        || (filters.keeps(event)
                            && live.as_ref().is_none_or(|re| event.iter().any(|l| re.is_match(l)))
                            && level.is_none_or(|min| filter::at_least(event[0], min)))
                },
                &mut shown,
            );
            for batch in shown {
                self.out(id, Arrival { batch, peer: lines.peer.clone(), ..lines });
            }
            return;
        }
        self.filters.apply(&mut lines.batch);
        if let Some(re) = &self.filter {
            lines.batch.retain(|line| re.is_match(line));
        }
        if let Some(min) = self.level {
            filter::retain_level(&mut lines.batch, min);
        }
        if lines.batch.is_empty() {
            return;
        }
        if self.counting {
            self.table.row_mut(id).shown += lines.batch.event_count() as u64;
            return;
        }
        self.out(id, lines);
    }

    /// Lines to show: held while holding, else queued for the writer.
    fn out(&mut self, id: SourceId, lines: Arrival) {
        if self.holding() {
            self.hold.push(id, lines);
            self.update_status();
        } else {
            self.pending_bytes += lines.batch.data_len();
            self.pending.push_back(Out::Lines(id, lines));
        }
    }

    /// Source `id` is gone: its context and time go with it.
    pub(super) fn forget_context(&mut self, id: SourceId) {
        self.rings.remove(&id);
        self.times.remove(&id);
    }

    /// Stops reading source `id` (it passed `--until`): dropping its stream closes it.
    fn end_early(&mut self, id: SourceId) {
        if self.table.detach(id).is_some() {
            self.table.row_mut(id).state = State::Ended;
            self.update_status();
        }
    }

    /// The live filter (`/`): `text` as a regex, or none when empty.
    pub(super) fn set_filter(&mut self, text: String) {
        if text.is_empty() {
            self.filter = None;
            self.say("filter cleared".into());
            return;
        }
        match filter::compile(&text, self.ignore_case) {
            Ok(re) => {
                // Lines held meanwhile (paused, or typed over) are filtered too.
                self.hold.filter(|batch| batch.retain(|line| re.is_match(line)));
                self.filter = Some(re);
                self.say(format!("showing only lines matching /{text}/"));
            }
            // The old filter stays.
            Err(e) => self.say(e),
        }
    }

    /// The `L` key: the minimum level goes all -> warn -> error -> all (from a level given
    /// with --level, to the next of those above it).
    pub(super) fn cycle_level(&mut self) {
        self.level = match self.level {
            None => LEVELS[1],
            Some(now) => LEVELS[1..].iter().copied().flatten().find(|&l| l > now),
        };
        match self.level {
            Some(min) => {
                self.hold.filter(|batch| filter::retain_level(batch, min));
                self.say(format!("showing {} and above (L: next level)", min.name()));
            }
            None => self.say("showing every level".into()),
        }
    }

    /// Lets held lines go (pause ended, or a prompt closed).
    pub(super) fn release_held(&mut self) {
        for (id, lines) in self.hold.release() {
            self.pending_bytes += lines.batch.data_len();
            self.pending.push_back(Out::Lines(id, lines));
        }
    }

    /// Whether lines are held back: paused, a list or the help shown, or a prompt being typed
    /// on a terminal that the output also goes to (piped into grep), where lines would run
    /// through the prompt.
    pub(super) fn holding(&self) -> bool {
        self.hold.paused
            || self.listed
            || (self.feedback.prompting() && self.feedback.mode() == Mode::Stderr)
    }
}
