//! Just enough JSON to read a log record: the members of an object, each value's extent and
//! kind, strings unescaped, objects compacted. Never allocates to look; malformed or cut input
//! gives `None`, never a panic.

use std::borrow::Cow;

/// A value in a JSON text: its kind and its bytes as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    pub kind: Kind,
    /// As written; for a string, between its quotes (escapes not yet undone).
    pub raw: &'a [u8],
    /// Where `raw` starts in the text that was read.
    pub at: usize,
}

/// What a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    /// `true`, `false` or `null`.
    Literal,
    Object,
    Array,
}

/// The deepest nesting looked into (deeper input is treated as malformed).
const DEPTH: usize = 64;

fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string whose opening quote is at `i` (just past its closing quote).
fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', s.get(j..)?)?;
        if s[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
    }
}

/// The value starting at `i` (after white space), and where it ends.
fn value(s: &[u8], i: usize, depth: usize) -> Option<(Value<'_>, usize)> {
    let i = ws(s, i);
    let (kind, end) = match *s.get(i)? {
        b'"' => {
            let end = string_end(s, i)?;
            return Some((Value { kind: Kind::String, raw: &s[i + 1..end - 1], at: i + 1 }, end));
        }
        b'{' | b'[' => {
            if depth >= DEPTH {
                return None;
            }
            let open = s[i];
            let close = if open == b'{' { b'}' } else { b']' };
            let mut j = ws(s, i + 1);
            if s.get(j) == Some(&close) {
                j += 1;
            } else {
                loop {
                    if open == b'{' {
                        if s.get(j) != Some(&b'"') {
                            return None;
                        }
                        j = ws(s, string_end(s, j)?);
                        if s.get(j) != Some(&b':') {
                            return None;
                        }
                        j += 1;
                    }
                    j = ws(s, value(s, j, depth + 1)?.1);
                    match s.get(j)? {
                        b',' => j = ws(s, j + 1),
                        &c if c == close => break j += 1,
                        _ => return None,
                    }
                }
            }
            (if open == b'{' { Kind::Object } else { Kind::Array }, j)
        }
        b't' | b'f' | b'n' => {
            let end = i + s[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
            matches!(&s[i..end], b"true" | b"false" | b"null").then_some(())?;
            (Kind::Literal, end)
        }
        b'-' | b'0'..=b'9' => {
            let n = s[i..]
                .iter()
                .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            (Kind::Number, i + n)
        }
        _ => return None,
    };
    Some((Value { kind, raw: &s[i..end], at: i }, end))
}

/// The whole of `text` as one JSON value (white space around it allowed).
pub fn parse(text: &[u8]) -> Option<Value<'_>> {
    let (v, end) = value(text, 0, 0)?;
    (ws(text, end) == text.len()).then_some(v)
}

/// Calls `each(key, value)` for the members of the object that `text` starts with (after white
/// space), in order, until it returns `Some`: that is the answer. Reads only as far as needed,
/// so `text` may be a cut prefix. Keys are given as written (escapes not undone); a value's
/// `at` is where it starts in `text`.
pub fn members<'a, T>(
    text: &'a [u8],
    mut each: impl FnMut(&'a [u8], Value<'a>) -> Option<T>,
) -> Option<T> {
    let s = text;
    let j = ws(s, 0);
    if s.get(j) != Some(&b'{') {
        return None;
    }
    let mut j = ws(s, j + 1);
    loop {
        if s.get(j) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(s, j)?;
        let key = &s[j + 1..key_end - 1];
        j = ws(s, key_end);
        if s.get(j) != Some(&b':') {
            return None;
        }
        let (v, end) = value(s, j + 1, 1)?;
        if let Some(found) = each(key, v) {
            return Some(found);
        }
        j = ws(s, end);
        match s.get(j)? {
            b',' => j = ws(s, j + 1),
            _ => return None,
        }
    }
}

/// The text of a string's raw bytes with its escapes undone (`\n`, `\"`, `\uXXXX`, …).
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' || i + 1 >= raw.len() {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'u' => {
                let hex = |at: usize| {
                    raw.get(at..at + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                };
                let Some(mut code) = hex(i) else {
                    out.extend_from_slice(b"\\u");
                    continue;
                };
                i += 4;
                // A surrogate pair.
                if (0xd800..0xdc00).contains(&code) && raw.get(i..i + 2) == Some(b"\\u") {
                    if let Some(low) = hex(i + 2).filter(|l| (0xdc00..0xe000).contains(l)) {
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                        i += 6;
                    }
                }
                let c = char::from_u32(code).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// A value as compact JSON: white space outside strings removed.
pub fn compact(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'"' => {
                let end = string_end(raw, i).unwrap_or(raw.len());
                out.extend_from_slice(&raw[i..end]);
                i = end;
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(text: &'a [u8], key: &str) -> Option<Value<'a>> {
        members(text, |k, v| (k == key.as_bytes()).then_some(v))
    }

    #[test]
    fn members_and_their_kinds() {
        let t = br#" {"a": 1, "b" : "x\"y", "c": {"d": [1, {"e": null}]}, "f": true} "#;
        assert_eq!(get(t, "a").unwrap().raw, b"1");
        let b = get(t, "b").unwrap();
        assert_eq!((b.kind, &*unescape(b.raw)), (Kind::String, &b"x\"y"[..]));
        assert_eq!(&t[b.at..b.at + b.raw.len()], b.raw, "at is where it is in the text");
        let c = get(t, "c").unwrap();
        assert_eq!(compact(c.raw), br#"{"d":[1,{"e":null}]}"#);
        assert_eq!(get(t, "f").unwrap().kind, Kind::Literal);
        assert!(get(t, "g").is_none());
    }

    #[test]
    fn malformed_or_cut_input_is_none() {
        for t in [&b"{"[..], b"{\"a\":", b"{\"a\" 1}", b"{\"a\":tru}", b"[1,", b"{} x", b"", b"{,}"]
        {
            assert!(get(t, "a").is_none(), "{:?}", String::from_utf8_lossy(t));
        }
        assert!(parse(b"{\"a\":1").is_none());
        // A cut prefix still gives the members before the cut.
        assert_eq!(get(b"{\"a\":1, \"b\": \"x", "a").unwrap().raw, b"1");
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(deep.as_bytes()).is_none());
    }

    #[test]
    fn escapes_are_undone() {
        assert_eq!(&*unescape(br"a\nb\t\u00e9\ud83d\ude00\\"), "a\nb\té😀\\".as_bytes());
        assert_eq!(&*unescape(br"\u12"), b"\\u12");
    }
}
