//! A line's level, normalised to `trace < debug < info < notice < warn < error < fatal`.
//!
//! What is recognised, in this order:
//! - the syslog `<PRI>` a line starts with (severity = PRI % 8);
//! - a JSON object's `level`, `lvl`, `severity`, `loglevel` or `log.level` member (any case
//!   of the key), a word or a pino/bunyan number (10 trace … 60 fatal);
//! - a klog prefix (`E1202 10:00:00.123456 …`: I, W, E, F);
//! - logfmt `level=` / `lvl=` / `severity=` (any case of the value);
//! - a level word near the start: upper case (`WARN`, `ERROR`), or any case when bracketed
//!   (`[error]`, Apache's `[core:error]`) or first on the line and followed by `:` (`error:`).
//!
//! A lower-case word inside a sentence (`no error here`) is not a level. Only the first
//! [`PREFIX`] bytes are looked at ([`JSON_PREFIX`] for a JSON object).

use std::ops::Range;

use super::field::logfmt;
use super::json::{self, Kind};

/// The bytes of a line looked at for a level.
pub const PREFIX: usize = 256;
/// The bytes of a JSON line looked at for its level member.
pub const JSON_PREFIX: usize = 2048;

/// How severe a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Notice,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// Its name, lower case (`{level}`, `--json`, `--level`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// The level a word names, in any case: the names and their usual spellings (`WARNING`,
    /// `ERR`, `CRITICAL`, `EMERG`, …).
    pub fn named(word: &[u8]) -> Option<Level> {
        if word.len() > 13 {
            return None;
        }
        let mut lower = [0u8; 13];
        for (l, b) in lower.iter_mut().zip(word) {
            *l = b.to_ascii_lowercase();
        }
        Some(match &lower[..word.len()] {
            b"trace" | b"trc" | b"finest" | b"finer" | b"verbose" => Level::Trace,
            b"debug" | b"dbg" | b"fine" => Level::Debug,
            b"info" | b"inf" | b"informational" => Level::Info,
            b"notice" => Level::Notice,
            b"warn" | b"warning" | b"wrn" => Level::Warn,
            b"error" | b"err" | b"severe" | b"eror" => Level::Error,
            b"fatal" | b"critical" | b"crit" | b"alert" | b"emerg" | b"panic" | b"dpanic" => {
                Level::Fatal
            }
            _ => return None,
        })
    }

    /// The level of a syslog severity (0 emergency … 7 debug).
    fn syslog(severity: u32) -> Level {
        match severity {
            0..=2 => Level::Fatal,
            3 => Level::Error,
            4 => Level::Warn,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The level of a pino/bunyan number (10 trace, 20 debug, 30 info, 40 warn, 50 error,
    /// 60 fatal).
    fn numbered(n: u64) -> Level {
        match n {
            0..=10 => Level::Trace,
            11..=20 => Level::Debug,
            21..=30 => Level::Info,
            31..=40 => Level::Warn,
            41..=50 => Level::Error,
            _ => Level::Fatal,
        }
    }
}

/// A level found, and where its marker is in the line (the word, the value, the `<PRI>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub level: Level,
    pub at: Range<usize>,
}

/// The level of `line`, if it shows one; see the module docs.
pub fn detect(line: &[u8]) -> Option<Found> {
    match line.first()? {
        b'<' => {
            if let Some(found) = syslog(line) {
                return Some(found);
            }
        }
        b'{' | b' ' | b'\t' if first_byte(line) == Some(b'{') => {
            let cut = &line[..line.len().min(JSON_PREFIX)];
            if let Some(found) = json_level(cut) {
                return found;
            }
        }
        b'I' | b'W' | b'E' | b'F' => {
            if let Some(found) = klog(line) {
                return Some(found);
            }
        }
        _ => {}
    }
    let hay = &line[..line.len().min(PREFIX)];
    // Most lines of most logs hold none of the bytes a level marker needs past its first word:
    // an upper-case letter, a bracket, an `=`. Eight bytes at a time.
    if !may_mark(hay) {
        return first_word(hay);
    }
    if memchr::memchr(b'=', hay).is_some() {
        for key in [&b"level"[..], b"lvl", b"severity", b"loglevel"] {
            if let Some(v) = logfmt(hay, key) {
                let inner = v.strip_prefix(b"\"").unwrap_or(v);
                let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
                if let Some(level) = Level::named(inner) {
                    let at = offset(hay, inner);
                    return Some(Found { level, at: at..at + inner.len() });
                }
            }
        }
    }
    words(hay)
}

fn first_byte(line: &[u8]) -> Option<u8> {
    line.iter().copied().find(|b| !matches!(b, b' ' | b'\t'))
}

/// Where `part` (a slice of `whole`) starts in it.
fn offset(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// `<PRI>` at the start: 1 to 3 digits, at most 191.
fn syslog(line: &[u8]) -> Option<Found> {
    let digits = line[1..].iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || line.get(1 + digits) != Some(&b'>') {
        return None;
    }
    let pri: u32 = std::str::from_utf8(&line[1..1 + digits]).ok()?.parse().ok()?;
    (pri <= 191).then(|| Found { level: Level::syslog(pri % 8), at: 0..digits + 2 })
}

/// The level member of a JSON object: `Some(None)` for an object without one (its text is not
/// searched for words), `None` when `text` is not an object after all.
fn json_level(text: &[u8]) -> Option<Option<Found>> {
    let mut seen = false;
    let found = json::members(text, |key, v| {
        seen = true;
        let known = [&b"level"[..], b"lvl", b"severity", b"loglevel", b"log.level"];
        if !known.iter().any(|k| key.eq_ignore_ascii_case(k)) {
            return None;
        }
        let level = match v.kind {
            Kind::String => Level::named(v.raw)?,
            Kind::Number => Level::numbered(std::str::from_utf8(v.raw).ok()?.parse().ok()?),
            _ => return None,
        };
        Some(Found { level, at: v.at..v.at + v.raw.len() })
    });
    match found {
        Some(found) => Some(Some(found)),
        // Read to its end (or to the cut) without a level: an object with none.
        None if seen || json::parse(text).is_some() => Some(None),
        None => None,
    }
}

/// `Lmmdd hh:mm:ss` at the start (klog, glog).
fn klog(line: &[u8]) -> Option<Found> {
    let head = line.get(..14)?;
    let digits = |r: Range<usize>| head[r].iter().all(u8::is_ascii_digit);
    let shape = digits(1..5)
        && head[5] == b' '
        && digits(6..8)
        && head[8] == b':'
        && digits(9..11)
        && head[11] == b':'
        && digits(12..14);
    let level = match head[0] {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        _ => Level::Fatal,
    };
    shape.then_some(Found { level, at: 0..1 })
}

/// Whether `hay` holds a byte in `A..=[` (upper-case letters and `[`) or an `=`.
fn may_mark(hay: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        may_mark_sse2(hay)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        may_mark_swar(hay)
    }
}

/// [`may_mark`] sixteen bytes at a time (SSE2 is part of every x86-64).
#[cfg(target_arch = "x86_64")]
fn may_mark_sse2(hay: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let mut chunks = hay.chunks_exact(16);
    // SAFETY: SSE2 is always there on x86-64; every load reads 16 bytes of a 16-byte chunk.
    unsafe {
        let below = _mm_set1_epi8(b'A' as i8 - 1);
        let above = _mm_set1_epi8(b'[' as i8 + 1);
        let equals = _mm_set1_epi8(b'=' as i8);
        for chunk in &mut chunks {
            let x = _mm_loadu_si128(chunk.as_ptr().cast());
            // Signed compares: bytes of 128 and up are negative, so never in the range.
            let range = _mm_and_si128(_mm_cmpgt_epi8(x, below), _mm_cmplt_epi8(x, above));
            let hit = _mm_or_si128(range, _mm_cmpeq_epi8(x, equals));
            if _mm_movemask_epi8(hit) != 0 {
                return true;
            }
        }
    }
    chunks.remainder().iter().any(|&b| (b'A'..=b'[').contains(&b) || b == b'=')
}

/// [`may_mark`] eight bytes at a time, in plain integer arithmetic.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn may_mark_swar(hay: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES * 128;
    // Bytes strictly between m and n (both below 128), from Bit Twiddling Hacks.
    let between = |x: u64, m: u64, n: u64| {
        (ONES * (127 + n)).wrapping_sub(x & (ONES * 127))
            & !x
            & ((x & (ONES * 127)) + ONES * (127 - m))
            & HIGH
    };
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = hay.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if between(x, b'A' as u64 - 1, b'[' as u64 + 1) != 0 || zero(x ^ (ONES * b'=' as u64)) != 0
        {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| (b'A'..=b'[').contains(&b) || b == b'=')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A word of any case first on the line and followed by `:` (`error: …`, `WARNING:root:…`).
fn first_word(hay: &[u8]) -> Option<Found> {
    let start = hay.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    let len = hay[start..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if len < 3 || hay.get(start + len) != Some(&b':') {
        return None;
    }
    let level = Level::named(&hay[start..start + len])?;
    Some(Found { level, at: start..start + len })
}

/// The first level word in `hay`: upper case, bracketed, or first and followed by `:`.
fn words(hay: &[u8]) -> Option<Found> {
    if let Some(found) = first_word(hay) {
        return Some(found);
    }
    let mut i = 0;
    while i < hay.len() {
        if !hay[i].is_ascii_alphabetic() || (i > 0 && is_word(hay[i - 1])) {
            i += 1;
            continue;
        }
        let len = hay[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let (start, end) = (i, i + len);
        i = end;
        if !(3..=13).contains(&len) || hay.get(end).is_some_and(|&b| is_word(b)) {
            continue;
        }
        let word = &hay[start..end];
        let Some(level) = Level::named(word) else { continue };
        let upper = word.iter().all(u8::is_ascii_uppercase);
        if upper || bracketed(hay, start, end) {
            return Some(Found { level, at: start..end });
        }
    }
    None
}

/// `[word]`, or `[module:word]` as Apache writes it.
fn bracketed(hay: &[u8], start: usize, end: usize) -> bool {
    if hay.get(end) != Some(&b']') || start == 0 {
        return false;
    }
    match hay[start - 1] {
        b'[' => true,
        b':' => hay[..start - 1]
            .iter()
            .rev()
            .take_while(|&&b| b != b' ' && b != b']')
            .any(|&b| b == b'['),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
