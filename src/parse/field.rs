//! `{.PATH}`: a field of a line — the value at PATH of a line that is a JSON object, or a logfmt
//! line's value for the key PATH.

use std::borrow::Cow;

use super::json::{self, Kind, Value};

/// A path of keys, as written after the dot in `{.http.status}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    /// The path as written (`http.status`): a logfmt key, or a JSON key with dots in it.
    whole: String,
    keys: Vec<String>,
}

impl FieldPath {
    /// The path `text` (`msg`, `http.status`); `None` when a key is empty.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let keys: Vec<String> = text.split('.').map(str::to_string).collect();
        keys.iter().all(|k| !k.is_empty()).then(|| FieldPath { whole: text.to_string(), keys })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.whole
    }
}

/// The value of `path` in `line`: strings without quotes or escapes, numbers and literals as
/// written, objects and arrays as compact JSON; `None` when absent.
pub fn field<'a>(line: &'a [u8], path: &FieldPath) -> Option<Cow<'a, [u8]>> {
    let start = line.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(line.len());
    if line.get(start) == Some(&b'{') {
        let keys: Vec<&str> = path.keys.iter().map(String::as_str).collect();
        return lookup(&line[start..], &keys).map(shown);
    }
    logfmt(line, path.whole.as_bytes()).map(|v| unquote(v))
}

/// The member at `keys` of the object `text` starts with; a key holding dots (`"log.level"`)
/// is tried whole where the path does not go on through objects.
fn lookup<'a>(text: &'a [u8], keys: &[&str]) -> Option<Value<'a>> {
    let (first, rest) = keys.split_first()?;
    let found = json::members(text, |k, v| (k == first.as_bytes()).then_some(v));
    if let Some(v) = found {
        if rest.is_empty() {
            return Some(v);
        }
        if v.kind == Kind::Object {
            if let Some(inner) = lookup(v.raw, rest) {
                return Some(inner);
            }
        }
    }
    if rest.is_empty() {
        return None;
    }
    let joined = keys.join(".");
    json::members(text, |k, v| (k == joined.as_bytes()).then_some(v))
}

fn shown(v: Value<'_>) -> Cow<'_, [u8]> {
    match v.kind {
        Kind::String => json::unescape(v.raw),
        Kind::Number | Kind::Literal => Cow::Borrowed(v.raw),
        Kind::Object | Kind::Array => Cow::Owned(json::compact(v.raw)),
    }
}

/// The value of `key` in a logfmt line (`key=value`, `key="a value"`), as written (quotes
/// kept); the pairs are read in order, so text inside a quoted value is never taken for a key.
pub fn logfmt<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && matches!(line[i], b' ' | b'\t') {
            i += 1;
        }
        let k = i;
        while i < line.len() && !matches!(line[i], b' ' | b'\t' | b'=' | b'"') {
            i += 1;
        }
        let name = &line[k..i];
        if line.get(i) == Some(&b'"') {
            // Not a pair: skip the quoted text.
            i = quoted_end(line, i);
            continue;
        }
        if line.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        let v = i;
        if line.get(i) == Some(&b'"') {
            i = quoted_end(line, i);
        } else {
            while i < line.len() && !matches!(line[i], b' ' | b'\t') {
                i += 1;
            }
        }
        if name == key {
            return Some(&line[v..i]);
        }
    }
    None
}

/// Just past the quoted text starting at `i` (or the end of the line when it is not closed).
fn quoted_end(line: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < line.len() {
        match line[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    line.len()
}

/// A logfmt value without its quotes and escapes.
pub fn unquote(v: &[u8]) -> Cow<'_, [u8]> {
    match v {
        [b'"', inner @ .., b'"'] => json::unescape(inner),
        [b'"', inner @ ..] => Cow::Borrowed(inner),
        _ => Cow::Borrowed(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(line: &str, path: &str) -> Option<String> {
        field(line.as_bytes(), &FieldPath::parse(path).unwrap())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    #[test]
    fn json_fields_by_path() {
        let line = r#"{"level":"info","msg":"slow \"query\"","http":{"status":503,"ok":false,"h":{ "a" : [1, 2] }},"log.level":"warn"}"#;
        assert_eq!(get(line, "msg").as_deref(), Some(r#"slow "query""#));
        assert_eq!(get(line, "http.status").as_deref(), Some("503"));
        assert_eq!(get(line, "http.ok").as_deref(), Some("false"));
        assert_eq!(get(line, "http.h").as_deref(), Some(r#"{"a":[1,2]}"#));
        assert_eq!(get(line, "log.level").as_deref(), Some("warn"), "a key with a dot");
        assert_eq!(get(line, "http.nope"), None);
        assert_eq!(get(line, "nope"), None);
        assert_eq!(get(r#"{"msg": "cut"#, "msg"), None);
    }

    #[test]
    fn logfmt_fields_by_key() {
        let line = r#"time=2026-12-02T10:00:00Z level=warn msg="slow query" note="a=b c" dur=1.5s"#;
        assert_eq!(get(line, "msg").as_deref(), Some("slow query"));
        assert_eq!(get(line, "level").as_deref(), Some("warn"));
        assert_eq!(get(line, "dur").as_deref(), Some("1.5s"));
        assert_eq!(get(line, "c"), None, "text inside quotes is not a key");
        assert_eq!(get(line, "b"), None);
        assert_eq!(get("plain text = odd", "text"), None);
        assert_eq!(get(r#"a="open"#, "a").as_deref(), Some("open"));
        assert!(FieldPath::parse("a..b").is_none());
    }
}
