//! `--json` records and RFC 3339 times.

use std::time::SystemTime;

use super::Source;
use crate::line::Arrival;

/// `{"label":…,"line":…,"level":…,"time":…,"ts":…,"peer":…,"source":…}` and a newline; a
/// line that is not UTF-8 also carries its exact bytes as `line_base64`; `level` and `ts` (the
/// line's own time) are `null` when the line shows none; `time` is when it was read.
pub(super) fn json_line(
    out: &mut Vec<u8>,
    source: &Source,
    line: &[u8],
    time: &str,
    lines: &Arrival,
) {
    out.extend_from_slice(b"{\"label\":");
    json_str(out, &source.label);
    out.extend_from_slice(b",\"line\":");
    let text = String::from_utf8_lossy(line);
    json_str(out, &text);
    if let std::borrow::Cow::Owned(_) = text {
        out.extend_from_slice(b",\"line_base64\":\"");
        base64_into(out, line);
        out.push(b'"');
    }
    // An event's level is its first line's.
    let first = line.split(|&b| b == b'\n').next().unwrap_or(line);
    match crate::parse::detect(first) {
        Some(found) => {
            out.extend_from_slice(b",\"level\":\"");
            out.extend_from_slice(found.level.name().as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b",\"level\":null"),
    }
    out.extend_from_slice(b",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.push(b'"');
    // The line's own time, as it says.
    match crate::parse::timestamp(first, crate::parse::Clock::of_run()) {
        Some(ts) => {
            out.extend_from_slice(b",\"ts\":\"");
            out.extend_from_slice(rfc3339(ts.into()).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b",\"ts\":null"),
    }
    if let Some(peer) = &lines.peer {
        out.extend_from_slice(b",\"peer\":");
        json_str(out, peer);
    }
    out.extend_from_slice(b",\"source\":");
    json_str(out, &source.spec);
    if let Some(stream) = lines.stream {
        out.extend_from_slice(b",\"stream\":\"");
        out.extend_from_slice(stream.name().as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"}\n");
}

/// A JSON string. Control characters (C0, DEL, C1) are escaped, so JSON output is also safe on a
/// terminal.
pub(super) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Printable ASCII other than `"` and `\` is copied in runs.
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        let c = s[i..].chars().next().expect("inside the string");
        let escape: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            _ => None,
        };
        let numeric = matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}');
        if escape.is_some() || numeric {
            out.extend_from_slice(&bytes[run..i]);
            match escape {
                Some(e) => out.extend_from_slice(e),
                None => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            }
            run = i + c.len_utf8();
        }
        i += c.len_utf8();
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

pub(super) fn base64_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// `time` as RFC 3339 in UTC with milliseconds: `2026-11-26T13:45:12.345Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}
