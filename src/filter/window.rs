//! `--since` and `--until` by the lines' own times: a line stamped before `since` or after
//! `until` is not shown; a line without a time goes with the line before it (of its source),
//! and one with no stamped line before it is kept.

use jiff::Timestamp;

use crate::line::Batch;
use crate::parse::{self, Clock};

/// The times shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl Window {
    /// Whether any time is left out.
    pub fn is_on(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Keeps `batch`'s events inside the window (an event by its first line); `last` is the
    /// time of the source's last stamped line, kept up to date. True when an event stamped
    /// after `until` was seen.
    pub fn retain(&self, last: &mut Option<Timestamp>, batch: &mut Batch, clock: &Clock) -> bool {
        let mut past = false;
        let mut keep = |first: &[u8]| {
            if let Some(ts) = parse::timestamp(first, clock) {
                *last = Some(ts);
            }
            let Some(ts) = *last else { return true };
            let after = self.until.is_some_and(|u| ts > u);
            past |= after;
            !after && self.since.is_none_or(|s| ts >= s)
        };
        if batch.is_grouped() {
            batch.retain_events(|lines| keep(lines[0]));
        } else {
            batch.retain(keep);
        }
        past
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::{Offset, TimeZone};

    #[test]
    fn lines_without_a_time_go_with_the_line_before() {
        let clock = Clock::new(TimeZone::fixed(Offset::UTC), Timestamp::UNIX_EPOCH);
        let w = Window {
            since: Some("2026-12-02T10:00:00Z".parse().unwrap()),
            until: Some("2026-12-02T11:00:00Z".parse().unwrap()),
        };
        let lines = [
            "before any time",
            "2026-12-02T09:00:00Z early",
            "  its frame",
            "2026-12-02T10:30:00Z inside",
            "  its frame",
            "2026-12-02T11:30:00Z late",
            "  late frame",
        ];
        let mut batch = Batch::from(lines.map(|l| l.as_bytes().to_vec()).to_vec());
        let mut last = None;
        assert!(w.retain(&mut last, &mut batch, &clock), "a line after --until was seen");
        let kept: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(kept, [&b"before any time"[..], b"2026-12-02T10:30:00Z inside", b"  its frame"]);
        assert_eq!(last, Some("2026-12-02T11:30:00Z".parse().unwrap()));
    }
}
