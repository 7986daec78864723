//! Messages for the user on stderr: one line each, prefixed `mux-tail:`.
//!
//! Sources report problems as notes rather than errors that stop the program: one broken source
//! never takes the others down. Writing to stderr never fails the program either.

use std::io::Write;

/// A message that stands alone.
pub fn error(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "mux-tail: {msg}");
}
