//! Line filters: `-e` keeps lines matching any of its regexes (as `grep -e`), `-v` drops lines
//! matching any of its regexes, `-i` makes both (and the live `/` filter) ignore case;
//! `--fixed-strings`, `-w` and `-x` shape how `-e` and `-v` match, as in grep. Filters
//! look at the line only, never at its label. `--level` keeps lines (events) at a level or
//! above ([`at_least`]); [`context`] adds the lines around what is kept (`-A`, `-B`, `-C`).

pub mod context;
pub mod window;

use regex::bytes::{Regex, RegexBuilder};

use crate::line::Batch;
use crate::parse::{self, Level};

/// How `-e` and `-v` patterns match (grep's `-F`, `-w`, `-x`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Matching {
    /// Patterns are plain text, not regexes (`--fixed-strings`).
    pub fixed: bool,
    /// A match must be a whole word (`-w`).
    pub word: bool,
    /// A match must be the whole line (`-x`).
    pub line: bool,
}

impl Matching {
    /// `pattern` as the regex that matches it this way.
    fn regex(self, pattern: &str) -> String {
        let p = if self.fixed { regex::escape(pattern) } else { pattern.to_string() };
        if self.line {
            format!("^(?:{p})$")
        } else if self.word {
            format!(r"\b(?:{p})\b")
        } else {
            p
        }
    }
}

/// The `-e` and `-v` filters.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    keep: Option<Regex>,
    drop: Option<Regex>,
}

impl Filters {
    /// Builds the filters; an invalid regex is an error quoting it.
    pub fn new(
        keep: &[String],
        drop: &[String],
        ignore_case: bool,
        matching: Matching,
    ) -> Result<Filters, String> {
        let shaped = |patterns: &[String]| -> Result<Vec<String>, String> {
            for p in patterns {
                if !matching.fixed {
                    compile(p, ignore_case)?;
                }
            }
            Ok(patterns.iter().map(|p| matching.regex(p)).collect())
        };
        let (keep, drop) = (shaped(keep)?, shaped(drop)?);
        Ok(Filters { keep: any_of(&keep, ignore_case)?, drop: any_of(&drop, ignore_case)? })
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.keep.is_none() && self.drop.is_none()
    }

    /// Whether the filters let an event (its lines) through: any line matching -e, none -v.
    pub fn keeps(&self, lines: &[&[u8]]) -> bool {
        self.keep.as_ref().is_none_or(|re| lines.iter().any(|l| re.is_match(l)))
            && !self.drop.as_ref().is_some_and(|re| lines.iter().any(|l| re.is_match(l)))
    }

    /// Removes the lines the filters do not let through.
    pub fn apply(&self, batch: &mut Batch) {
        if self.is_empty() {
            return;
        }
        if batch.is_grouped() {
            batch.retain_events(|lines| self.keeps(lines));
            return;
        }
        batch.retain(|line| {
            self.keep.as_ref().is_none_or(|re| re.is_match(line))
                && !self.drop.as_ref().is_some_and(|re| re.is_match(line))
        });
    }
}

/// `--level`: whether a line (an event's first) is at `min` or above — or shows no level, so
/// that a crash message without one is never hidden.
pub fn at_least(line: &[u8], min: Level) -> bool {
    parse::detect(line).is_none_or(|found| found.level >= min)
}

/// Keeps the events of `batch` whose first line is [`at_least`] `min`.
pub fn retain_level(batch: &mut Batch, min: Level) {
    if batch.is_grouped() {
        batch.retain_events(|lines| at_least(lines[0], min));
    } else {
        batch.retain(|line| at_least(line, min));
    }
}

/// One regex matching wherever any of `patterns` matches; `None` for no patterns.
pub fn any_of(patterns: &[String], ignore_case: bool) -> Result<Option<Regex>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for p in patterns {
        compile(p, ignore_case)?;
    }
    let joined: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
    compile(&joined.join("|"), ignore_case).map(Some)
}

/// Compiles one regex; the error is one line quoting it.
pub fn compile(pattern: &str, ignore_case: bool) -> Result<Regex, String> {
    RegexBuilder::new(pattern).case_insensitive(ignore_case).build().map_err(|e| {
        let msg = e.to_string();
        let reason = msg.lines().last().unwrap_or_default().trim();
        let reason = reason.strip_prefix("error: ").unwrap_or(reason);
        format!("invalid regex '{pattern}': {reason}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(f: &Filters, lines: &[&str]) -> Vec<String> {
        let mut batch =
            Batch::from(lines.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
        f.apply(&mut batch);
        batch.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    }

    const PLAIN: Matching = Matching { fixed: false, word: false, line: false };

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keep_any_drop_any() {
        let f =
            Filters::new(&strings(&["err", "warn"]), &strings(&["noise"]), false, PLAIN).unwrap();
        let got = kept(&f, &["error x", "warning", "info", "error noise", "ERROR"]);
        assert_eq!(got, ["error x", "warning"]);
        let f = Filters::new(&strings(&["err"]), &[], true, PLAIN).unwrap();
        assert_eq!(kept(&f, &["ERROR", "info"]), ["ERROR"]);
    }

    #[test]
    fn bytes_that_are_not_utf8_still_match() {
        let f = Filters::new(&strings(&["caf"]), &[], false, PLAIN).unwrap();
        let mut batch = Batch::from(vec![b"caf\xe9".to_vec(), b"tea".to_vec()]);
        f.apply(&mut batch);
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn events_are_kept_and_dropped_whole() {
        let f = Filters::new(&strings(&["b2"]), &strings(&["c2"]), false, PLAIN).unwrap();
        let lines = ["a", "b1", "b2", "c1", "c2", "b2c"].map(|l| l.as_bytes().to_vec());
        let mut batch = Batch::grouped(lines.to_vec(), &[1, 2, 3]);
        f.apply(&mut batch);
        let kept: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(kept, [b"b1".as_slice(), b"b2"], "c's event has a line -v matches");
    }

    #[test]
    fn level_keeps_its_level_and_above_and_lines_without_one() {
        let lines = ["INFO up", "WARN slow", "ERROR boom", "Segmentation fault", "DEBUG x"];
        let mut batch = Batch::from(lines.map(|l| l.as_bytes().to_vec()).to_vec());
        retain_level(&mut batch, Level::Warn);
        let kept: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(kept, [&b"WARN slow"[..], b"ERROR boom", b"Segmentation fault"]);
        // An event by its first line.
        let lines =
            ["INFO a", "  ERROR inside", "ERROR b", "  at x"].map(|l| l.as_bytes().to_vec());
        let mut batch = Batch::grouped(lines.to_vec(), &[2, 2]);
        retain_level(&mut batch, Level::Error);
        let kept: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(kept, [&b"ERROR b"[..], b"  at x"]);
    }

    #[test]
    fn invalid_regex_is_quoted_on_one_line() {
        let e = Filters::new(&strings(&["ok", "a["]), &[], false, PLAIN).unwrap_err();
        assert_eq!(e, "invalid regex 'a[': unclosed character class");
    }

    #[test]
    fn fixed_strings_words_and_whole_lines() {
        let fixed = Matching { fixed: true, ..PLAIN };
        let f = Filters::new(&strings(&["a[1].b"]), &[], false, fixed).unwrap();
        assert_eq!(kept(&f, &["x a[1].b y", "a1xb"]), ["x a[1].b y"]);
        let word = Matching { word: true, ..PLAIN };
        let f = Filters::new(&strings(&["err"]), &strings(&["ok"]), false, word).unwrap();
        assert_eq!(kept(&f, &["err: x", "an error", "err ok", "stderr"]), ["err: x"]);
        let line = Matching { line: true, fixed: true, word: true };
        let f = Filters::new(&strings(&["a.b"]), &[], false, line).unwrap();
        assert_eq!(kept(&f, &["a.b", "a.b c", "axb"]), ["a.b"]);
    }
}
