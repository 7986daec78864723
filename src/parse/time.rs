//! A line's own time: the timestamp it was written with.
//!
//! Recognised: RFC 3339 / ISO 8601 (`T` or a space between date and time, `-` or `/` in the
//! date, fractions after `.` or `,`, `Z` or an offset, or none: local time) anywhere in the
//! first [`PREFIX`] bytes; at the start, BSD syslog `Mmm dd HH:MM:SS` (the year: this one, or
//! last year when that would be in the future), Apache's error log `[Www Mmm dd HH:MM:SS yyyy]`,
//! klog `I1202 10:00:00.123456`, the syslog `<PRI>` before RFC 5424 (`<PRI>1 TIME`) or BSD
//! syslog; the common/combined log format `[02/Dec/2026:10:00:00 +0000]`; and a JSON object's
//! `time`, `ts`, `timestamp`, `@timestamp` or `t`, as text or as epoch seconds, milliseconds,
//! microseconds or nanoseconds. Calendars and time zones are jiff's.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

use super::json::{self, Kind};

/// The bytes of a line looked at for a time.
pub const PREFIX: usize = 128;
/// The bytes of a JSON line looked at for its time member.
const JSON_PREFIX: usize = 2048;

/// What times without a zone or a year are read against: the local time zone, and now.
#[derive(Clone, Debug)]
pub struct Clock {
    /// The zone and the local year now, worked out when a time first needs them: finding the
    /// system's zone reads the zone database's directory (a millisecond), and many runs read
    /// no local time at all.
    zone: std::sync::OnceLock<Zone>,
    pub now: Timestamp,
}

#[derive(Clone, Debug)]
struct Zone {
    tz: TimeZone,
    /// The local year now (worked out once, not for every line without a year).
    year: i16,
}

impl Zone {
    fn new(tz: TimeZone, now: Timestamp) -> Zone {
        let year = now.to_zoned(tz.clone()).year();
        Zone { tz, year }
    }
}

impl Clock {
    /// The system's time zone (`TZ`, or /etc/localtime, looked at when first needed) and the
    /// time now.
    pub fn system() -> Clock {
        Clock { zone: std::sync::OnceLock::new(), now: Timestamp::now() }
    }

    /// Times read against `tz`, as if it were `now`.
    pub fn new(tz: TimeZone, now: Timestamp) -> Clock {
        Clock { zone: Zone::new(tz, now).into(), now }
    }

    /// The clock of this run: the system's time zone and the time mux-tail started (what every
    /// line without a zone or a year is read against).
    pub fn of_run() -> &'static Clock {
        static CLOCK: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
        CLOCK.get_or_init(Clock::system)
    }

    fn zone(&self) -> &Zone {
        self.zone.get_or_init(|| Zone::new(TimeZone::system(), self.now))
    }

    /// The time zone times without one are read in.
    fn tz(&self) -> &TimeZone {
        &self.zone().tz
    }

    /// A local date and time as a timestamp (in a gap or a fold, as RFC 5545 does).
    pub fn local(&self, dt: DateTime) -> Option<Timestamp> {
        self.tz().to_ambiguous_timestamp(dt).compatible().ok()
    }

    /// The year of a date written without one (`Dec  2`): this year, or last year when that
    /// would be more than a day ahead of now.
    fn year_of(&self, month: i8, day: i8, hour: i8, minute: i8, second: i8) -> Option<DateTime> {
        let year = self.zone().year;
        let dt = DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
        let ahead = self.local(dt)?.as_second() - self.now.as_second();
        if ahead > 86_400 {
            return DateTime::new(year - 1, month, day, hour, minute, second, 0).ok();
        }
        Some(dt)
    }
}

/// The time `line` was written at, if it says.
pub fn timestamp(line: &[u8], clock: &Clock) -> Option<Timestamp> {
    match line.first()? {
        b'{' => return json_time(&line[..line.len().min(JSON_PREFIX)], clock),
        b'<' => {
            if let Some(ts) = syslog(line, clock) {
                return Some(ts);
            }
        }
        b'I' | b'W' | b'E' | b'F' if line.get(1).is_some_and(u8::is_ascii_digit) => {
            if let Some(ts) = klog(line, clock) {
                return Some(ts);
            }
        }
        b'[' => {
            if let Some(ts) = apache(&line[1..], clock) {
                return Some(ts);
            }
        }
        b'A'..=b'Z' => {
            if let Some(ts) = bsd(line, clock) {
                return Some(ts);
            }
        }
        _ => {}
    }
    let hay = &line[..line.len().min(PREFIX)];
    // A date needs a `-` or `/` (ISO, CLF); most lines without one are done here.
    let mut from = 0;
    while let Some(at) = memchr::memchr2(b'-', b'/', &hay[from..]) {
        let at = from + at;
        from = at + 1;
        // `YYYY-` or `YYYY/`: four digits before, not more.
        if at >= 4
            && hay[at - 4..at].iter().all(u8::is_ascii_digit)
            && (at == 4 || !hay[at - 5].is_ascii_alphanumeric())
        {
            if let Some((ts, _)) = iso(&hay[at - 4..], clock) {
                return Some(ts);
            }
        }
        // `[dd/Mmm/yyyy:` (common log format).
        if hay[at] == b'/' && at >= 3 && hay[at - 3] == b'[' {
            if let Some(ts) = clf(&hay[at - 2..], clock) {
                return Some(ts);
            }
        }
    }
    None
}

/// `n` digits at the start of `s`, as a number.
fn digits(s: &[u8], n: usize) -> Option<i64> {
    let d = s.get(..n)?;
    d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0, |v, &b| v * 10 + i64::from(b - b'0')))
}

/// `HH:MM:SS` and an optional fraction (`.` or `,`): the fields, nanoseconds, and its length.
fn clock_time(s: &[u8]) -> Option<(i8, i8, i8, i32, usize)> {
    let h = digits(s, 2)?;
    let m = (s.get(2) == Some(&b':')).then(|| digits(&s[3..], 2))??;
    let sec = (s.get(5) == Some(&b':')).then(|| digits(&s[6..], 2))??;
    let mut len = 8;
    let mut nanos = 0i64;
    if matches!(s.get(8), Some(b'.' | b',')) {
        let frac = s[9..].iter().take_while(|b| b.is_ascii_digit()).count();
        if frac > 0 {
            for (i, &b) in s[9..9 + frac.min(9)].iter().enumerate() {
                nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
            }
            len = 9 + frac;
        }
    }
    Some((h as i8, m as i8, sec as i8, nanos as i32, len))
}

/// An ISO 8601 / RFC 3339 time at the start of `s`, and its length.
pub fn iso(s: &[u8], clock: &Clock) -> Option<(Timestamp, usize)> {
    let year = digits(s, 4)?;
    let sep = *s.get(4)?;
    if !matches!(sep, b'-' | b'/') || s.get(7) != Some(&sep) {
        return None;
    }
    let (month, day) = (digits(&s[5..], 2)?, digits(&s[8..], 2)?);
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (h, m, sec, nanos, len) = clock_time(&s[11..])?;
    let dt = DateTime::new(year as i16, month as i8, day as i8, h, m, sec.min(59), nanos).ok()?;
    let mut end = 11 + len;
    let (offset, used) = offset(&s[end..]);
    end += used;
    let ts = match offset {
        Some(offset) => offset.to_timestamp(dt).ok()?,
        None => clock.local(dt)?,
    };
    Some((ts, end))
}

/// `Z`, `+HH:MM`, `+HHMM`, `+HH` (also after one space) at the start of `s`: the offset and
/// the bytes it took; `(None, 0)` when there is none.
fn offset(s: &[u8]) -> (Option<Offset>, usize) {
    match s.first() {
        Some(b'Z' | b'z') => return (Some(Offset::UTC), 1),
        Some(b' ') if matches!(s.get(1), Some(b'+' | b'-')) => {
            let (o, n) = offset(&s[1..]);
            return if o.is_some() { (o, n + 1) } else { (None, 0) };
        }
        Some(b'+' | b'-') => {}
        _ => return (None, 0),
    }
    let sign = if s[0] == b'-' { -1 } else { 1 };
    let Some(h) = digits(&s[1..], 2) else { return (None, 0) };
    let (m, n) = match (s.get(3), digits(s.get(4..).unwrap_or(&[]), 2), digits(&s[3..], 2)) {
        (Some(b':'), Some(m), _) => (m, 6),
        (_, _, Some(m)) => (m, 5),
        _ => (0, 3),
    };
    match Offset::from_seconds(sign * (h * 3600 + m * 60) as i32) {
        Ok(o) => (Some(o), n),
        Err(_) => (None, 0),
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month(s: &[u8]) -> Option<i8> {
    let m = s.get(..3)?;
    MONTHS.iter().position(|name| name.as_slice() == m).map(|i| i as i8 + 1)
}

/// BSD syslog `Mmm dd HH:MM:SS` (the day space-padded or not) at the start of `s`.
fn bsd(s: &[u8], clock: &Clock) -> Option<Timestamp> {
    let month = month(s)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let day = match s.get(4) {
        Some(b' ') => digits(&s[5..], 1)?,
        _ => digits(&s[4..], 2)?,
    };
    if s.get(6) != Some(&b' ') {
        return None;
    }
    let (h, m, sec, nanos, _) = clock_time(&s[7..])?;
    let dt = clock.year_of(month, day as i8, h, m, sec.min(59))?;
    clock.local(dt.with().subsec_nanosecond(nanos).build().ok()?)
}

/// Apache's error log, after its `[`: `Www Mmm dd HH:MM:SS[.ffffff] yyyy]`.
fn apache(s: &[u8], clock: &Clock) -> Option<Timestamp> {
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let s = &s[4..];
    let month = month(s)?;
    let day = digits(s.get(4..)?, 2)?;
    let (h, m, sec, nanos, len) = clock_time(s.get(7..)?)?;
    let rest = &s[7 + len..];
    let year = (rest.first() == Some(&b' ')).then(|| digits(&rest[1..], 4))??;
    let dt = DateTime::new(year as i16, month, day as i8, h, m, sec.min(59), nanos).ok()?;
    clock.local(dt)
}

/// The common log format's `dd/Mmm/yyyy:HH:MM:SS +zzzz`.
fn clf(s: &[u8], clock: &Clock) -> Option<Timestamp> {
    let day = digits(s, 2)?;
    let month = (s.get(2) == Some(&b'/')).then(|| month(&s[3..]))??;
    let year = (s.get(6) == Some(&b'/')).then(|| digits(&s[7..], 4))??;
    let (h, m, sec, nanos, len) = (s.get(11) == Some(&b':')).then(|| clock_time(&s[12..]))??;
    let dt = DateTime::new(year as i16, month, day as i8, h, m, sec.min(59), nanos).ok()?;
    match offset(&s[12 + len..]) {
        (Some(offset), _) => offset.to_timestamp(dt).ok(),
        (None, _) => clock.local(dt),
    }
}

/// klog: `Lmmdd HH:MM:SS.ffffff`.
fn klog(s: &[u8], clock: &Clock) -> Option<Timestamp> {
    let (month, day) = (digits(&s[1..], 2)?, digits(s.get(3..)?, 2)?);
    if s.get(5) != Some(&b' ') {
        return None;
    }
    let (h, m, sec, nanos, _) = clock_time(&s[6..])?;
    let dt = clock.year_of(month as i8, day as i8, h, m, sec.min(59))?;
    clock.local(dt.with().subsec_nanosecond(nanos).build().ok()?)
}

/// `<PRI>`, then RFC 5424 (`1 TIME`) or RFC 3164 (BSD syslog).
fn syslog(s: &[u8], clock: &Clock) -> Option<Timestamp> {
    let close = s.iter().take(5).position(|&b| b == b'>')?;
    let rest = &s[close + 1..];
    match rest.strip_prefix(b"1 ") {
        Some(time) => iso(time, clock).map(|(ts, _)| ts),
        None => bsd(rest, clock),
    }
}

/// A JSON object's time member.
fn json_time(text: &[u8], clock: &Clock) -> Option<Timestamp> {
    json::members(text, |key, v| {
        if !matches!(key, b"time" | b"ts" | b"timestamp" | b"@timestamp" | b"t") {
            return None;
        }
        match v.kind {
            Kind::String => iso(v.raw, clock).map(|(ts, _)| ts),
            Kind::Number => epoch(v.raw),
            _ => None,
        }
    })
}

/// Epoch seconds, or milliseconds, microseconds, nanoseconds by size (as pino, zap, bunyan
/// and Go write them), as written: `1796205600`, `1796205600123`, `1796205600.5`.
fn epoch(text: &[u8]) -> Option<Timestamp> {
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if int.is_empty() || int.len() > 19 || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let whole = int.iter().fold(0i128, |v, &b| v * 10 + i128::from(b - b'0'));
    // Nanoseconds per unit, by the size of the whole part.
    let unit: i128 = match int.len() {
        0..=11 => 1_000_000_000,
        12..=14 => 1_000_000,
        15..=17 => 1_000,
        _ => 1,
    };
    let mut nanos = whole * unit;
    let mut scale = unit / 10;
    for &b in frac.iter().take(9) {
        nanos += i128::from(b - b'0') * scale;
        scale /= 10;
    }
    Timestamp::from_nanosecond(nanos).ok()
}

/// Parses a duration: a number (decimals allowed) with `ms`, `s`, `m`, `h` or `d`; seconds
/// when bare.
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let secs: f64 = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("unknown unit '{unit}' (use ms, s, m, h or d)")),
    };
    let n: f64 =
        number.parse().map_err(|_| "expected a duration, such as 500ms, 2s or 10m".to_string())?;
    std::time::Duration::try_from_secs_f64(n * secs).map_err(|_| "too large".to_string())
}

/// When `--since` / `--until` say: a duration ago (`90s`, `10m`, `2h`, `1d`), an RFC 3339 time,
/// `YYYY-MM-DD[ HH:MM[:SS]]` (local time; `T` works too), or `HH:MM[:SS]` today (local).
pub fn when(text: &str, clock: &Clock) -> Result<Timestamp, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid time '{text}' (as 10m or 2h ago, 03:00 today, 2026-12-02, \
             2026-12-02 03:00, or 2026-12-02T03:00:00Z)"
        )
    };
    if t.starts_with(|c: char| c.is_ascii_digit()) && !t.contains([':', '-']) {
        let ago = duration(t).map_err(|_| bad())?;
        let ago = jiff::SignedDuration::try_from(ago).map_err(|_| bad())?;
        return clock.now.checked_sub(ago).map_err(|_| bad());
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<DateTime>() {
        return clock.local(dt).ok_or_else(bad);
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return clock.local(date.to_datetime(jiff::civil::Time::midnight())).ok_or_else(bad);
    }
    if let Ok(time) = t.parse::<jiff::civil::Time>() {
        let today = clock.now.to_zoned(clock.tz().clone()).date();
        return clock.local(today.to_datetime(time)).ok_or_else(bad);
    }
    Err(bad())
}

#[cfg(test)]
mod tests;
