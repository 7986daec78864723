//! The command line: flags and help text only. [`crate::config`] turns them into a `Config`.

use clap::{Parser, ValueEnum};

use crate::config::{parse_initial, parse_size};
use crate::source::Initial;

const EXAMPLES: &str = "\
Examples:
  mux-tail /var/log/nginx/access.log api=app.log    two files, one labelled 'api'
  mux-tail app.log tcp:9000                         a file and a TCP port (127.0.0.1)
  printf 'hello\\n' | nc -q0 127.0.0.1 9000          send a line to that port
  make 2>&1 | mux-tail build=- app.log              standard input beside a file
  mux-tail -n 0 'app.log' | grep -i error           only new lines, piped";

/// Follow many log sources at once and print every line tagged with where it came from.
///
/// Each SOURCE is followed until it ends (files: until interrupted), and every line is printed
/// the moment it arrives as `[LABEL] LINE`. Lines are never lost, split between sources or
/// repeated; a slow reader slows the sources down instead.
///
/// SOURCE is one of:
///   PATH               a file, followed by name like `tail -F` (survives rotation,
///                      truncation, deletion; waits while it does not exist)
///   -                  standard input, until its end
///   tcp:PORT           listen on 127.0.0.1:PORT; any number of connections
///   tcp:HOST:PORT      listen on HOST (tcp:0.0.0.0:PORT for all interfaces)
///   tcp:[V6]:PORT      listen on an IPv6 address
///   LABEL=SOURCE       any of the above, labelled LABEL (write ./a=b for a path with '=')
///
/// With no SOURCE and standard input not a terminal, the source is `-`.
///
/// Exit status: 0 when every source ended, 1 when a source could not start or failed,
/// 2 on a usage error, 128+N on signal N (130 for Ctrl-C).
#[derive(Debug, Parser)]
#[command(name = "mux-tail", version, after_help = EXAMPLES)]
pub struct Args {
    /// Sources to follow: PATH, -, tcp:[HOST:]PORT, LABEL=SOURCE.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Lines of each existing file to show first: N for the last N lines, +N to start at line N,
    /// 0 for only new lines. Files that appear later are always read from their first line.
    #[arg(
        short = 'n',
        long,
        value_name = "N|+N",
        default_value = "10",
        value_parser = parse_initial,
        help = "Initial lines per file: last N, +N from line N, 0 only new"
    )]
    pub lines: Initial,

    /// Read each file to its current end and stop instead of following it.
    #[arg(long, help = "Read files to their current end, then stop")]
    pub no_follow: bool,

    /// When to colour labels. `auto` colours when stdout is a terminal and NO_COLOR is not set.
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        default_value_t = ColorChoice::Auto,
        env = "MUX_TAIL_COLOR",
        help = "Colour labels: auto, always, never"
    )]
    pub color: ColorChoice,

    /// Print lines without the `[LABEL] ` prefix.
    #[arg(long, help = "Print bare lines, without labels")]
    pub no_label: bool,

    /// Lines longer than this are cut into pieces of this size (never dropped, never held whole).
    /// Accepts K, M and G suffixes (powers of 1024).
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "1M",
        value_parser = parse_size,
        env = "MUX_TAIL_MAX_LINE_BYTES",
        help = "Cut longer lines into pieces of this size"
    )]
    pub max_line_bytes: usize,

    /// Open connections allowed per listener; further connections are closed at once, with a
    /// note, while the open ones go on.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..),
        help = "Open connections allowed per listener"
    )]
    pub max_connections: u32,

    /// Read keys from the terminal (/dev/tty) while running — also when stdout is piped: 1-9
    /// mute, d detach, a attach, p pause, / filter, l list, ? help, q quit. `auto` reads keys
    /// when there is a terminal (and standard input is not both a source and that terminal).
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        default_value_t = KeysChoice::Auto,
        env = "MUX_TAIL_KEYS",
        help = "Read keys from the terminal: auto, always, never"
    )]
    pub keys: KeysChoice,
}

/// `--keys` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeysChoice {
    /// Read keys when a terminal is reachable through /dev/tty.
    Auto,
    /// Read keys; fail when there is no terminal.
    Always,
    /// Never read keys or change the terminal's mode.
    Never,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn parses_flags() {
        let args = Args::try_parse_from(["mux-tail", "-n", "+5", "--no-label", "a.log"]).unwrap();
        assert_eq!(args.lines, Initial::From(5));
        assert!(args.no_label);
        assert_eq!(args.sources, vec!["a.log"]);
        let args = Args::try_parse_from(["mux-tail", "--max-line-bytes", "4K"]).unwrap();
        assert_eq!(args.max_line_bytes, 4096);
        assert!(Args::try_parse_from(["mux-tail", "-n", "x"]).is_err());
        assert!(Args::try_parse_from(["mux-tail", "--max-connections", "0"]).is_err());
    }
}
