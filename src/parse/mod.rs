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
