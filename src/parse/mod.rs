//! What a line says of itself: its level ([`level`]) and its fields ([`field`]: a JSON object's
//! values by path, a logfmt line's by key).
//!
//! Pure and bounded: every look reads at most a fixed prefix of the line, so a megabyte line
//! costs what a short one does. Runs only when something asks (`--level`, `{level}`, `{.PATH}`,
//! `--json`, colours). Knows nothing of sources, labels or terminals.

pub mod field;
pub mod json;
pub mod level;
pub mod time;

pub use field::{field, FieldPath};
pub use level::{detect, Found, Level};
pub use time::{timestamp, Clock};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Lines are untrusted: whatever their bytes, reading them gives an answer or none,
        /// never a panic, and a level's marker is inside the line.
        #[test]
        fn any_bytes_are_read_without_a_panic(
            line in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                "[{}\\[\\]<>0-9a-zA-Z:=\\\\\" ./,+-]{0,80}".prop_map(String::into_bytes),
                "(<[0-9]{1,3}>1? ?)?([A-Z][a-z][a-z] [ 0-9][0-9] )?[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[T ][0-9:.,]{0,14}(Z|[+-][0-9:]{0,5})?.{0,10}".prop_map(String::into_bytes),
                "[\\[<]?[A-Za-z0-9]{0,4}[ >]?(Jan|May|Dec)?[ 0-9]{0,3}[0-9:.]{0,12} ?[0-9]{0,4}\\]?.{0,5}".prop_map(String::into_bytes),
                "\\{(\"[a-z@.]{0,6}\" ?: ?(\"[^\"]{0,12}\"|-?[0-9.e]{0,20}|\\{|\\[|true|nul)[, ]{0,2}){0,4}\\}?".prop_map(String::into_bytes),
            ],
        ) {
            if let Some(found) = detect(&line) {
                prop_assert!(found.at.start < found.at.end && found.at.end <= line.len());
            }
            let _ = timestamp(&line, Clock::of_run());
            for path in ["level", "a.b", "time", "msg"] {
                let _ = field(&line, &FieldPath::parse(path).unwrap());
            }
        }
    }
}
