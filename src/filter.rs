//! Line filters: `-e` keeps lines matching any of its regexes (as `grep -e`), `-v` drops lines
//! matching any of its regexes, `-i` makes both (and the live `/` filter) ignore case. Filters
//! look at the line only, never at its label.

use regex::bytes::{Regex, RegexBuilder};

use crate::line::Batch;

/// The `-e` and `-v` filters.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    keep: Option<Regex>,
    drop: Option<Regex>,
}

impl Filters {
    /// Builds the filters; an invalid regex is an error quoting it.
    pub fn new(keep: &[String], drop: &[String], ignore_case: bool) -> Result<Filters, String> {
        Ok(Filters { keep: any_of(keep, ignore_case)?, drop: any_of(drop, ignore_case)? })
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.keep.is_none() && self.drop.is_none()
    }

    /// Removes the lines the filters do not let through.
    pub fn apply(&self, batch: &mut Batch) {
        if self.is_empty() {
            return;
        }
        batch.retain(|line| {
            self.keep.as_ref().is_none_or(|re| re.is_match(line))
                && !self.drop.as_ref().is_some_and(|re| re.is_match(line))
        });
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

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keep_any_drop_any() {
        let f = Filters::new(&strings(&["err", "warn"]), &strings(&["noise"]), false).unwrap();
        let got = kept(&f, &["error x", "warning", "info", "error noise", "ERROR"]);
        assert_eq!(got, ["error x", "warning"]);
        let f = Filters::new(&strings(&["err"]), &[], true).unwrap();
        assert_eq!(kept(&f, &["ERROR", "info"]), ["ERROR"]);
    }

    #[test]
    fn bytes_that_are_not_utf8_still_match() {
        let f = Filters::new(&strings(&["caf"]), &[], false).unwrap();
        let mut batch = Batch::from(vec![b"caf\xe9".to_vec(), b"tea".to_vec()]);
        f.apply(&mut batch);
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn invalid_regex_is_quoted_on_one_line() {
        let e = Filters::new(&strings(&["ok", "a["]), &[], false).unwrap_err();
        assert_eq!(e, "invalid regex 'a[': unclosed character class");
    }
}
